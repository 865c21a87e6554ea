package fault

import (
	"bytes"
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

// fakeDown records the calls the filter rejects.
type fakeDown struct {
	mu       sync.Mutex
	kinds    []codec.ErrorKind
	msgs     []string
	rejected chan struct{}
}

func newFakeDown() *fakeDown { return &fakeDown{rejected: make(chan struct{}, 1)} }

func (d *fakeDown) Respond([]byte, *codec.Header)          {}
func (d *fakeDown) Fail(upstream.Origin, upstream.Failure) {}
func (d *fakeDown) Reject(_ *codec.Header, kind codec.ErrorKind, msg string) {
	d.mu.Lock()
	d.kinds = append(d.kinds, kind)
	d.msgs = append(d.msgs, msg)
	d.mu.Unlock()
	select {
	case d.rejected <- struct{}{}:
	default:
	}
}

func (d *fakeDown) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.kinds)
}

// frame is a call frame carrying the string info kv (key, value, ...).
func frame(t *testing.T, seq int32, kv ...string) []byte {
	t.Helper()
	fh := &codec.FrameHeader{SeqID: seq}
	for i := 0; i+1 < len(kv); i += 2 {
		fh.StrInfo = append(fh.StrInfo, codec.StrKV{Key: kv[i], Value: kv[i+1]})
	}
	b, start, err := codec.BeginFrame(nil, fh)
	if err != nil {
		t.Fatal(err)
	}
	b = thrift.Binary.AppendMessageBegin(b, "Get", thrift.CALL, seq)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	return b
}

func request(t *testing.T, f []byte, down filter.Downstream) *filter.Request {
	t.Helper()
	r := &filter.Request{Frame: f, Down: down}
	if err := r.Header.Decode(f); err != nil {
		t.Fatal(err)
	}
	return r
}

func newEnv() *filter.Env {
	return &filter.Env{Listener: "in", Counters: &filter.Counters{}, State: &filter.State{}}
}

func handler(t *testing.T, f *config.Fault, env *filter.Env, next filter.Handler) filter.Handler {
	t.Helper()
	route := &config.Route{Service: "shop", Method: "Get", Cluster: "c", Fault: f}
	if !Def.Configured(route, nil) || Def.Configured(&config.Route{}, nil) {
		t.Fatal("Configured does not follow route.Fault")
	}
	mw, fe := build(route, env)
	if fe != nil {
		t.Fatal(fe)
	}
	return mw(next)
}

func TestAbortShares(t *testing.T) {
	tests := []struct {
		name      string
		fault     config.Fault
		calls     int
		wantAbort float64 // share of calls, percent
		tolerance float64 // percentage points
	}{
		{"abort 100%", config.Fault{Abort: &config.FaultAbort{Percent: 100}}, 2000, 100, 0},
		{"abort 0", config.Fault{Abort: &config.FaultAbort{Percent: 0}}, 2000, 0, 0},
		{"delay 0", config.Fault{Delay: &config.FaultDelay{Percent: 0, Duration: config.Duration(time.Hour)}}, 2000, 0, 0},
		{"abort 0, delay 0", config.Fault{Abort: &config.FaultAbort{}, Delay: &config.FaultDelay{Duration: config.Duration(time.Hour)}}, 2000, 0, 0},
		{"abort 30%", config.Fault{Abort: &config.FaultAbort{Percent: 30}}, 20000, 30, 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv()
			down := newFakeDown()
			passed := 0
			h := handler(t, &tt.fault, env, filter.HandlerFunc(func(*filter.Request) { passed++ }))
			f := frame(t, 1)
			for range tt.calls {
				h.Serve(request(t, f, down))
			}
			aborted := down.count()
			if aborted+passed != tt.calls {
				t.Fatalf("%d aborted + %d passed of %d calls", aborted, passed, tt.calls)
			}
			share := float64(aborted) * 100 / float64(tt.calls)
			if share < tt.wantAbort-tt.tolerance || share > tt.wantAbort+tt.tolerance {
				t.Errorf("%.2f%% aborted, want %g%% ± %g", share, tt.wantAbort, tt.tolerance)
			}
			for i, k := range down.kinds {
				if k != codec.KindFault {
					t.Fatalf("abort %d: kind %v, want %v", i, k, codec.KindFault)
				}
			}
			if aborted > 0 && !strings.Contains(down.msgs[0], "fault injected: route shop/Get of listener in") {
				t.Errorf("message %q", down.msgs[0])
			}
			if n := env.Counters.Get("fault.aborted").Load(); n != uint64(aborted) {
				t.Errorf("fault.aborted %d, want %d", n, aborted)
			}
			if n := env.Counters.Get("fault.delayed").Load(); n != 0 {
				t.Errorf("fault.delayed %d, want 0", n)
			}
		})
	}
}

func TestHeadersRestrictTheFault(t *testing.T) {
	fault := &config.Fault{Abort: &config.FaultAbort{Percent: 100}, Headers: map[string]string{"test": "1", "team": "qa"}}
	tests := []struct {
		name    string
		kv      []string
		aborted bool
	}{
		{"unmarked", nil, false},
		{"all marks", []string{"test", "1", "team", "qa"}, true},
		{"all marks and more", []string{"x", "y", "team", "qa", "test", "1"}, true},
		{"one mark missing", []string{"test", "1"}, false},
		{"wrong value", []string{"test", "2", "team", "qa"}, false},
		{"empty value", []string{"test", "", "team", "qa"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv()
			down := newFakeDown()
			passed := 0
			h := handler(t, fault, env, filter.HandlerFunc(func(*filter.Request) { passed++ }))
			h.Serve(request(t, frame(t, 1, tt.kv...), down))
			if got := down.count() == 1; got != tt.aborted || passed+down.count() != 1 {
				t.Errorf("aborted %v (passed %d), want aborted %v", got, passed, tt.aborted)
			}
			if tt.aborted && !strings.Contains(down.msgs[0], "marked team=qa, test=1") {
				t.Errorf("message %q does not name the marks", down.msgs[0])
			}
		})
	}
}

// heldCall is what the next handler saw of a delayed call.
type heldCall struct {
	at     time.Time
	held   bool
	frame  []byte
	seqID  int32
	sameAs bool // its Frame is the caller's buffer
}

func TestDelayHoldsTheCall(t *testing.T) {
	const delay = 50 * time.Millisecond
	env := newEnv()
	down := newFakeDown()
	orig := frame(t, 7, "test", "1")
	want := bytes.Clone(orig)
	got := make(chan heldCall, 1)
	var served atomic.Int32
	next := filter.HandlerFunc(func(r *filter.Request) {
		served.Add(1)
		got <- heldCall{at: time.Now(), held: r.Held(), frame: bytes.Clone(r.Frame), seqID: r.Header.SeqID, sameAs: &r.Frame[0] == &orig[0]}
		r.Release() // the forwarder releases a held request
	})
	h := handler(t, &config.Fault{Delay: &config.FaultDelay{Percent: 100, Duration: config.Duration(delay)}}, env, next)

	start := time.Now()
	h.Serve(request(t, orig, down))
	if served.Load() != 0 {
		t.Fatal("a delayed call was passed on at once")
	}
	// The caller's connection reuses its buffer once Serve returns.
	for i := range orig {
		orig[i] = 0
	}
	var c heldCall
	select {
	case c = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the delayed call was never passed on")
	}
	if waited := c.at.Sub(start); waited < delay {
		t.Errorf("passed on after %s, want at least %s", waited, delay)
	}
	if !c.held || c.sameAs {
		t.Errorf("passed on a request held %v, on the caller's buffer %v: want an owned copy", c.held, c.sameAs)
	}
	if !bytes.Equal(c.frame, want) || c.seqID != 7 {
		t.Errorf("the held frame changed with the caller's buffer (seqID %d)", c.seqID)
	}
	if n := env.Counters.Get("fault.delayed").Load(); n != 1 {
		t.Errorf("fault.delayed %d, want 1", n)
	}
	if down.count() != 0 {
		t.Error("a delay without abort rejected the call")
	}
}

// TestDelayThenAbort: as in Envoy, a delayed call may then be aborted; the
// answer comes after the delay and the call never reaches next.
func TestDelayThenAbort(t *testing.T) {
	const delay = 30 * time.Millisecond
	env := newEnv()
	down := newFakeDown()
	var served atomic.Int32
	h := handler(t, &config.Fault{
		Delay: &config.FaultDelay{Percent: 100, Duration: config.Duration(delay)},
		Abort: &config.FaultAbort{Percent: 100},
	}, env, filter.HandlerFunc(func(*filter.Request) { served.Add(1) }))
	start := time.Now()
	h.Serve(request(t, frame(t, 3), down))
	if down.count() != 0 {
		t.Fatal("aborted before the delay")
	}
	select {
	case <-down.rejected:
	case <-time.After(10 * time.Second):
		t.Fatal("the delayed call was never answered")
	}
	if waited := time.Since(start); waited < delay {
		t.Errorf("answered after %s, want at least %s", waited, delay)
	}
	down.mu.Lock()
	kind := down.kinds[0]
	down.mu.Unlock()
	if kind != codec.KindFault || served.Load() != 0 {
		t.Errorf("kind %v, passed on %d times; want %v and never", kind, served.Load(), codec.KindFault)
	}
	if d, a := env.Counters.Get("fault.delayed").Load(), env.Counters.Get("fault.aborted").Load(); d != 1 || a != 1 {
		t.Errorf("fault.delayed %d fault.aborted %d, want 1 and 1", d, a)
	}
}
