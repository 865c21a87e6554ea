package upstream

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/lb"
	"github.com/octomesh/octomesh/proxy/transport"
)

func TestMedianOfOthers(t *testing.T) {
	const a, b, c, d = 1, 2, 3, 4
	tests := []struct {
		sorted []time.Duration
		own    time.Duration
		want   time.Duration // lower median of sorted without own
	}{
		{[]time.Duration{a, b}, a, b},
		{[]time.Duration{a, b}, b, a},
		{[]time.Duration{a, a}, a, a},
		{[]time.Duration{a, b, c}, a, b},
		{[]time.Duration{a, b, c}, b, a},
		{[]time.Duration{a, b, c}, c, a},
		{[]time.Duration{a, a, c}, a, a},
		{[]time.Duration{a, c, c}, c, a},
		{[]time.Duration{a, b, c, d}, a, c},
		{[]time.Duration{a, b, c, d}, b, c},
		{[]time.Duration{a, b, c, d}, c, b},
		{[]time.Duration{a, b, c, d}, d, b},
		{[]time.Duration{a, b, b, d}, b, b},
	}
	for _, tt := range tests {
		if got := medianOfOthers(tt.sorted, tt.own); got != tt.want {
			t.Errorf("medianOfOthers(%v, %v) = %v, want %v", tt.sorted, tt.own, got, tt.want)
		}
	}
}

// odConfig is outlier detection as the tests start from: consecutive
// failures only, and no probe unless a test sets ProbeInterval.
func odConfig() config.OutlierDetection {
	return config.OutlierDetection{
		ConsecutiveFailures: 5,
		Interval:            config.Duration(10 * time.Second),
		BaseEjectionTime:    config.Duration(30 * time.Second),
		MaxEjectionTime:     config.Duration(300 * time.Second),
		MaxEjectionPercent:  50,
		MinRequests:         10,
		ProbeInterval:       config.Duration(time.Hour),
	}
}

// newODCluster is a round robin cluster of n weight-1 endpoints on Unix
// sockets in dir (e0.sock, e1.sock, ...; nothing listens unless the test
// does) with outlier detection cfg. Nothing is dialled: the tests drive
// Endpoint.record and Cluster.sweepOutliers.
func newODCluster(t *testing.T, dir string, n int, cfg config.OutlierDetection) (*Cluster, *Stats) {
	t.Helper()
	bal, err := lb.Get("round_robin")
	if err != nil {
		t.Fatal(err)
	}
	var eps []EndpointConfig
	for i := range n {
		eps = append(eps, EndpointConfig{Network: "unix", Address: filepath.Join(dir, fmt.Sprintf("e%d.sock", i)), Weight: 1})
	}
	stats := &Stats{}
	c, err := NewCluster(ClusterConfig{
		Name: "od", Balancer: bal, ConnsPerEndpoint: 1, MaxRequestsPerConn: 4, ConnectTimeout: time.Second,
		Transport: transport.Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second},
		Outlier:   &cfg,
	}, eps, stats, &transport.Stats{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, stats
}

func endpointAt(c *Cluster, i int) *Endpoint { return c.state.Load().endpoints[i] }

// picks counts, per endpoint, the picks of n calls of the cluster's
// current picker (all zero without one).
func picks(c *Cluster, n int) []int {
	st := c.state.Load()
	out := make([]int, len(st.endpoints))
	if st.picker == nil {
		return out
	}
	for range n {
		if i := st.picker.Pick(nil); i >= 0 {
			out[i]++
		}
	}
	return out
}

// results records calls of endpoint i: true for a failure.
func results(c *Cluster, i int, failed ...bool) {
	for _, f := range failed {
		endpointAt(c, i).record(f, time.Millisecond)
	}
}

func repeat(failed bool, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = failed
	}
	return out
}

func states(c *Cluster) []string {
	var out []string
	for _, s := range c.Endpoints() {
		out = append(out, s.State)
	}
	return out
}

func TestConsecutiveFailures(t *testing.T) {
	const F, T = true, false
	tests := []struct {
		name    string
		batches [][]bool // endpoint 0's calls; a sweep after each batch
		state   string
		reason  string // in endpoint 0's reason
		picks   int    // of endpoint 0 in 90 (weights: healthy 4, degraded 1, ejected 0)
	}{
		{"one failure", [][]bool{{F}}, "healthy", "", 30},
		{"half of them degrade", [][]bool{{F, F}}, "degraded", "2 consecutive failures (ejected at 5)", 10},
		{"all of them eject", [][]bool{{F, F, F, F, F}}, "ejected", "5 consecutive failures", 0},
		{"more in one sweep eject", [][]bool{{F, F, F, F, F, F, F}}, "ejected", "7 consecutive failures", 0},
		{"degraded, then ejected", [][]bool{{F, F}, {F, F, F}}, "ejected", "5 consecutive failures", 0},
		{"a success breaks the run", [][]bool{{F, F, F, F, T, F, F, F, F}}, "degraded", "consecutive failures (ejected at 5)", 10},
		{"a success before the sweep breaks the run", [][]bool{{F}, {T}, {F, F, F}}, "degraded", "3 consecutive failures (ejected at 5)", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, stats := newODCluster(t, shortDir(t), 3, odConfig())
			t0 := Now()
			c.sweepOutliers(t0)
			for k, b := range tt.batches {
				results(c, 0, b...)
				c.sweepOutliers(t0 + time.Duration(k+1)*time.Millisecond)
			}
			st := c.Endpoints()
			if got := states(c); !slices.Equal(got, []string{tt.state, "healthy", "healthy"}) {
				t.Fatalf("states %v, want %s for endpoint 0 (reason %q)", got, tt.state, st[0].Reason)
			}
			if !strings.Contains(st[0].Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", st[0].Reason, tt.reason)
			}
			if got := picks(c, 90); got[0] != tt.picks || got[1] != got[2] || got[0]+got[1]+got[2] != 90 {
				t.Errorf("picks %v of 90, want %d for endpoint 0", got, tt.picks)
			}
			wantEjections := uint64(0)
			if tt.state == "ejected" {
				wantEjections = 1
				if st[0].Ejections != 1 || !strings.Contains(st[0].Reason, "ejected for 30s") {
					t.Errorf("ejections %d reason %q", st[0].Ejections, st[0].Reason)
				}
				if endpointAt(c, 0).usable() {
					t.Error("an ejected endpoint is usable")
				}
			}
			if n := stats.Ejections.Load(); n != wantEjections {
				t.Errorf("Ejections %d, want %d", n, wantEjections)
			}
		})
	}
}

func TestMaxEjectionPercent(t *testing.T) {
	tests := []struct {
		endpoints, percent, failing int
		wantEjected                 int
	}{
		{endpoints: 2, percent: 50, failing: 2, wantEjected: 1},
		{endpoints: 2, percent: 0, failing: 2, wantEjected: 1}, // one always may
		{endpoints: 3, percent: 10, failing: 3, wantEjected: 1},
		{endpoints: 4, percent: 50, failing: 4, wantEjected: 2},
		{endpoints: 2, percent: 100, failing: 2, wantEjected: 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d at %d%%", tt.failing, tt.endpoints, tt.percent), func(t *testing.T) {
			cfg := odConfig()
			cfg.MaxEjectionPercent = tt.percent
			c, stats := newODCluster(t, shortDir(t), tt.endpoints, cfg)
			t0 := Now()
			c.sweepOutliers(t0)
			for i := range tt.failing {
				results(c, i, repeat(true, 5)...)
				c.sweepOutliers(t0 + time.Duration(i+1)*time.Millisecond)
			}
			var ejected, kept []int
			for i, s := range c.Endpoints() {
				switch {
				case s.State == "ejected":
					ejected = append(ejected, i)
				case i < tt.failing:
					kept = append(kept, i)
					if s.State != "degraded" || !strings.Contains(s.Reason, "not ejected") || !strings.Contains(s.Reason, fmt.Sprintf("max_ejection_percent %d", tt.percent)) {
						t.Errorf("endpoint %d kept in: state %s reason %q", i, s.State, s.Reason)
					}
				}
			}
			if len(ejected) != tt.wantEjected {
				t.Fatalf("ejected %v, want %d endpoints", ejected, tt.wantEjected)
			}
			if n := stats.EjectionsRefused.Load(); n != uint64(len(kept)) {
				t.Errorf("EjectionsRefused %d, want %d", n, len(kept))
			}
			got := picks(c, 100*tt.endpoints)
			for _, i := range ejected {
				if len(ejected) == tt.endpoints {
					// All ejected: panic mode balances over them all.
					if got[i] == 0 {
						t.Errorf("picks %v: with every endpoint ejected, endpoint %d is never picked", got, i)
					}
				} else if got[i] != 0 {
					t.Errorf("picks %v: ejected endpoint %d picked", got, i)
				}
			}
			for _, i := range kept {
				if got[i] == 0 {
					t.Errorf("picks %v: endpoint %d kept in is never picked", got, i)
				}
			}
		})
	}
}

// waitAfter spins until the upstream clock is past t, so that what
// happens next is strictly later.
func waitAfter(t *testing.T, at time.Duration) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for Now() <= at {
		if time.Now().After(deadline) {
			t.Fatal("the upstream clock does not move")
		}
	}
}

// TestEjectedEndpointReturns: an ejected endpoint comes back, degraded,
// once its ejection time is over and a probe passed since it was ejected;
// a clean interval then makes it healthy, and a second ejection lasts
// twice as long.
func TestEjectedEndpointReturns(t *testing.T) {
	c, stats := newODCluster(t, shortDir(t), 3, odConfig())
	ep := endpointAt(c, 0)
	const base = 30 * time.Second
	expect := func(step, state string) {
		t.Helper()
		if got := c.Endpoints()[0]; got.State != state {
			t.Fatalf("%s: state %s (%q), want %s", step, got.State, got.Reason, state)
		}
	}

	ep.probeResult(true, "") // before the ejection: does not count
	waitAfter(t, time.Duration(ep.od.probePassed.Load()))
	te := Now()
	c.sweepOutliers(te)
	results(c, 0, repeat(true, 5)...)
	c.sweepOutliers(te)
	expect("5 failures", "ejected")

	c.sweepOutliers(te + base)
	expect("ejection over, only a probe from before it passed", "ejected")

	ep.probeResult(true, "")
	waitAfter(t, time.Duration(ep.od.probePassed.Load()))
	ep.probeResult(false, "connection refused")
	if got := c.Endpoints()[0].ProbeError; got != "connection refused" {
		t.Errorf("ProbeError %q", got)
	}
	c.sweepOutliers(te + base)
	expect("the last probe failed", "ejected")
	if n := stats.ProbeFailures.Load(); n != 1 {
		t.Errorf("ProbeFailures %d, want 1", n)
	}

	waitAfter(t, time.Duration(ep.od.probeFailed.Load()))
	ep.probeResult(true, "")
	c.sweepOutliers(te + base - time.Nanosecond)
	expect("a probe passed, ejection not over", "ejected")
	if got := picks(c, 90); got[0] != 0 {
		t.Fatalf("picks %v: the ejected endpoint was picked", got)
	}
	c.sweepOutliers(te + base)
	expect("ejection over and a probe passed", "degraded")
	if got := c.Endpoints()[0]; !strings.Contains(got.Reason, "back after 1 ejection(s)") || got.ProbeError != "" {
		t.Errorf("reason %q probe error %q", got.Reason, got.ProbeError)
	}
	if n := stats.Returns.Load(); n != 1 {
		t.Errorf("Returns %d, want 1", n)
	}
	if got := picks(c, 90); got[0] != 10 {
		t.Errorf("picks %v of 90: a returned endpoint weighs a quarter (want 10)", got)
	}

	// A clean interval with enough calls: healthy again.
	for i := range 3 {
		results(c, i, repeat(false, 10)...)
	}
	c.sweepOutliers(te + base + 10*time.Second)
	expect("a clean interval", "healthy")
	if got := picks(c, 90); got[0] != 30 {
		t.Errorf("picks %v of 90, want 30 for a healthy endpoint", got)
	}

	// Ejected again: twice the base time.
	te2 := Now() + base + 11*time.Second
	results(c, 0, repeat(true, 5)...)
	c.sweepOutliers(te2)
	expect("ejected again", "ejected")
	if got := c.Endpoints()[0]; got.Ejections != 2 || !strings.Contains(got.Reason, "ejected for 1m0s (ejection 2)") {
		t.Errorf("ejections %d reason %q", got.Ejections, got.Reason)
	}
	// te2 is ahead of the upstream clock: a probe result now would be
	// from before the ejection, so set one after it.
	ep.od.probePassed.Store(int64(te2 + time.Second))
	c.sweepOutliers(te2 + base)
	expect("second ejection, one base time later", "ejected")
	c.sweepOutliers(te2 + 2*base)
	expect("second ejection, two base times later", "degraded")
}

// TestProbeBringsEndpointBack: the probe Sweep starts (connect, for a Unix
// socket) passes against a listening endpoint and fails against a dead
// one; only the first comes back.
func TestProbeBringsEndpointBack(t *testing.T) {
	dir := shortDir(t)
	cfg := odConfig()
	cfg.ProbeInterval = config.Duration(time.Second)
	cfg.MaxEjectionPercent = 100
	c, stats := newODCluster(t, dir, 3, cfg)
	ln, err := net.Listen("unix", filepath.Join(dir, "e0.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			nc.Close()
		}
	}()
	probesDone := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for i := range 2 {
			for endpointAt(c, i).od.probing.Load() {
				if time.Now().After(deadline) {
					t.Fatalf("endpoint %d's probe did not finish", i)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	t.Cleanup(probesDone)

	te := Now()
	c.sweepOutliers(te)
	results(c, 0, repeat(true, 5)...)
	results(c, 1, repeat(true, 5)...)
	c.sweepOutliers(te)
	if got := states(c); !slices.Equal(got, []string{"ejected", "ejected", "healthy"}) {
		t.Fatalf("states %v", got)
	}
	c.sweepOutliers(te + time.Second - time.Nanosecond)
	if n := stats.Probes.Load(); n != 0 {
		t.Fatalf("%d probes before the probe interval", n)
	}
	c.sweepOutliers(te + time.Second)
	if n := stats.Probes.Load(); n != 2 {
		t.Fatalf("%d probes started, want 2", n)
	}
	probesDone()
	if endpointAt(c, 0).od.probePassed.Load() == 0 || endpointAt(c, 1).od.probeFailed.Load() == 0 {
		t.Fatalf("probe results: listening endpoint passed at %d, dead one failed at %d",
			endpointAt(c, 0).od.probePassed.Load(), endpointAt(c, 1).od.probeFailed.Load())
	}
	if n := stats.ProbeFailures.Load(); n != 1 {
		t.Errorf("ProbeFailures %d, want 1", n)
	}
	if e := c.Endpoints()[1].ProbeError; e == "" {
		t.Error("the dead endpoint shows no probe error")
	}
	c.sweepOutliers(te + 30*time.Second)
	if got := states(c); !slices.Equal(got, []string{"degraded", "ejected", "healthy"}) {
		t.Fatalf("states %v after the ejection time, want the probed one back", got)
	}
}

// TestIntervalJudgement: at the end of an interval, failure rate and
// latency eject or degrade an endpoint with enough calls.
func TestIntervalJudgement(t *testing.T) {
	type calls struct {
		n, failed int
		rtt       time.Duration
	}
	ok := func(n int, rtt time.Duration) calls { return calls{n: n, rtt: rtt} }
	tests := []struct {
		name          string
		failPercent   int
		latencyFactor float64
		eps           []calls
		want          []string
		reason        string // in endpoint 0's reason
	}{
		{"failure rate ejects", 50, 0, []calls{{10, 6, time.Millisecond}, ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"ejected", "healthy", "healthy"}, "60% of 10 calls failed in 10s (failure_percent 50)"},
		{"half the failure rate degrades", 50, 0, []calls{{10, 3, time.Millisecond}, ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"degraded", "healthy", "healthy"}, "30% of 10 calls failed"},
		{"under half the failure rate", 50, 0, []calls{{10, 2, time.Millisecond}, ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"healthy", "healthy", "healthy"}, ""},
		{"too few calls to judge", 50, 0, []calls{{9, 9, time.Millisecond}, ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"healthy", "healthy", "healthy"}, ""},
		{"50x slower ejects", 0, 5, []calls{ok(10, 50*time.Millisecond), ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"ejected", "healthy", "healthy"}, "average latency 50ms is 50.0x the others' median 1ms (latency_factor 5)"},
		{"3x slower degrades", 0, 5, []calls{ok(10, 3*time.Millisecond), ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"degraded", "healthy", "healthy"}, "3.0x the others' median"},
		{"2x slower is fine", 0, 5, []calls{ok(10, 2*time.Millisecond), ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"healthy", "healthy", "healthy"}, ""},
		{"slow with too few calls", 0, 5, []calls{ok(9, 50*time.Millisecond), ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"healthy", "healthy", "healthy"}, ""},
		{"one other to compare with", 0, 5, []calls{ok(10, 50*time.Millisecond), ok(10, time.Millisecond), ok(9, time.Millisecond)},
			[]string{"ejected", "healthy", "healthy"}, "latency_factor 5"},
		{"none to compare with", 0, 5, []calls{ok(10, 50*time.Millisecond), ok(9, time.Millisecond), ok(9, time.Millisecond)},
			[]string{"healthy", "healthy", "healthy"}, ""},
		{"failing and slow: failure rate first", 50, 5, []calls{{10, 10, 50 * time.Millisecond}, ok(10, time.Millisecond), ok(10, time.Millisecond)},
			[]string{"ejected", "healthy", "healthy"}, "100% of 10 calls failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := odConfig()
			cfg.ConsecutiveFailures = 100 // failures in a row are not what this judges
			cfg.FailurePercent, cfg.LatencyFactor = tt.failPercent, tt.latencyFactor
			c, stats := newODCluster(t, shortDir(t), len(tt.eps), cfg)
			t0 := Now()
			c.sweepOutliers(t0) // starts the first interval
			for i, e := range tt.eps {
				for k := range e.n {
					endpointAt(c, i).record(k < e.failed, e.rtt)
				}
			}
			c.sweepOutliers(t0 + 10*time.Second - time.Nanosecond)
			if got := states(c); !slices.Equal(got, []string{"healthy", "healthy", "healthy"}) {
				t.Fatalf("states %v before the interval ended", got)
			}
			c.sweepOutliers(t0 + 10*time.Second)
			st := c.Endpoints()
			if got := states(c); !slices.Equal(got, tt.want) {
				t.Fatalf("states %v, want %v (reason %q)", got, tt.want, st[0].Reason)
			}
			if !strings.Contains(st[0].Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", st[0].Reason, tt.reason)
			}
			if tt.want[0] == "ejected" {
				if n := stats.Ejections.Load(); n != 1 {
					t.Errorf("Ejections %d, want 1", n)
				}
				if got := picks(c, 60); got[0] != 0 {
					t.Errorf("picks %v: the ejected endpoint was picked", got)
				}
			}
		})
	}
}

// TestDegradedEndpointRecovers: an endpoint down-weighted by its failure
// rate is healthy again after an interval without failures, whether or
// not the consecutive-failures check is on (0 turns it off).
func TestDegradedEndpointRecovers(t *testing.T) {
	for _, consecutive := range []int{5, 0} {
		t.Run(fmt.Sprintf("consecutive_failures %d", consecutive), func(t *testing.T) {
			cfg := odConfig()
			cfg.ConsecutiveFailures, cfg.FailurePercent = consecutive, 50
			c, _ := newODCluster(t, shortDir(t), 3, cfg)
			t0 := Now()
			c.sweepOutliers(t0)
			const F, T = true, false
			results(c, 0, F, T, T, F, T, T, F, T, T, T) // 30%, never two in a row
			results(c, 1, repeat(false, 10)...)
			results(c, 2, repeat(false, 10)...)
			c.sweepOutliers(t0 + 10*time.Second)
			if got := states(c); !slices.Equal(got, []string{"degraded", "healthy", "healthy"}) {
				t.Fatalf("states %v after 30%% failures", got)
			}
			for i := range 3 {
				results(c, i, repeat(false, 10)...)
			}
			c.sweepOutliers(t0 + 20*time.Second)
			if got := states(c); !slices.Equal(got, []string{"healthy", "healthy", "healthy"}) {
				t.Errorf("states %v after an interval without failures, want all healthy (endpoint 0: %q)", got, c.Endpoints()[0].Reason)
			}
		})
	}
}

// TestRefusedEjectionIsRetried: an endpoint kept in by
// max_ejection_percent that goes on failing in a row is ejected once
// ejecting it is allowed again (Envoy restarts the count after every
// ejection attempt, made or refused, for this reason).
func TestRefusedEjectionIsRetried(t *testing.T) {
	c, stats := newODCluster(t, shortDir(t), 2, odConfig()) // max_ejection_percent 50: one of two
	te := Now()
	c.sweepOutliers(te)
	results(c, 0, repeat(true, 5)...)
	c.sweepOutliers(te)
	results(c, 1, repeat(true, 5)...)
	c.sweepOutliers(te)
	if got := states(c); !slices.Equal(got, []string{"ejected", "degraded"}) || stats.EjectionsRefused.Load() != 1 {
		t.Fatalf("states %v, EjectionsRefused %d; want the second ejection refused", got, stats.EjectionsRefused.Load())
	}
	endpointAt(c, 0).probeResult(true, "")
	c.sweepOutliers(te + 30*time.Second)
	if got := states(c); !slices.Equal(got, []string{"degraded", "degraded"}) {
		t.Fatalf("states %v, want the first endpoint back", got)
	}
	results(c, 1, repeat(true, 5)...) // 10 failures in a row now
	c.sweepOutliers(te + 30*time.Second + time.Millisecond)
	if got := states(c); !slices.Equal(got, []string{"degraded", "ejected"}) {
		t.Errorf("states %v after 5 more failures in a row with no endpoint ejected, want the failing one ejected (reason %q)",
			got, c.Endpoints()[1].Reason)
	}
}
