package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// leaseTTL is the server instances' lease: how long a dead instance stays
// registered.
const leaseTTL = 3 * time.Second

// lapseAfter is when echo-2's lease stops being renewed: a quarter into a
// timed run, 5s into an open-ended one.
func lapseAfter(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Second
	}
	return d / 4
}

// sidecarProcess is a sidecar the demo started: on its own (proc.Sidecar)
// or under a node agent (agentSidecar).
type sidecarProcess interface {
	PID() int
	Stop() error
	Logs() string
}

// serverInstance is one echo app behind its own sidecar (a process).
type serverInstance struct {
	name    string
	handler *echo.Handler
	sock    string
	sidecar sidecarProcess
	agent   *agentSidecar // the sidecar, when an agent runs it
	address string        // the sidecar's inbound host:port: what peers dial

	svr    server.Server
	runErr chan error
	once   sync.Once
	// readiness is what the handler answered before the client's calls:
	// serve's readiness check.
	readiness int64
}

// handled is how many of the client's calls the app answered.
func (si *serverInstance) handled() int64 { return si.handler.Total() - si.readiness }

// startServerInstance starts the sidecar of app name, under a node agent
// with underAgent.
func startServerInstance(bin, dir, name string, underAgent bool) (*serverInstance, error) {
	si := &serverInstance{name: name, handler: echo.NewHandler(name), sock: filepath.Join(dir, name+"-app.sock"), runErr: make(chan error, 1)}
	yaml := fmt.Sprintf(`# the sidecar beside %s
node: {id: %s-sidecar, app: echo}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local-app}]}
clusters:
  - {name: local-app, connections_per_endpoint: 8, endpoints: [{address: "unix://%s"}]}
`, name, name, si.sock)
	if underAgent {
		sc, err := startAgentSidecar(bin, dir, "sidecar-"+name, yaml)
		if err != nil {
			return nil, err
		}
		si.sidecar, si.agent = sc, sc
		si.address = strings.TrimPrefix(sc.Listener("inbound"), "tcp://")
		return si, nil
	}
	sc, err := startSidecar(bin, dir, "sidecar-"+name, yaml)
	if err != nil {
		return nil, err
	}
	si.sidecar = sc
	si.address = strings.TrimPrefix(sc.Ready.Listeners["inbound"], "tcp://")
	return si, nil
}

func (si *serverInstance) instance() registry.Instance {
	return registry.Instance{Service: echo.ServiceName, App: "echo", Address: si.address, Weight: 1}
}

func (si *serverInstance) describe() string {
	if si.agent != nil {
		return fmt.Sprintf("sidecar %s (pid %d, %s, under a node agent)", si.name, si.sidecar.PID(), si.address)
	}
	return fmt.Sprintf("sidecar %s (pid %d, %s)", si.name, si.sidecar.PID(), si.address)
}

// serveRegistered runs the app with the sdk's registration option.
func (si *serverInstance) serveRegistered(registryAddr string) error {
	reg, err := sdk.WithRegistration(sdk.Registration{Registry: registryAddr, App: "echo", Address: si.address, TTL: leaseTTL})
	if err != nil {
		return err
	}
	return si.serve(reg)
}

// serve runs the app and returns once it answers (Kitex ignores a Stop
// that comes before Run has started serving).
func (si *serverInstance) serve(extra ...server.Option) error {
	opts, err := sdk.ServerOptions(si.sock)
	if err != nil {
		return err
	}
	opts = append(opts, server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: echo.ServiceName}))
	si.svr = echoservice.NewServer(si.handler, append(opts, extra...)...)
	go func() { si.runErr <- si.svr.Run() }()
	c, err := echo.NewClient(si.sock)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Echo(ctx, &echogen.EchoRequest{Id: -1}); err != nil {
		return err
	}
	si.readiness = si.handler.Total()
	return nil
}

// stop stops the app (revoking its registration if it has one) and its
// sidecar.
func (si *serverInstance) stop() {
	si.once.Do(func() {
		if si.svr != nil {
			_ = si.svr.Stop()
			select {
			case <-si.runErr:
			case <-time.After(10 * time.Second):
			}
		}
		_ = si.sidecar.Stop()
	})
}

// keepAlive renews lease until the returned lapse is called; last is when
// it was last renewed.
func keepAlive(api *registry.Client, lease registry.LeaseID) (lapse func(), last *atomic.Int64) {
	last = new(atomic.Int64)
	last.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), leaseTTL/3)
				if api.KeepAlive(ctx, lease) == nil {
					last.Store(time.Now().UnixNano())
				}
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop) }) }, last
}

// waitInstances waits until the registry lists n instances of echo.
func waitInstances(ctx context.Context, api *registry.Client, n int) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, err := api.Instances(ctx, echo.ServiceName)
		if err == nil && len(list) == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the registry lists %d instances of %s after 15s, want %d (%v)", len(list), echo.ServiceName, n, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// watchEndpoints prints sidecar A's endpoints of echo whenever they change,
// as its admin endpoint (GET /xds) reports them. After lapseAt it stops
// renewing echo-2's lease, and once echo-2's endpoint has left it stops
// echo-2 (no request goes there any more).
func watchEndpoints(ctx context.Context, out io.Writer, admin string, names map[string]string, echo2 *serverInstance,
	lapse func(), lastRenewal *atomic.Int64, lapseAt time.Duration) {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "[%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}
	var prev string
	lapsed := false
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !lapsed && time.Since(start) >= lapseAt {
			lapse()
			lapsed = true
			say("echo-2 stops renewing its lease (TTL %s), as an instance that died would", leaseTTL)
		}
		eps, err := endpointsAt(ctx, admin)
		if err != nil {
			continue
		}
		named := make([]string, 0, len(eps))
		for _, e := range eps {
			addr, _, _ := strings.Cut(e, " ")
			named = append(named, names[addr]+" "+e)
		}
		sort.Strings(named)
		if cur := strings.Join(named, ", "); cur != prev {
			prev = cur
			if cur == "" {
				cur = "none"
			}
			say("sidecar A's endpoints of %s: %s", echo.ServiceName, cur)
			if lapsed && !strings.Contains(cur, echo2.address) {
				since := time.Since(time.Unix(0, lastRenewal.Load()))
				say("echo-2's endpoint left %.1fs after its lease was last renewed (TTL %s): no call goes there now", since.Seconds(), leaseTTL)
				if echo2.agent != nil {
					crash(say, echo2)
				}
				say("stopping echo-2 and its sidecar")
				echo2.stop()
			}
		}
	}
}

// endpointsAt reads the endpoints of echo that a sidecar has applied.
func endpointsAt(ctx context.Context, admin string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/xds", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st struct {
		Applied struct {
			Clusters map[string][]string `json:"clusters"`
		} `json:"applied"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return st.Applied.Clusters[echo.ServiceName], nil
}

// crash kills the agent-run sidecar of si, which no call reaches any more,
// with SIGKILL, and reports its agent bringing it back.
func crash(say func(string, ...any), si *serverInstance) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oldPID, newPID, away, err := si.agent.killAndWait(ctx)
	if err != nil {
		say("agent: %v", err)
		return
	}
	say("agent: %s's sidecar (pid %d) killed with SIGKILL; its agent started it again in %.2fs (pid %d, restarts %d)",
		si.name, oldPID, away.Seconds(), newPID, si.agent.sup.Status().Restarts)
}
