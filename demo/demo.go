package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/kitex/client/callopt"
	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/cp/scanner"
	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	"github.com/octomesh/octomesh/internal/proc"
)

// Options shape a demo run. The zero value runs until ctx is done.
type Options struct {
	// Bin is the octomesh binary that runs the sidecars.
	Bin string
	// Out receives the live report.
	Out io.Writer
	// Duration stops the demo after this long of traffic, counted from
	// when the mesh is up (start-up takes seconds, more on a busy
	// machine); 0 runs until ctx is done.
	Duration time.Duration
	// Callers is the number of concurrent callers (default 8).
	Callers int
	// PayloadSize is the echo payload in bytes (default 128).
	PayloadSize int
	// Interval between report lines (default 1s).
	Interval time.Duration
}

// Summary is what a finished run did.
type Summary struct {
	// Requests the client sent, and how many of them failed.
	Requests, Errors int64
	// Elapsed is how long the traffic ran.
	Elapsed time.Duration
	// Handled is how many of the client's requests each server instance
	// answered, by name (its readiness check is not counted).
	Handled map[string]int64
}

// Run starts the mesh, sends traffic and reports until ctx is done or
// Duration has passed, then stops everything it started.
func Run(ctx context.Context, o Options) (Summary, error) {
	o.Out = &lockedWriter{w: o.Out} // the report and the endpoint watcher both print
	if o.Callers <= 0 {
		o.Callers = 8
	}
	if o.PayloadSize <= 0 {
		o.PayloadSize = 128
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	fmt.Fprintln(o.Out, "starting the mesh: a dispatcher with NATS and etcd embedded, a pilot, a scanner, two echo servers and their sidecars, the client's sidecar (a few seconds)")
	// Kitex's info lines would drown the report, and its echo servers log
	// an error for each app check (the sidecar's call of a method no app
	// has, __octomesh_health, docs/control-plane.md): the demo reports its
	// own errors.
	klog.SetLevel(klog.LevelFatal)
	dir, err := os.MkdirTemp("", "octomesh-demo") // short: Unix socket paths are limited
	if err != nil {
		return Summary{}, err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The control plane. The dispatcher first: it holds the registry's
	// embedded etcd and NATS, and serves the operator API (rules,
	// releases); the pilot and the scanner use both.
	d, err := dispatcher.Start(dispatcher.Options{DataDir: filepath.Join(dir, "dispatcher"), NATSAddress: "127.0.0.1:0",
		APIAddress: "127.0.0.1:0", Log: quiet})
	if err != nil {
		return Summary{}, err
	}
	defer d.Close()
	da := d.Addrs()
	tokenFile := filepath.Join(dir, "dispatcher", "operator.token")
	fmt.Fprintf(o.Out, "dispatcher: notices on NATS %s, operator API %s (octomesh ctl --server %s --token-file %s get all), embedded etcd %s\n",
		da.NATS, strings.TrimPrefix(da.API, "tcp://"), strings.TrimPrefix(da.API, "tcp://"), tokenFile, da.Etcd)
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{da.Etcd},
		NATSURL: da.NATS, Log: quiet})
	if err != nil {
		return Summary{}, err
	}
	defer p.Close()
	addrs := p.Addrs()
	fmt.Fprintf(o.Out, "pilot: xDS %s, registry API and /debug/sessions %s; rule changes come as the dispatcher's notices\n", addrs.XDS, addrs.HTTP)
	// One scanner: it checks every instance's sidecar (and, through it,
	// its app) each second, and publishes a notice per mark.
	sc, err := scanner.Start(scanner.Options{ID: "scanner-1", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{da.Etcd},
		NATSURL: da.NATS, Log: quiet})
	if err != nil {
		return Summary{}, err
	}
	defer sc.Close()
	fmt.Fprintf(o.Out, "scanner: scanner-1 checks every instance's sidecar and app each %s (/stats, /debug/instances on %s)\n", time.Second, sc.Addr())
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return Summary{}, err
	}
	ruleAPI, err := rules.NewClient(strings.TrimPrefix(da.API, "tcp://"), strings.TrimSpace(string(token)))
	if err != nil {
		return Summary{}, err
	}
	defer ruleAPI.Close()

	// Two server instances, each a Kitex echo app behind its own sidecar,
	// registered in the registry under its sidecar's inbound address.
	var servers []*serverInstance
	defer func() {
		for _, si := range servers {
			si.stop()
		}
	}()
	// echo-2's sidecar runs under a node agent (package agent), which
	// starts it again when the demo kills it.
	for _, name := range []string{"echo-1", "echo-2"} {
		si, err := startServerInstance(o.Bin, dir, name, name == "echo-2")
		if err != nil {
			return Summary{}, err
		}
		servers = append(servers, si)
	}
	api, err := registry.NewClient(addrs.HTTP)
	if err != nil {
		return Summary{}, err
	}
	defer api.Close()
	// echo-1 registers as an app would: the sdk's Kitex option, lease kept
	// alive while it serves, revoked when it stops.
	if err := servers[0].serveRegistered(addrs.HTTP); err != nil {
		return Summary{}, err
	}
	// echo-2 registers through the same API by hand, so that the demo can
	// let its lease lapse.
	lease, _, err := api.Register(ctx, servers[1].instance(), leaseTTL)
	if err != nil {
		return Summary{}, err
	}
	lapse, lastRenewal := keepAlive(api, lease)
	defer lapse()
	if err := servers[1].serve(); err != nil {
		return Summary{}, err
	}
	if err := waitInstances(ctx, api, 2); err != nil {
		return Summary{}, err
	}
	if err := governance(ctx, ruleAPI, o.Out); err != nil {
		return Summary{}, err
	}

	// The client side: sidecar A in xDS mode, no static routes.
	clientSock := filepath.Join(dir, "client-sidecar.sock")
	a, err := startSidecar(o.Bin, dir, "sidecar-a", fmt.Sprintf(`# sidecar A, beside the client app: routes come from the pilot
node: {id: echo-client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s"}
xds:
  pilot: "%s"
  subscriptions_file: %s
  subscribe_wait: 3s
`, clientSock, addrs.XDS, filepath.Join(dir, "sidecar-a.subscriptions.json")))
	if err != nil {
		return Summary{}, err
	}
	defer a.Stop()

	fmt.Fprintf(o.Out, "OctoMesh demo: echo client -> %s -> sidecar A (pid %d, admin http://%s, xDS from the pilot) -> {%s, %s} -> echo-1, echo-2\n",
		a.Ready.Listeners["outbound"], a.PID(), a.Ready.Admin, servers[0].describe(), servers[1].describe())
	fmt.Fprintf(o.Out, "configs and sidecar logs in %s; %d callers, %d-byte payloads; Ctrl-C stops\n", dir, o.Callers, o.PayloadSize)
	stopConsole := startConsole(o.Out, addrs.HTTP, strings.TrimPrefix(da.API, "tcp://")) // the web console (console.go)
	defer stopConsole()

	client, err := echo.NewClient(clientSock)
	if err != nil {
		return Summary{}, err
	}
	// Watch sidecar A's endpoints of "echo" appear and leave, and let
	// echo-2's lease lapse a while in.
	names := map[string]string{servers[0].address: "echo-1", servers[1].address: "echo-2"}
	watchDone := make(chan struct{}, 2)
	// The mesh is up: o.Duration counts from here, for the traffic and
	// the phases alike.
	start := time.Now()
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(o.Duration))
		defer cancel()
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	say := func(format string, args ...any) {
		fmt.Fprintf(o.Out, "[%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}
	go func() {
		defer func() { watchDone <- struct{}{} }()
		watchEndpoints(watchCtx, o.Out, a.Ready.Admin, names, servers[1], lapse, lastRenewal, lapseAfter(o.Duration))
	}()
	go func() {
		defer func() { watchDone <- struct{}{} }()
		at := lapseAfter(o.Duration) / 2
		delayPhase(watchCtx, ruleAPI, say, at, at)
	}()
	sum := drive(ctx, start, client, o)
	stopWatch()
	<-watchDone
	<-watchDone
	sum.Handled = map[string]int64{}
	for _, si := range servers {
		sum.Handled[si.name] = si.handled()
	}
	fmt.Fprintf(o.Out, "stopped: %d requests in %.1fs, %d errors; echo-1 handled %d, echo-2 handled %d\n",
		sum.Requests, sum.Elapsed.Seconds(), sum.Errors, sum.Handled["echo-1"], sum.Handled["echo-2"])
	fmt.Fprintf(o.Out, "scanner-1: %d checks, %d failed, %d instances marked down, %d marked up\n",
		sc.Stats.Checks.Load(), sc.Stats.Failures.Load(), sc.Stats.Marked.Load(), sc.Stats.Cleared.Load())
	ds := d.StatsMap()
	fmt.Fprintf(o.Out, "dispatcher: %d rule writes published %d notices; %d forwarded to the pilot, who fetched %d values\n",
		ds["rules.applies"]+ds["rules.deletes"], ds["rules.published"], ds["dispatcher.forwarded_all"], p.Notices.Fetched.Load())
	for _, s := range []sidecarProcess{a, servers[0].sidecar, servers[1].sidecar} {
		if err := s.Stop(); err != nil {
			return sum, fmt.Errorf("sidecar %d: %v\n%s", s.PID(), err, s.Logs())
		}
	}
	return sum, nil
}

func startSidecar(bin, dir, name, yaml string) (*proc.Sidecar, error) {
	file := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	return proc.StartSidecar(bin, file, logf)
}

type echoClient interface {
	Echo(ctx context.Context, req *echogen.EchoRequest, opts ...callopt.Option) (*echogen.EchoResponse, error)
}

// drive runs the callers until ctx is done, printing one line per interval
// with the time since start.
func drive(ctx context.Context, start time.Time, c echoClient, o Options) Summary {
	var (
		mu        sync.Mutex
		latencies []time.Duration // this interval's
		total     atomic.Int64
		errs      atomic.Int64
		lastErr   atomic.Value
		id        atomic.Int64
		wg        sync.WaitGroup
	)
	for i := 0; i < o.Callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := make([]byte, o.PayloadSize)
			for ctx.Err() == nil {
				n := id.Add(1)
				t0 := time.Now()
				// Calls use their own context: stopping the demo
				// lets calls in flight finish instead of failing them.
				resp, err := c.Echo(context.Background(), &echogen.EchoRequest{Id: n, Payload: payload}, callopt.WithRPCTimeout(3*time.Second))
				d := time.Since(t0)
				if err == nil && resp.Id != n {
					err = fmt.Errorf("request %d answered with id %d", n, resp.Id)
				}
				total.Add(1)
				if err != nil {
					errs.Add(1)
					lastErr.Store(err.Error())
					continue
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	last := start
	var lastErrs int64
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case now := <-tick.C:
			mu.Lock()
			window := latencies
			latencies = make([]time.Duration, 0, len(window))
			mu.Unlock()
			e := errs.Load()
			report(o.Out, now.Sub(start), now.Sub(last), window, e-lastErrs, lastErr.Load())
			last, lastErrs = now, e
		}
	}
	wg.Wait()
	return Summary{Requests: total.Load(), Errors: errs.Load(), Elapsed: time.Since(start)}
}

func report(w io.Writer, at, window time.Duration, lat []time.Duration, errs int64, lastErr any) {
	slices.Sort(lat)
	p := func(q float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fms", float64(lat[int(q*float64(len(lat)-1))])/1e6)
	}
	line := fmt.Sprintf("[%5.1fs] %7.0f req/s  p50 %s  p90 %s  p99 %s  p99.9 %s  errors %d",
		at.Seconds(), float64(len(lat))/window.Seconds(), p(0.5), p(0.9), p(0.99), p(0.999), errs)
	if errs > 0 {
		line += fmt.Sprintf(" (last: %v)", lastErr)
	}
	fmt.Fprintln(w, line)
}

// lockedWriter serialises writes from the demo's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
