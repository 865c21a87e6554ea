package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client/callopt"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"

	"github.com/octomesh/octomesh/codec"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/internal/proc"
	"github.com/octomesh/octomesh/sdk"
)

// app is a Kitex echo server behind its own sidecar, whose answers can be
// slowed down, and which counts its calls per second and the calls tagged
// lane=canary it saw in its context.
type app struct {
	name   string
	socket string
	delay  atomic.Int64 // time.Duration added to every answer
	calls  atomic.Int64
	tagged atomic.Int64
	mu     sync.Mutex
	times  []time.Time // when each call arrived, when recording
	record atomic.Bool
}

func (a *app) Echo(ctx context.Context, req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
	a.calls.Add(1)
	if a.record.Load() {
		a.mu.Lock()
		a.times = append(a.times, time.Now())
		a.mu.Unlock()
	}
	if v, ok := sdk.Tag(ctx, "lane"); ok && v == "canary" {
		a.tagged.Add(1)
	}
	if d := time.Duration(a.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	return &echogen.EchoResponse{Id: req.Id, Payload: req.Payload, Server: a.name}, nil
}

// startApp serves a Kitex echo app named name on a Unix socket in dir.
func startApp(t *testing.T, dir, name string) *app {
	t.Helper()
	a := &app{name: name, socket: filepath.Join(dir, name+".sock")}
	opts, err := sdk.ServerOptions(a.socket)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "echo"}))
	svr := echoservice.NewServer(a, opts...)
	go svr.Run()
	t.Cleanup(func() { svr.Stop() })
	return a
}

// inbound is the config of a server-side sidecar in front of app: every
// call to its TCP port goes to the app, with the extra route settings.
func inbound(a *app, route string) string {
	if route != "" {
		route = ", " + route
	}
	return fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local%s}]}
clusters:
  - {name: local, connections_per_endpoint: 8, endpoints: [{address: "unix://%s"}]}
`, route, a.socket)
}

// sidecarProc starts a sidecar process; mayDie leaves out the check that
// it exits cleanly (a test kills it).
func sidecarProc(t *testing.T, name, yaml string, mayDie bool) *proc.Sidecar {
	t.Helper()
	return sidecarProcOf(t, bin, name, yaml, mayDie)
}

// sidecarProcOf is sidecarProc of the binary octomesh (bin or fastBin).
func sidecarProcOf(t *testing.T, octomesh, name, yaml string, mayDie bool) *proc.Sidecar {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-cfg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := proc.StartSidecar(octomesh, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil && !mayDie {
			t.Errorf("sidecar %s exited with %v:\n%s", name, err, s.Logs())
		}
	})
	return s
}

func addr(s *proc.Sidecar) string { return strings.TrimPrefix(s.Ready.Listeners["inbound"], "tcp://") }

// loadResult is what callers saw.
type loadResult struct {
	ok        atomic.Int64
	failures  sync.Map // mesh kind (or "other: ...") -> *atomic.Int64
	latencies []time.Duration
	mu        sync.Mutex
}

func (r *loadResult) fail(err error) {
	key := "other"
	if me, ok := sdk.AsMeshError(err); ok {
		key = me.Kind.String()
	}
	v, _ := r.failures.LoadOrStore(key, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (r *loadResult) failed(kind string) int64 {
	if v, ok := r.failures.Load(kind); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (r *loadResult) String() string {
	var parts []string
	r.failures.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(parts)
	return fmt.Sprintf("%d ok, failed: %v", r.ok.Load(), parts)
}

func (r *loadResult) totalFailed() int64 {
	var n int64
	r.failures.Range(func(_, v any) bool { n += v.(*atomic.Int64).Load(); return true })
	return n
}

// closedLoop runs callers, each calling one after another, until n calls
// are made or d has passed; onCall, when set, sees each call's end time
// and error.
func closedLoop(t *testing.T, c echoservice.Client, callers, n int, d time.Duration, ctx context.Context, onCall func(time.Time, error)) *loadResult {
	t.Helper()
	r := &loadResult{}
	var next atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				id := next.Add(1)
				if id > int64(n) || time.Now().After(deadline) {
					return
				}
				start := time.Now()
				_, err := c.Echo(ctx, &echogen.EchoRequest{Id: id, Payload: []byte("x")}, callopt.WithRPCTimeout(5*time.Second))
				end := time.Now()
				if err != nil {
					r.fail(err)
				} else {
					r.ok.Add(1)
					r.mu.Lock()
					r.latencies = append(r.latencies, end.Sub(start))
					r.mu.Unlock()
				}
				if onCall != nil {
					onCall(end, err)
				}
			}
		}()
	}
	wg.Wait()
	return r
}

func (r *loadResult) quantile(q float64) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// newClient is a Kitex echo client of the sidecar at socket, named "web".
func newClient(t *testing.T, socket string) echoservice.Client {
	t.Helper()
	c, err := echoservice.NewClient("echo", append(sdk.ClientOptions(socket), sdk.CallerName("web"))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func stat(t *testing.T, s *proc.Sidecar, name string) uint64 {
	t.Helper()
	v, err := s.Stat(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitFor polls cond every 50ms for up to limit.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

// Two servers behind their sidecars; 50 callers; server 2's sidecar is
// killed with SIGKILL under load. Only the calls already written to it may
// fail (connection_lost: they may have run, so they are not retried); they
// are bounded by the calls in flight to it, at most the 50 callers. Every
// later call goes to server 1 at once.
func TestKillOneServerUnderFiftyCallers(t *testing.T) {
	dir := tempDir(t)
	a1, a2 := startApp(t, dir, "s1"), startApp(t, dir, "s2")
	b1 := sidecarProc(t, "b1.yaml", inbound(a1, ""), false)
	b2 := sidecarProc(t, "b2.yaml", inbound(a2, ""), true)
	out := filepath.Join(dir, "a.sock")
	sidecarProc(t, "a.yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: echo, retry: {attempts: 2}}]
clusters:
  - name: echo
    endpoints: [{address: "%s"}, {address: "%s"}]
    outlier_detection: {consecutive_failures: 5, interval: 1s, base_ejection_time: 5s, max_ejection_percent: 50}
`, out, addr(b1), addr(b2)), false)
	c := newClient(t, out)
	// Warm up: both servers answer.
	if r := closedLoop(t, c, 10, 200, 30*time.Second, context.Background(), nil); r.ok.Load() != 200 || a2.calls.Load() == 0 {
		t.Fatalf("warm-up: %s, server 2 answered %d", r, a2.calls.Load())
	}

	var killedAt atomic.Int64
	var lastFailure atomic.Int64
	go func() {
		time.Sleep(time.Second)
		b2.Kill()
		killedAt.Store(time.Now().UnixNano())
	}()
	r := closedLoop(t, c, 50, 1<<30, 4*time.Second, context.Background(), func(end time.Time, err error) {
		if err != nil {
			lastFailure.Store(end.UnixNano())
		}
	})
	t.Logf("50 callers for 4s, server 2's sidecar killed after 1s: %s", r)
	if killedAt.Load() == 0 {
		t.Fatal("the kill did not happen")
	}
	if other := r.totalFailed() - r.failed(codec.ErrorConnLost); other != 0 {
		t.Fatalf("%d calls failed otherwise than connection_lost: %s", other, r)
	}
	if lost := r.failed(codec.ErrorConnLost); lost > 50 {
		t.Fatalf("%d calls lost; at most the 50 in flight may be", lost)
	}
	if lf := lastFailure.Load(); lf != 0 {
		after := time.Duration(lf - killedAt.Load())
		// How long after the kill the last in-flight call failed depends on
		// the machine; that no more than the calls in flight failed (above)
		// does not.
		t.Logf("last failure %s after the kill", after)
	}
	if r.ok.Load() < 1000 {
		t.Fatalf("only %d calls succeeded in 4s", r.ok.Load())
	}
}

// One server answers 50 times slower: it is ejected within seconds and its
// traffic moves to the other; it is probed, and returns once it is fast
// again.
func TestSlowServerIsEjectedAndReturnsWhenFast(t *testing.T) {
	dir := tempDir(t)
	a1, a2 := startApp(t, dir, "s1"), startApp(t, dir, "s2")
	a1.delay.Store(int64(time.Millisecond))
	a2.delay.Store(int64(time.Millisecond))
	b1 := sidecarProc(t, "b1.yaml", inbound(a1, ""), false)
	b2 := sidecarProc(t, "b2.yaml", inbound(a2, ""), false)
	out := filepath.Join(dir, "a.sock")
	a := sidecarProc(t, "a.yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: echo}]
clusters:
  - name: echo
    endpoints: [{address: "%s"}, {address: "%s"}]
    outlier_detection: {interval: 500ms, latency_factor: 5, min_requests: 10, base_ejection_time: 2s, max_ejection_percent: 50, probe_interval: 200ms}
`, out, addr(b1), addr(b2)), false)
	c := newClient(t, out)
	closedLoop(t, c, 10, 300, 30*time.Second, context.Background(), nil)

	a2.delay.Store(int64(50 * time.Millisecond))
	slowAt := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // traffic throughout, 10 callers
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			closedLoop(t, c, 10, 100, 10*time.Second, context.Background(), nil)
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	if !waitFor(15*time.Second, func() bool { return stat(t, a, "outlier.ejections") >= 1 }) {
		t.Fatal("the slow server was not ejected within 15s")
	}
	t.Logf("slow server ejected %s after it slowed down", time.Since(slowAt).Round(10*time.Millisecond))
	ep := clusterEndpoint(t, a, "echo", addr(b2))
	if ep.Health != "ejected" || !strings.Contains(ep.Reason, "latency") {
		t.Fatalf("/clusters shows the slow server as %+v", ep)
	}
	before1, before2 := a1.calls.Load(), a2.calls.Load()
	time.Sleep(500 * time.Millisecond)
	if moved1, moved2 := a1.calls.Load()-before1, a2.calls.Load()-before2; moved2*20 > moved1 {
		t.Fatalf("while ejected the slow server got %d calls, the other %d", moved2, moved1)
	}
	if stat(t, a, "outlier.probes") == 0 {
		t.Error("the ejected server was not probed")
	}

	a2.delay.Store(int64(time.Millisecond))
	fastAt := time.Now()
	before2 = a2.calls.Load()
	if !waitFor(30*time.Second, func() bool {
		return stat(t, a, "outlier.returns") >= 1 && a2.calls.Load()-before2 > 100 &&
			clusterEndpoint(t, a, "echo", addr(b2)).Health != "ejected"
	}) {
		t.Fatalf("the server did not return within 30s of being fast again: %+v", clusterEndpoint(t, a, "echo", addr(b2)))
	}
	t.Logf("back in balancing %s after it was fast again (ejections %d, returns %d)",
		time.Since(fastAt).Round(10*time.Millisecond), stat(t, a, "outlier.ejections"), stat(t, a, "outlier.returns"))
}

// Every endpoint's app is down: the server sidecars answer "unreachable"
// (not forwarded), which the client's sidecar retries, but never beyond
// the retry budget: the server sidecars see at most (1 + 20%) times the
// calls, plus the budget's floor over the run.
func TestEveryEndpointDownRetriesDoNotAmplify(t *testing.T) {
	dir := tempDir(t)
	dead := &app{name: "dead", socket: filepath.Join(dir, "nobody.sock")} // nothing listens
	b1 := sidecarProc(t, "b1.yaml", inbound(dead, ""), false)
	b2 := sidecarProc(t, "b2.yaml", inbound(dead, ""), false)
	out := filepath.Join(dir, "a.sock")
	const floor = 5
	sidecarProc(t, "a.yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: echo, retry: {attempts: 3}}]
clusters:
  - name: echo
    endpoints: [{address: "%s"}, {address: "%s"}]
    retry_budget: {percent: 20, min_retries_per_second: %d}
`, out, addr(b1), addr(b2), floor), false)
	c := newClient(t, out)
	start := time.Now()
	r := closedLoop(t, c, 20, 3000, time.Minute, context.Background(), nil)
	elapsed := time.Since(start)
	calls := int64(r.ok.Load() + r.totalFailed())
	seen := int64(stat(t, b1, "downstream.requests") + stat(t, b2, "downstream.requests"))
	bound := float64(calls)*1.2 + floor*(elapsed.Seconds()+10)
	t.Logf("%d calls in %s, all failing (%s): the server sidecars saw %d, %.2fx the calls; bound (1+20%%) x calls + %d/s x (run + 10s window) = %.0f",
		calls, elapsed.Round(time.Millisecond), r, seen, float64(seen)/float64(calls), floor, bound)
	if r.failed(codec.ErrorUnreachable) != calls {
		t.Fatalf("want every call to fail unreachable: %s", r)
	}
	if float64(seen) > bound {
		t.Fatalf("the server sidecars saw %d tries for %d calls; bound %.0f", seen, calls, bound)
	}
	if seen <= calls {
		t.Fatalf("no retry at all (%d tries for %d calls): the budget should allow some", seen, calls)
	}
}

// A 1,000 req/s limit per caller on the server's sidecar, a caller sending
// 3,000 req/s: over the run the server sees 1,000 a second and the burst
// (at most 2% more, at least 10% fewer), and the caller gets
// rate_limited errors (Kitex's "request over limit", kerrors.ErrOverlimit)
// that say so.
func TestRateLimitHoldsAThousandPerSecond(t *testing.T) {
	dir := tempDir(t)
	srv := startApp(t, dir, "s1")
	// It measures a rate: sidecars without the race detector (fastBin),
	// which slows them past what 3,000 calls a second need.
	b := sidecarProcOf(t, fastBin, "b.yaml", inbound(srv, "rate_limit: {requests_per_second: 1000, burst: 50, per_caller: true}"), false)
	out := filepath.Join(dir, "a.sock")
	sidecarProcOf(t, fastBin, "a.yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s", routes: [{service: echo, cluster: echo}]}
clusters:
  # Its breaker as high as the client's 3,000 calls in flight: on a machine
  # that stalls the path, calls wait rather than fail circuit_open.
  - {name: echo, circuit_breaker: {max_requests: 4096, max_pending: 4096}, endpoints: [{address: "%s"}]}
`, out, addr(b)), false)
	// The caller is a Kitex client in a process of its own (echo-client
	// -rate), so that it keeps its rate whatever this test process is built
	// with (-race slows it).
	srv.record.Store(true)
	const rate, seconds = 3000, 4
	cmd := exec.Command(clientBin, "-socket", out, "-rate", fmt.Sprint(rate), "-duration", fmt.Sprint(seconds)+"s",
		"-c", "3000", "-timeout", "5s", "-caller", "web")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outJSON, err := cmd.Output()
	srv.record.Store(false)
	if err != nil {
		t.Fatalf("echo-client: %v\n%s", err, stderr.String())
	}
	var res struct {
		Sent, OK, Late int
		Elapsed        time.Duration
		Failures       map[string]int
		Messages       map[string]string
	}
	if err := json.Unmarshal(outJSON, &res); err != nil {
		t.Fatalf("echo-client printed %q: %v", outJSON, err)
	}
	t.Logf("echo-client at %d/s for %ds: %s", rate, seconds, outJSON)
	limited := res.Failures[codec.ErrorRateLimited]
	if res.OK+limited != res.Sent || limited == 0 {
		t.Fatalf("want every call answered or rate limited: %s", outJSON)
	}
	if offered := float64(res.Sent) / res.Elapsed.Seconds(); offered < 2000 {
		t.Fatalf("the client offered only %.0f calls a second (%d late); the test needs well over the limit", offered, res.Late)
	}
	if m := res.Messages[codec.ErrorRateLimited]; !strings.Contains(m, "rate limited") || !strings.Contains(m, "request over limit") {
		t.Fatalf("the caller's error is %q; want the Kitex over-limit error saying rate limited", m)
	}
	srv.mu.Lock()
	times := slices.Clone(srv.times)
	srv.mu.Unlock()
	// Whole seconds from the first call the server saw, the first left out
	// (it holds the burst).
	var perSecond []int
	for s := 1; s < seconds; s++ {
		from, to := times[0].Add(time.Duration(s)*time.Second), times[0].Add(time.Duration(s+1)*time.Second)
		n := 0
		for _, x := range times {
			if !x.Before(from) && x.Before(to) {
				n++
			}
		}
		perSecond = append(perSecond, n)
	}
	t.Logf("the server saw per second (after the first): %v", perSecond)
	// Seconds cut the calls at arbitrary points: a busy machine delays some
	// across a boundary, so the count of each is only logged. Over the run:
	// on any machine no more than the burst and the rate allow (the limiter
	// admitted calls within the client's run) ...
	allowed := 50 + 1000*res.Elapsed.Seconds()
	if float64(len(times)) > allowed*1.02 {
		t.Fatalf("the server saw %d calls in %s; the limit allows %.0f", len(times), res.Elapsed, allowed)
	}
	// ... and, when the client kept its pace (3 times the limit all along),
	// at least 90% of that.
	if res.Late > res.Sent/100 {
		t.Logf("the lower bound not checked: the client sent %d of %d calls late (a busy machine)", res.Late, res.Sent)
		return
	}
	if float64(len(times)) < allowed*0.9 {
		t.Fatalf("the server saw %d calls in %s; the limit allows %.0f, and the client offered 3 times that", len(times), res.Elapsed, allowed)
	}
}

// A 10/90 split between two clusters lands within a few percent; a call
// tagged lane=canary goes only to the canary cluster, whose sidecar routes
// it on the tag too (second hop), and the canary app sees the tag.
func TestWeightedSplitAndATagAcrossBothHops(t *testing.T) {
	dir := tempDir(t)
	stable, canary := startApp(t, dir, "stable"), startApp(t, dir, "canary")
	bs := sidecarProc(t, "bs.yaml", inbound(stable, ""), false)
	bc := sidecarProc(t, "bc.yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - name: inbound
    address: "127.0.0.1:0"
    routes:
      - {tags: {lane: canary}, cluster: local-lane}
      - {cluster: local}
clusters:
  - {name: local, endpoints: [{address: "unix://%s"}]}
  - {name: local-lane, endpoints: [{address: "unix://%s"}]}
`, canary.socket, canary.socket), false)
	out := filepath.Join(dir, "a.sock")
	sidecarProc(t, "a.yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: unix://%s
    routes:
      - {service: echo, tags: {lane: canary}, cluster: echo-canary}
      - {service: echo, split: [{cluster: echo, weight: 90}, {cluster: echo-canary, weight: 10}]}
clusters:
  - {name: echo, endpoints: [{address: "%s"}]}
  - {name: echo-canary, endpoints: [{address: "%s"}]}
`, out, addr(bs), addr(bc)), false)
	c := newClient(t, out)
	const n = 5000
	r := closedLoop(t, c, 20, n, time.Minute, context.Background(), nil)
	share := float64(canary.calls.Load()) / float64(stable.calls.Load()+canary.calls.Load())
	t.Logf("split 90/10 over %d calls: stable %d, canary %d (%.1f%%)", n, stable.calls.Load(), canary.calls.Load(), share*100)
	if r.ok.Load() != n || share < 0.08 || share > 0.12 {
		t.Fatalf("%s; canary share %.1f%%, want 10%% ± 2", r, share*100)
	}

	stableBefore, canaryBefore := stable.calls.Load(), canary.calls.Load()
	tagged := sdk.WithTag(context.Background(), "lane", "canary")
	r = closedLoop(t, c, 10, 500, time.Minute, tagged, nil)
	if r.ok.Load() != 500 || stable.calls.Load() != stableBefore || canary.calls.Load()-canaryBefore != 500 {
		t.Fatalf("tagged: %s; stable got %d, canary %d; want all 500 on canary", r, stable.calls.Load()-stableBefore, canary.calls.Load()-canaryBefore)
	}
	if canary.tagged.Load() != 500 {
		t.Fatalf("the canary app saw the tag on %d of 500 calls", canary.tagged.Load())
	}
	if got := stat(t, bc, "cluster.local-lane.latency.count"); got != 500 {
		t.Fatalf("the canary's sidecar routed %d of 500 tagged calls on the tag", got)
	}
}

// An abort fault of 10% and a delay fault of 30% x 40ms are measured
// within a few percent; mirroring 100% of calls doubles what the shadow
// cluster sees and never makes a call wait for its copy.
func TestFaultsAndMirroring(t *testing.T) {
	dir := tempDir(t)
	main, shadow := startApp(t, dir, "main"), startApp(t, dir, "shadow")
	bm := sidecarProc(t, "bm.yaml", inbound(main, ""), false)
	bs := sidecarProc(t, "bs.yaml", inbound(shadow, ""), false)
	out, plain, mirrored := filepath.Join(dir, "a.sock"), filepath.Join(dir, "plain.sock"), filepath.Join(dir, "mirror.sock")
	a := sidecarProc(t, "a.yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: unix://%s
    routes:
      - {service: echo, method: Echo, tags: {case: abort}, cluster: echo, fault: {abort: {percent: 10}}}
      - {service: echo, method: Echo, tags: {case: delay}, cluster: echo, fault: {delay: {percent: 30, duration: 40ms}}}
      - {service: echo, cluster: echo}
  - {name: plain, address: "unix://%s", routes: [{service: echo, cluster: echo}]}
  - {name: mirrored, address: "unix://%s", routes: [{service: echo, cluster: echo, mirror: {cluster: shadow}}]}
clusters:
  - {name: echo, endpoints: [{address: "%s"}]}
  - {name: shadow, endpoints: [{address: "%s"}]}
`, out, plain, mirrored, addr(bm), addr(bs)), false)
	c := newClient(t, out)
	ctxFor := func(v string) context.Context { return sdk.WithTag(context.Background(), "case", v) }

	const n = 4000
	r := closedLoop(t, c, 20, n, time.Minute, ctxFor("abort"), nil)
	abort := float64(r.failed(codec.ErrorFault)) / n
	t.Logf("abort 10%%: %s (%.2f%%)", r, abort*100)
	if abort < 0.085 || abort > 0.115 || r.totalFailed() != r.failed(codec.ErrorFault) {
		t.Fatalf("aborted %.2f%% (%s); want 10%% ± 1.5", abort*100, r)
	}

	var slow atomic.Int64
	const nd = 1000
	delayedBefore := stat(t, a, "fault.delayed")
	r = closedLoop(t, c, 50, nd, time.Minute, ctxFor("delay"), nil)
	r.mu.Lock()
	for _, l := range r.latencies {
		if l >= 40*time.Millisecond {
			slow.Add(1)
		}
	}
	r.mu.Unlock()
	delayed := stat(t, a, "fault.delayed") - delayedBefore
	t.Logf("delay 30%% x 40ms: %s; the sidecar delayed %d (%.1f%%), %d calls took 40ms or more", r, delayed, float64(delayed)*100/nd, slow.Load())
	if r.ok.Load() != nd || delayed < nd*25/100 || delayed > nd*35/100 {
		t.Fatalf("%d of %d calls delayed (%s); want 30%% ± 5", delayed, nd, r)
	}
	if slow.Load() < int64(delayed) {
		t.Fatalf("only %d calls took 40ms or more, but %d were delayed by 40ms", slow.Load(), delayed)
	}

	// Mirroring: the same route on two listeners, one mirroring every call
	// to the shadow, whose app takes 100ms to answer. An open-loop caller
	// process (300 calls a second) alternates between them, three rounds
	// each, after a round that opens the shadow's connections (until then,
	// copies that would wait for a dial are dropped). A call that waited
	// for its copy would take the shadow's 100ms: the mirrored calls' median
	// must stay far below it, and the shadow must see every copy. The p99s
	// are logged side by side; on a machine this small and busy they move
	// with its noise more than with anything mirroring does.
	const shadowDelay = 100 * time.Millisecond
	shadow.delay.Store(int64(shadowDelay))
	run := func(socket string) (p50, p99 time.Duration) {
		cmd := exec.Command(clientBin, "-socket", socket, "-rate", "300", "-duration", "3s", "-c", "1000", "-timeout", "5s")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("echo-client: %v\n%s", err, stderr.String())
		}
		var res struct {
			Sent, OK int
			P50, P99 time.Duration
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("echo-client printed %q: %v", b, err)
		}
		if res.OK != res.Sent {
			t.Fatalf("%d of %d calls answered through %s", res.OK, res.Sent, socket)
		}
		return res.P50, res.P99
	}
	run(mirrored)
	var plain50, mirror50, plain99, mirror99 []time.Duration
	for round := 0; round < 3; round++ {
		p50, p99 := run(plain)
		plain50, plain99 = append(plain50, p50), append(plain99, p99)
		shadowBefore, mainBefore := shadow.calls.Load(), main.calls.Load()
		p50, p99 = run(mirrored)
		mirror50, mirror99 = append(mirror50, p50), append(mirror99, p99)
		if !waitFor(10*time.Second, func() bool { return shadow.calls.Load()-shadowBefore >= main.calls.Load()-mainBefore }) {
			t.Fatalf("round %d: the shadow saw %d copies of %d calls (mirror.dropped %d, mirror.failed %d)", round, shadow.calls.Load()-shadowBefore,
				main.calls.Load()-mainBefore, stat(t, a, "mirror.dropped"), stat(t, a, "mirror.failed"))
		}
	}
	for _, l := range [][]time.Duration{plain50, mirror50, plain99, mirror99} {
		slices.Sort(l)
	}
	t.Logf("caller at 300/s, 3 rounds of 900 calls each, the shadow answering in %s: p50 plain %v, mirrored %v; p99 plain %v, mirrored %v (medians p99 %v vs %v); the shadow saw every copy",
		shadowDelay, plain50, mirror50, plain99, mirror99, plain99[1], mirror99[1])
	if mirror50[1] > plain50[1]+shadowDelay/2 {
		t.Fatalf("the mirrored calls' median is %v against %v plain: calls waited for the shadow", mirror50[1], plain50[1])
	}
}

type endpointView struct {
	Address string `json:"address"`
	Health  string `json:"health"`
	State   string `json:"state"`
	Reason  string `json:"reason"`
}

// clusterEndpoint reads one endpoint from a sidecar's /clusters.
func clusterEndpoint(t *testing.T, s *proc.Sidecar, cluster, address string) endpointView {
	t.Helper()
	resp, err := http.Get("http://" + s.Ready.Admin + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Clusters []struct {
			Name      string         `json:"name"`
			Endpoints []endpointView `json:"endpoints"`
		} `json:"clusters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, c := range body.Clusters {
		for _, ep := range c.Endpoints {
			if c.Name == cluster && ep.Address == address {
				return ep
			}
		}
	}
	t.Fatalf("/clusters has no endpoint %s in %s", address, cluster)
	return endpointView{}
}

func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-gov") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
