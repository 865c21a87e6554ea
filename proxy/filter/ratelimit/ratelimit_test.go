package ratelimit

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// t0 is an arbitrary instant on the upstream clock, well after its start.
const t0 = time.Hour

// burstAt calls allow n times at one instant and counts the admitted.
func burstAt(l *limiter, caller string, now time.Duration, n int) int {
	ok := 0
	for range n {
		if l.allow([]byte(caller), now) {
			ok++
		}
	}
	return ok
}

func TestBurstAtOneInstant(t *testing.T) {
	tests := []struct {
		rl        config.RateLimit
		wantBurst int
	}{
		{config.RateLimit{RequestsPerSecond: 100, Burst: 1}, 1},
		{config.RateLimit{RequestsPerSecond: 100, Burst: 7}, 7},
		{config.RateLimit{RequestsPerSecond: 3, Burst: 50}, 50},
		{config.RateLimit{RequestsPerSecond: 1e6, Burst: 1000}, 1000},
		{config.RateLimit{RequestsPerSecond: 1000}, 100}, // default: a tenth of a second
		{config.RateLimit{RequestsPerSecond: 0.5}, 1},    // default: at least 1
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.rl), func(t *testing.T) {
			l := newLimiter(tt.rl)
			if got := burstAt(l, "", t0, 3*tt.wantBurst+10); got != tt.wantBurst {
				t.Errorf("%d calls passed at one instant, want the burst %d", got, tt.wantBurst)
			}
		})
	}
}

// TestRateOverOneSecond: evenly spaced arrivals at three times the rate
// for one second pass the burst and then the rate.
func TestRateOverOneSecond(t *testing.T) {
	tests := []config.RateLimit{
		{RequestsPerSecond: 10, Burst: 1},
		{RequestsPerSecond: 100, Burst: 5},
		{RequestsPerSecond: 1000, Burst: 20},
		{RequestsPerSecond: 7, Burst: 3},
		{RequestsPerSecond: 333},
	}
	for _, rl := range tests {
		t.Run(fmt.Sprintf("%+v", rl), func(t *testing.T) {
			l := newLimiter(rl)
			arrivals := int64(3 * rl.RequestsPerSecond)
			passed := 0
			for k := range arrivals {
				if l.allow(nil, t0+time.Duration(k*int64(time.Second)/arrivals)) {
					passed++
				}
			}
			want := int(rl.RequestsPerSecond) + rl.BurstOrDefault()
			if passed < want-1 || passed > want+1 {
				t.Errorf("%d of %d calls passed in a second, want %d ± 1 (rate %g + burst %d)",
					passed, arrivals, want, rl.RequestsPerSecond, rl.BurstOrDefault())
			}
		})
	}
}

func TestCallersBuckets(t *testing.T) {
	const burst = 3
	tests := []struct {
		name      string
		perCaller bool
		callers   []string // each calls 2*burst times, in turn, at one instant
		want      []int    // admitted per caller
	}{
		{"per caller: independent", true, []string{"a", "b", "c"}, []int{burst, burst, burst}},
		{"per caller: no caller shares one", true, []string{"", "a", ""}, []int{burst, burst, 0}},
		{"not per caller: all share", false, []string{"a", "b", ""}, []int{burst, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(config.RateLimit{RequestsPerSecond: 10, Burst: burst, PerCaller: tt.perCaller})
			for i, c := range tt.callers {
				if got := burstAt(l, c, t0, 2*burst); got != tt.want[i] {
					t.Errorf("caller %q: %d passed, want %d", c, got, tt.want[i])
				}
			}
		})
	}
	// nil and empty from-service are the same caller.
	l := newLimiter(config.RateLimit{RequestsPerSecond: 10, Burst: 1, PerCaller: true})
	if !l.allow(nil, t0) || l.allow([]byte{}, t0) {
		t.Error("nil and empty from-service do not share a bucket")
	}
	if n := len(*l.callers.Load()); n != 0 {
		t.Errorf("calls with no caller made %d per-caller buckets", n)
	}
}

// TestMaxCallers: past MaxCallers callers, new callers share the bucket of
// calls with no caller; known callers keep theirs.
func TestMaxCallers(t *testing.T) {
	l := newLimiter(config.RateLimit{RequestsPerSecond: 10, Burst: 2, PerCaller: true})
	// Fill to one below the limit directly: adding MaxCallers callers one
	// by one copies the map each time.
	m := make(map[string]*bucket, MaxCallers)
	for i := range MaxCallers - 1 {
		m[fmt.Sprint("app", i)] = new(bucket)
	}
	l.callers.Store(&m)

	if got := burstAt(l, "last", t0, 5); got != 2 {
		t.Fatalf("the last caller under the limit: %d passed, want its own burst 2", got)
	}
	if n := len(*l.callers.Load()); n != MaxCallers {
		t.Fatalf("%d callers, want %d", n, MaxCallers)
	}
	if got := burstAt(l, "extra1", t0, 1); got != 1 {
		t.Fatalf("first caller over the limit: %d passed, want 1", got)
	}
	if got := burstAt(l, "extra2", t0, 5); got != 1 {
		t.Errorf("second caller over the limit: %d passed, want 1 (the rest of the shared burst)", got)
	}
	if got := burstAt(l, "", t0, 1); got != 0 {
		t.Errorf("a call with no caller passed: callers over the limit must share its bucket")
	}
	if got := burstAt(l, "app7", t0, 5); got != 2 {
		t.Errorf("a known caller: %d passed, want its own burst 2", got)
	}
	if n := len(*l.callers.Load()); n != MaxCallers {
		t.Errorf("%d callers after callers over the limit called, want %d", n, MaxCallers)
	}
}

func TestAllowAllocatesNothing(t *testing.T) {
	for _, perCaller := range []bool{false, true} {
		l := newLimiter(config.RateLimit{RequestsPerSecond: 1e9, Burst: 1 << 20, PerCaller: perCaller})
		caller := []byte("payments")
		l.allow(caller, t0) // the caller's first call makes its bucket
		now := t0
		if n := testing.AllocsPerRun(1000, func() {
			now += time.Microsecond
			l.allow(caller, now)
		}); n != 0 {
			t.Errorf("per caller %v: allow allocates %v times per call", perCaller, n)
		}
	}
}

// TestConcurrentAllowNeverOverAdmits: goroutines calling at one instant
// share the burst exactly, per caller, while callers are being added.
func TestConcurrentAllowNeverOverAdmits(t *testing.T) {
	const (
		burst      = 50
		goroutines = 8
		callers    = 20
		perCaller  = 40 // calls of each caller by each goroutine
	)
	l := newLimiter(config.RateLimit{RequestsPerSecond: 100, Burst: burst, PerCaller: true})
	var admitted [callers + 1]atomic.Int64 // the last: no caller
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := range perCaller * (callers + 1) {
				c := (k + g) % (callers + 1)
				name := []byte(nil)
				if c < callers {
					name = []byte(fmt.Sprint("app", c))
				}
				if l.allow(name, t0) {
					admitted[c].Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	for c := range admitted {
		if n := admitted[c].Load(); n != burst {
			t.Errorf("caller %d: %d of %d calls admitted at one instant, want the burst %d", c, n, goroutines*perCaller, burst)
		}
	}

	// Spread over time: never more than the burst plus the rate.
	l = newLimiter(config.RateLimit{RequestsPerSecond: 1000, Burst: 10})
	var clock atomic.Int64 // ns after t0
	var total atomic.Int64
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				now := t0 + time.Duration(clock.Add(int64(100*time.Microsecond)))
				if l.allow(nil, now) {
					total.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// 16000 arrivals at 10000/s span 1.6 s: at most 1600 + 10 pass.
	span := time.Duration(clock.Load())
	limit := int64(span.Seconds()*1000) + 10 + 1
	if n := total.Load(); n > limit || n < limit*9/10 {
		t.Errorf("%d calls passed over %s at 1000/s burst 10, want at most %d (and near it)", n, span, limit)
	}
}

// fakeDown records the calls the filter rejects.
type fakeDown struct {
	mu    sync.Mutex
	kinds []codec.ErrorKind
	msgs  []string
}

func (d *fakeDown) Respond([]byte, *codec.Header)          {}
func (d *fakeDown) Fail(upstream.Origin, upstream.Failure) {}
func (d *fakeDown) Reject(_ *codec.Header, kind codec.ErrorKind, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kinds = append(d.kinds, kind)
	d.msgs = append(d.msgs, msg)
}

func request(t *testing.T, from string, arrived time.Duration, down filter.Downstream) *filter.Request {
	t.Helper()
	fh := &codec.FrameHeader{SeqID: 1}
	if from != "" {
		fh.IntInfo = []codec.IntKV{{Key: codec.IntKeyFromService, Value: from}}
	}
	b, start, err := codec.BeginFrame(nil, fh)
	if err != nil {
		t.Fatal(err)
	}
	b = thrift.Binary.AppendMessageBegin(b, "Pay", thrift.CALL, 1)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	r := &filter.Request{Frame: b, Arrived: arrived, Down: down}
	if err := r.Header.Decode(b); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFilterRejectsOverTheLimit(t *testing.T) {
	route := &config.Route{Service: "pay", Method: "Pay", Cluster: "c",
		RateLimit: &config.RateLimit{RequestsPerSecond: 10, Burst: 2, PerCaller: true}}
	if !Def.Configured(route, nil) || Def.Configured(&config.Route{}, nil) {
		t.Fatal("Configured does not follow route.RateLimit")
	}
	env := &filter.Env{Listener: "in", Counters: &filter.Counters{}, State: &filter.State{}}
	down := &fakeDown{}
	passed := 0
	next := filter.HandlerFunc(func(*filter.Request) { passed++ })
	serve := func(from string, n int, at time.Duration) {
		env.State.Begin(env.Listener)
		mw, fe := build(route, env)
		if fe != nil {
			t.Fatal(fe)
		}
		env.State.End(env.Listener)
		h := mw(next)
		for range n {
			h.Serve(request(t, from, at, down))
		}
	}
	limited := env.Counters.Get("rate_limit.limited")

	serve("shop", 3, t0)
	if passed != 2 || len(down.kinds) != 1 || limited.Load() != 1 {
		t.Fatalf("3 calls with burst 2: %d passed, %d rejected, counter %d", passed, len(down.kinds), limited.Load())
	}
	if down.kinds[0] != codec.KindRateLimited {
		t.Errorf("rejected with kind %v, want %v", down.kinds[0], codec.KindRateLimited)
	}
	for _, want := range []string{"rate limited", "pay/Pay", "listener in", "10 requests per second per caller", "burst 2"} {
		if !strings.Contains(down.msgs[0], want) {
			t.Errorf("message %q does not contain %q", down.msgs[0], want)
		}
	}

	// A rebuild with the same settings keeps the buckets: shop stays
	// limited; another caller has its own bucket.
	serve("shop", 1, t0)
	serve("web", 2, t0)
	if passed != 4 || len(down.kinds) != 2 || limited.Load() != 2 {
		t.Fatalf("after a rebuild: %d passed, %d rejected, counter %d; want 4, 2, 2", passed, len(down.kinds), limited.Load())
	}
	// A tenth of a second later one more call of shop fits.
	serve("shop", 2, t0+100*time.Millisecond)
	if passed != 5 || limited.Load() != 3 {
		t.Errorf("0.1 s later: %d passed, counter %d; want 5, 3", passed, limited.Load())
	}
}

// With mutual TLS the bucket is the certificate's identity's: a caller that
// writes another's from-service header still spends its own bucket.
func TestPerCallerUsesTheCertificateIdentity(t *testing.T) {
	route := &config.Route{Service: "pay", Method: "Pay", Cluster: "c",
		RateLimit: &config.RateLimit{RequestsPerSecond: 10, Burst: 1, PerCaller: true}}
	env := &filter.Env{Listener: "in", Counters: &filter.Counters{}, State: &filter.State{}}
	mw, fe := build(route, env)
	if fe != nil {
		t.Fatal(fe)
	}
	passed := 0
	h := mw(filter.HandlerFunc(func(*filter.Request) { passed++ }))
	down := &fakeDown{}
	for _, peer := range []string{"spiffe://mesh.local/app/shop", "spiffe://mesh.local/app/batch"} {
		r := request(t, "shop", t0, down) // both claim to be shop
		r.Peer = peer
		h.Serve(r)
	}
	if passed != 2 {
		t.Fatalf("%d of 2 calls from two identities passed with burst 1 each", passed)
	}
	r := request(t, "someone-else", t0, down)
	r.Peer = "spiffe://mesh.local/app/shop"
	h.Serve(r)
	if passed != 2 || len(down.kinds) != 1 {
		t.Fatalf("shop's second call under another header passed (%d passed)", passed)
	}
	r = request(t, "shop", t0, down)
	r.Peer = "spiffe://mesh.local/app/shop"
	l := lim(t, env, route)
	if n := testing.AllocsPerRun(100, func() { _ = l.allow(callerOf(r), t0) }); n != 0 {
		t.Errorf("%v allocations per call by identity", n)
	}
}

func lim(t *testing.T, env *filter.Env, route *config.Route) *limiter {
	t.Helper()
	rl := *route.RateLimit
	key := fmt.Sprintf("rate_limit %s/%s %v %+v", route.Service, route.Method, route.Match(), rl)
	return env.State.Keep(env.Listener, key, func() any { t.Fatal("no limiter kept"); return nil }).(*limiter)
}
