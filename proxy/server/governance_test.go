package server

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
)

// pair is a sidecar whose outbound listener routes service "echo" to
// cluster app of two backends, with the route and cluster settings given
// (YAML flow mappings' contents, without braces).
type pair struct {
	s      *Server
	b1, b2 *backend
	out    string
}

func newPair(t *testing.T, route, cluster string) *pair {
	t.Helper()
	dir := sockDir(t)
	p := &pair{b1: newBackendAt(t, filepath.Join(dir, "b1.sock")), b2: newBackendAt(t, filepath.Join(dir, "b2.sock")), out: filepath.Join(dir, "out.sock")}
	if route != "" {
		route = ", " + route
	}
	if cluster != "" {
		cluster = ", " + cluster
	}
	p.s = sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: app%s}]
clusters:
  - {name: app, request_timeout: 2s, endpoints: [{address: "unix://%s"}, {address: "unix://%s"}]%s}
`, p.out, route, p.b1.addr, p.b2.addr, cluster))
	return p
}

func kindPtr(k codec.ErrorKind) *codec.ErrorKind { return &k }

// calls sends n calls one after another on one connection and returns the
// replies.
func calls(t *testing.T, path string, n int, strInfo ...codec.StrKV) []reply {
	t.Helper()
	c := dial(t, path)
	out := make([]reply, n)
	for i := range n {
		out[i] = call(t, c, request("echo", "Echo", int32(i+1), thrift.CALL, []byte("b"+strconv.Itoa(i)), strInfo...))
	}
	return out
}

func count(rs []reply, meshError string) int {
	n := 0
	for _, r := range rs {
		if r.meshError == meshError {
			n++
		}
	}
	return n
}

func TestRetryGoesToAnotherEndpointWhenThePeerDidNotForward(t *testing.T) {
	for _, retry := range []bool{false, true} {
		t.Run(fmt.Sprintf("retry=%v", retry), func(t *testing.T) {
			route := ""
			if retry {
				route = "retry: {attempts: 2}"
			}
			p := newPair(t, route, "")
			p.b2.meshError.Store(kindPtr(codec.KindUnreachable)) // a peer whose app is dead
			rs := calls(t, p.out, 40)
			failed := count(rs, codec.ErrorUnreachable)
			if retry {
				if failed != 0 || count(rs, "") != 40 {
					t.Fatalf("%d of 40 calls failed unreachable with a retry policy; want 0", failed)
				}
				if got, dead := statValue(p.s, "retry.retries"), p.b2.calls.Load(); got != uint64(dead) || dead < 20 {
					t.Errorf("retry.retries = %d, the dead peer saw %d calls; want one retry for each (and at least 20)", got, dead)
				}
			} else if failed != 20 {
				t.Fatalf("%d of 40 calls failed without retries; want the 20 sent to the dead peer", failed)
			}
		})
	}
}

func TestRetryAfterATimeoutOnlyWhenIdempotent(t *testing.T) {
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprintf("idempotent=%v", idempotent), func(t *testing.T) {
			// per_try_timeout leaves a busy machine time for the try on the
			// answering endpoint.
			p := newPair(t, fmt.Sprintf("retry: {attempts: 3, per_try_timeout: 1s, idempotent: %v}", idempotent), "")
			p.b1.hold = func([]byte) (time.Duration, bool) { return 0, true } // never answers
			rs := calls(t, p.out, 6)
			timeouts := count(rs, codec.ErrorTimeout)
			if idempotent && timeouts != 0 {
				t.Fatalf("%d of 6 idempotent calls timed out; want 0 (retried on the other endpoint)", timeouts)
			}
			if !idempotent && timeouts != 3 {
				t.Fatalf("%d of 6 calls timed out; want the 3 sent to the silent endpoint, not retried", timeouts)
			}
		})
	}
}

func TestRetryBudgetBoundsRetriesWhenEveryEndpointFails(t *testing.T) {
	p := newPair(t, "retry: {attempts: 5}", "retry_budget: {percent: 20, min_retries_per_second: 0}")
	p.b1.meshError.Store(kindPtr(codec.KindUnreachable))
	p.b2.meshError.Store(kindPtr(codec.KindUnreachable))
	const n = 500
	rs := calls(t, p.out, n)
	if got := count(rs, codec.ErrorUnreachable); got != n {
		t.Fatalf("%d of %d calls failed; want all", got, n)
	}
	sent := p.b1.calls.Load() + p.b2.calls.Load()
	if limit := int64(n + n*20/100 + 1); sent > limit || sent <= n {
		t.Fatalf("the endpoints saw %d tries for %d calls; want more than %d and at most %d (20%% budget)", sent, n, n, limit)
	}
	if statValue(p.s, "retry.budget_exhausted") == 0 {
		t.Error("retry.budget_exhausted did not count")
	}
}

// requestWithin is request with the caller's timeout (RPCTimeout) set.
func requestWithin(seq int32, timeout time.Duration, body string) []byte {
	fh := codec.FrameHeader{SeqID: seq, IntInfo: []codec.IntKV{{Key: codec.IntKeyToService, Value: "echo"}, {Key: codec.IntKeyToMethod, Value: "Echo"}, {Key: codec.IntKeyRPCTimeout, Value: strconv.Itoa(int(timeout.Milliseconds()))}}}
	b, start, _ := codec.BeginFrame(nil, &fh)
	b = thrift.Binary.AppendMessageBegin(b, "Echo", thrift.CALL, seq)
	b = thrift.Binary.AppendFieldBegin(b, thrift.STRING, 1)
	b = thrift.Binary.AppendBinary(b, []byte(body))
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	return b
}

// The sweeper runs when a deadline comes, not on a tick: calls in flight
// with a distant deadline cost no sweeps, and a call with a near one still
// times out within the sweep's resolution of it.
func TestTimeoutsSweptAtTheirDeadlineNotOnATick(t *testing.T) {
	p := newPair(t, "", "")
	hold := func(body []byte) (time.Duration, bool) { return 0, strings.Contains(string(body), "silent") }
	p.b1.hold, p.b2.hold = hold, hold
	for i := range 4 { // in flight for the rest of the test, due in a minute
		c := dial(t, p.out)
		if _, err := c.Write(requestWithin(int32(i+1), time.Minute, "silent")); err != nil {
			t.Fatal(err)
		}
	}
	if err := eventually(func() bool { return p.b1.calls.Load()+p.b2.calls.Load() == 4 }); err != nil {
		t.Fatal("the calls did not reach the backends")
	}
	before, start := statValue(p.s, "sweeper.sweeps"), time.Now()
	for time.Since(start) < 500*time.Millisecond { // answered calls meanwhile
		if r := call(t, dial(t, p.out), requestWithin(9, time.Minute, "x")); r.meshError != "" {
			t.Fatalf("call: %+v", r)
		}
	}
	// A 10 ms tick would have swept about 50 times; the deadlines, a minute
	// away, call for the slow sweep once a second at most.
	if n := statValue(p.s, "sweeper.sweeps") - before; n > 5 {
		t.Fatalf("%d sweeps in %v with every deadline a minute away; want at most 5", n, time.Since(start))
	}
	// A call due sooner than the planned sweep wakes the sweeper. Sent just
	// after a sweep, when the next is planned a second away.
	swept := statValue(p.s, "sweeper.sweeps")
	if err := eventually(func() bool { return statValue(p.s, "sweeper.sweeps") > swept }); err != nil {
		t.Fatal("the sweeper did not sweep within the deadline")
	}
	start = time.Now()
	r := call(t, dial(t, p.out), requestWithin(10, 150*time.Millisecond, "silent"))
	took := time.Since(start)
	if r.meshError != codec.ErrorTimeout {
		t.Fatalf("a silent call got %+v; want a timeout", r)
	}
	// A call that waited for the planned sweep would take about a second.
	if took < 150*time.Millisecond || took > 700*time.Millisecond {
		t.Fatalf("a call due in 150ms timed out after %v; want 150-700ms", took)
	}
}

func TestDeadlineIsTheSmallerAndPassesOn(t *testing.T) {
	cases := []struct {
		name       string
		route      string
		caller     string // the caller's RPCTimeout in ms, "" for none
		lo, hi     time.Duration
		wantHeader bool
	}{
		{"caller's", "", "1000", 900 * time.Millisecond, time.Second, true},
		{"route's, added", "timeout: 300ms", "", 250 * time.Millisecond, 300 * time.Millisecond, true},
		{"route's, smaller than the caller's", "timeout: 300ms", "5000", 250 * time.Millisecond, 300 * time.Millisecond, true},
		{"cluster default, not added", "", "", 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.route, "")
			var got atomic.Int64
			got.Store(-1)
			seen := func(h *codec.Header, frame []byte) {
				if d, ok := h.CallerTimeout(frame); ok {
					got.Store(int64(d))
				} else {
					got.Store(0)
				}
			}
			p.b1.seen, p.b2.seen = seen, seen
			frame := request("echo", "Echo", 1, thrift.CALL, []byte("x"))
			if tc.caller != "" {
				fh := codec.FrameHeader{SeqID: 1, IntInfo: []codec.IntKV{{Key: codec.IntKeyToService, Value: "echo"}, {Key: codec.IntKeyToMethod, Value: "Echo"}, {Key: codec.IntKeyRPCTimeout, Value: tc.caller}}}
				b, start, _ := codec.BeginFrame(nil, &fh)
				b = thrift.Binary.AppendMessageBegin(b, "Echo", thrift.CALL, 1)
				b = thrift.Binary.AppendFieldBegin(b, thrift.STRING, 1)
				b = thrift.Binary.AppendBinary(b, []byte("x"))
				b = thrift.Binary.AppendFieldStop(b)
				codec.EndFrame(b, start)
				frame = b
			}
			if r := call(t, dial(t, p.out), frame); r.meshError != "" || r.body != "x" {
				t.Fatalf("call: %+v", r)
			}
			d := time.Duration(got.Load())
			if !tc.wantHeader {
				if d != 0 {
					t.Fatalf("the server saw a timeout of %s; want none", d)
				}
				return
			}
			if d < tc.lo || d > tc.hi {
				t.Fatalf("the server saw a timeout of %s; want between %s and %s", d, tc.lo, tc.hi)
			}
		})
	}
}

func TestSplitByWeightAndTagRouting(t *testing.T) {
	dir := sockDir(t)
	stable, canary := newBackendAt(t, filepath.Join(dir, "s.sock")), newBackendAt(t, filepath.Join(dir, "c.sock"))
	out := filepath.Join(dir, "out.sock")
	s := sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes:
      - {service: echo, tags: {lane: canary}, cluster: canary}
      - {service: echo, split: [{cluster: stable, weight: 90}, {cluster: canary, weight: 10}]}
clusters:
  - {name: stable, endpoints: [{address: "unix://%s"}]}
  - {name: canary, endpoints: [{address: "unix://%s"}]}
`, out, stable.addr, canary.addr))
	const n = 4000
	calls(t, out, n)
	share := float64(canary.calls.Load()) / n
	if share < 0.08 || share > 0.12 {
		t.Fatalf("canary got %.1f%% of %d calls; want 10%% ± 2", share*100, n)
	}
	before := stable.calls.Load()
	rs := calls(t, out, 200, codec.StrKV{Key: config.TagKey("lane"), Value: "canary"})
	if count(rs, "") != 200 || stable.calls.Load() != before {
		t.Fatalf("tagged calls: %d answered, %d reached the stable cluster; want all answered by canary", count(rs, ""), stable.calls.Load()-before)
	}
	_ = s
}

func TestRateLimitRefusesOverTheRateWithItsKind(t *testing.T) {
	dir := sockDir(t)
	be2 := newBackend(t, dir)
	out2 := filepath.Join(dir, "out.sock")
	s := sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: app, rate_limit: {requests_per_second: 100, burst: 10}}]
clusters:
  - {name: app, endpoints: [{address: "unix://%s"}]}
`, out2, be2.addr))
	start := time.Now()
	rs := calls(t, out2, 200)
	elapsed := time.Since(start)
	passed := count(rs, "")
	limited := count(rs, codec.ErrorRateLimited)
	most := 10 + int(elapsed.Seconds()*100) + 1
	if passed < 10 || passed > most || passed+limited != 200 {
		t.Fatalf("%d passed, %d rate limited in %s; want 10 to %d passed (burst 10, 100/s), the rest limited", passed, limited, elapsed, most)
	}
	for _, r := range rs {
		if r.meshError == codec.ErrorRateLimited && !strings.Contains(r.body, "rate limited") {
			t.Fatalf("rate-limited answer says %q", r.body)
		}
	}
	if got := statValue(s, "rate_limit.limited"); got != uint64(limited) {
		t.Errorf("rate_limit.limited = %d; want %d", got, limited)
	}
}

func TestFaultAbortShareDelayAndMarkedTrafficOnly(t *testing.T) {
	p := newPair(t, "fault: {abort: {percent: 30}}", "")
	const n = 3000
	rs := calls(t, p.out, n)
	share := float64(count(rs, codec.ErrorFault)) / n
	if share < 0.27 || share > 0.33 {
		t.Fatalf("%.1f%% of calls aborted; want 30%% ± 3", share*100)
	}
	if got := p.b1.calls.Load() + p.b2.calls.Load(); got != int64(n-count(rs, codec.ErrorFault)) {
		t.Fatalf("backends saw %d calls; aborted calls must not be forwarded", got)
	}

	d := newPair(t, `fault: {delay: {percent: 100, duration: 80ms}, abort: {percent: 100}, headers: {om-test: "1"}}`, "")
	c := dial(t, d.out)
	start := time.Now()
	if r := call(t, c, request("echo", "Echo", 1, thrift.CALL, []byte("x"))); r.meshError != "" {
		t.Fatalf("unmarked call: %+v; want it untouched", r)
	}
	if e := time.Since(start); e > 60*time.Millisecond {
		t.Logf("unmarked call took %s (a busy machine?)", e)
	}
	start = time.Now()
	r := call(t, c, request("echo", "Echo", 2, thrift.CALL, []byte("x"), codec.StrKV{Key: "om-test", Value: "1"}))
	if r.meshError != codec.ErrorFault || !strings.Contains(r.body, "fault injected") {
		t.Fatalf("marked call: %+v; want an injected abort", r)
	}
	if e := time.Since(start); e < 80*time.Millisecond {
		t.Fatalf("marked call answered after %s; want the 80ms delay first", e)
	}
}

func TestMirrorCopiesCallsAndDropsTheShadowsAnswers(t *testing.T) {
	dir := sockDir(t)
	main, shadow := newBackendAt(t, filepath.Join(dir, "m.sock")), newBackendAt(t, filepath.Join(dir, "sh.sock"))
	shadow.meshError.Store(kindPtr(codec.KindOverloaded)) // its answers must never reach the caller
	out := filepath.Join(dir, "out.sock")
	s := sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: main, mirror: {cluster: shadow}}]
clusters:
  - {name: main, endpoints: [{address: "unix://%s"}]}
  - {name: shadow, endpoints: [{address: "unix://%s"}]}
`, out, main.addr, shadow.addr))
	// The first copy finds no connection to the shadow and is dropped, by
	// design, rather than wait for the dial it starts: call until a copy
	// arrives, then every copy must go.
	c := dial(t, out)
	warm := 0
	if err := eventually(func() bool {
		warm++
		if r := call(t, c, request("echo", "Echo", int32(warm), thrift.CALL, []byte("w"))); r.meshError != "" {
			t.Fatalf("warm-up call answered %+v; the shadow's answers must be dropped", r)
		}
		return shadow.calls.Load() > 0
	}); err != nil {
		t.Fatalf("no copy reached the shadow in %d calls", warm)
	}
	if statValue(s, "mirror.dropped") == 0 {
		t.Errorf("mirror.dropped = 0 after the first copy found no connection; want it counted")
	}
	if err := eventually(func() bool { return shadow.calls.Load()+int64(statValue(s, "mirror.dropped")) == int64(warm) }); err != nil {
		t.Fatalf("warm-up: shadow saw %d copies, %d dropped; want %d in all", shadow.calls.Load(), statValue(s, "mirror.dropped"), warm)
	}
	seen, dropped := shadow.calls.Load(), statValue(s, "mirror.dropped")
	rs := calls(t, out, 300)
	if count(rs, "") != 300 {
		t.Fatalf("%d of 300 answered; the shadow's answers must be dropped", count(rs, ""))
	}
	if err := eventually(func() bool { return shadow.calls.Load()-seen == 300 }); err != nil {
		t.Fatalf("shadow saw %d of 300 copies once connected (%d more dropped); want all", shadow.calls.Load()-seen, statValue(s, "mirror.dropped")-dropped)
	}
	if d := statValue(s, "mirror.dropped") - dropped; d != 0 {
		t.Errorf("%d copies dropped with the shadow's connection open; want none", d)
	}
	// Every copy the shadow answered with a mesh error is a failed copy:
	// none may go uncounted.
	if err := eventually(func() bool { return int64(statValue(s, "mirror.failed")) == shadow.calls.Load() }); err != nil {
		t.Errorf("mirror.failed %d, but the shadow answered %d copies with a mesh error", statValue(s, "mirror.failed"), shadow.calls.Load())
	}
}

func TestCircuitBreakerRefusesOverMaxRequests(t *testing.T) {
	p := newPair(t, "", "circuit_breaker: {max_requests: 2}")
	release := make(chan struct{})
	hold := func([]byte) (time.Duration, bool) { <-release; return 0, false }
	p.b1.hold, p.b2.hold = hold, hold
	var wg sync.WaitGroup
	results := make([]reply, 5)
	for i := range results {
		c := dial(t, p.out)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call(t, c, request("echo", "Echo", int32(i+1), thrift.CALL, []byte("x")))
		}()
		if i < 2 {
			if err := eventually(func() bool { return p.b1.calls.Load()+p.b2.calls.Load() == int64(i+1) }); err != nil {
				t.Fatal("call did not reach a backend")
			}
		}
	}
	if err := eventually(func() bool { return statValue(p.s, "circuit_breaker.open") == 3 }); err != nil {
		t.Fatalf("circuit_breaker.open = %d; want 3", statValue(p.s, "circuit_breaker.open"))
	}
	close(release)
	wg.Wait()
	if got := count(results, codec.ErrorCircuitOpen); got != 3 {
		t.Fatalf("%d calls got circuit_open; want 3: %+v", got, results)
	}
	for _, r := range results {
		if r.meshError == codec.ErrorCircuitOpen && !strings.Contains(r.body, "circuit_breaker.max_requests=2") {
			t.Fatalf("answer %q does not name the limit", r.body)
		}
	}
}

// A peer sidecar (B1, B2 in front of their own backends) whose app dies is
// ejected by the caller's sidecar after consecutive failures, is probed
// with health frames while its app stays down, and returns once its app is
// back.
func TestOutlierEjectsProbesAndReturnsAPeer(t *testing.T) {
	dir := sockDir(t)
	app1, app2 := newBackendAt(t, filepath.Join(dir, "a1.sock")), newBackendAt(t, filepath.Join(dir, "a2.sock"))
	peer := func(app string) *Server {
		return sidecar(t, fmt.Sprintf(`
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local}]}
clusters:
  - {name: local, connect_timeout: 100ms, endpoints: [{address: "unix://%s"}]}
`, app))
	}
	b1, b2 := peer(app1.addr), peer(app2.addr)
	out := filepath.Join(dir, "out.sock")
	a := sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: peers, retry: {attempts: 2}}]
clusters:
  - name: peers
    endpoints: [{address: "%s"}, {address: "%s"}]
    outlier_detection: {consecutive_failures: 3, interval: 1s, base_ejection_time: 300ms, max_ejection_percent: 50, probe_interval: 100ms}
`, out, b1.ListenerAddr("inbound"), b2.ListenerAddr("inbound")))
	if rs := calls(t, out, 20); count(rs, "") != 20 {
		t.Fatal("calls failed before the fault")
	}
	app2.close() // B2's app dies; B2 answers unreachable
	rs := calls(t, out, 50)
	// A call B2 wrote to a connection of its app before it saw the close
	// may be lost (connection_lost: it may have run, so it is not
	// retried); B2 keeps two connections to its app. Every other call
	// must be retried on B1.
	if lost := count(rs, codec.ErrorConnLost); count(rs, "")+lost != 50 || lost > 2 {
		t.Fatalf("%d of 50 answered, %d lost after the write; want every other call retried on B1 and at most 2 lost", count(rs, ""), lost)
	}
	if err := eventually(func() bool { return statValue(a, "outlier.ejections") >= 1 }); err != nil {
		t.Fatal("B2 was not ejected")
	}
	before := app1.calls.Load()
	calls(t, out, 30)
	if got := app1.calls.Load() - before; got != 30 {
		t.Fatalf("app1 got %d of 30 calls with B2 ejected", got)
	}
	if err := eventually(func() bool { return statValue(a, "outlier.probe_failures") >= 2 }); err != nil {
		t.Fatal("the ejected peer was not probed (or its failing app not reported)")
	}
	if statValue(a, "outlier.returns") != 0 {
		t.Fatal("B2 returned while its app was down")
	}
	ep := endpointOf(t, a, "peers", b2.ListenerAddr("inbound"))
	if ep.State != "ejected" || !strings.Contains(ep.Reason, "consecutive failures") {
		t.Fatalf("/clusters shows B2 as %+v", ep)
	}

	revived := newBackendAt(t, app2.addr) // B2's app is back
	if err := eventually(func() bool { return statValue(a, "outlier.returns") >= 1 }); err != nil {
		t.Fatalf("B2 did not return after its app came back: %+v", endpointOf(t, a, "peers", b2.ListenerAddr("inbound")))
	}
	if err := eventually(func() bool { calls(t, out, 10); return revived.calls.Load() > 0 }); err != nil {
		t.Fatal("no call reached B2's app after its return")
	}
}

func endpointOf(t *testing.T, s *Server, cluster, addr string) struct{ State, Reason string } {
	t.Helper()
	set := *s.clusters.Load()
	for _, ep := range set[cluster].c.Endpoints() {
		if ep.Address == strings.TrimPrefix(addr, "tcp://") {
			return struct{ State, Reason string }{ep.State, ep.Reason}
		}
	}
	t.Fatalf("no endpoint %s in %s", addr, cluster)
	return struct{ State, Reason string }{}
}

func TestFilterChainErrorsNameTheField(t *testing.T) {
	dir := sockDir(t)
	cases := []struct{ listener, route, want string }{
		{"filters: [rate_limit, nope]", "", `listeners[0].filters[1]: unknown filter "nope" (known: authz, fault, rate_limit)`},
		{"filters: [fault, fault]", "", `listeners[0].filters[1]: filter "fault" is in the chain twice`},
		{"filters: [fault]", ", rate_limit: {requests_per_second: 5}", `listeners[0].routes[0].rate_limit: the listener's filters leave out "rate_limit"`},
	}
	for _, tc := range cases {
		cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
listeners:
  - {name: outbound, address: "unix://%s/o.sock", %s, routes: [{cluster: app%s}]}
clusters:
  - {name: app, endpoints: [{address: "unix://%s/a.sock"}]}
`, dir, tc.listener, tc.route, dir)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v\nwant %q", err, tc.want)
		}
	}
}
