package filter

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// rejection is one call a fakeDown answered.
type rejection struct {
	seqID int32
	kind  codec.ErrorKind
	msg   string
}

// fakeDown is a Downstream that records the calls it is asked to reject.
type fakeDown struct {
	mu       sync.Mutex
	rejected []rejection
}

func (d *fakeDown) Respond([]byte, *codec.Header)          {}
func (d *fakeDown) Fail(upstream.Origin, upstream.Failure) {}
func (d *fakeDown) Reject(h *codec.Header, kind codec.ErrorKind, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rejected = append(d.rejected, rejection{h.SeqID, kind, msg})
}

// callFrame is a Thrift call frame with TTHeader and payload seqID seq.
func callFrame(t *testing.T, seq int32) []byte {
	t.Helper()
	b, start, err := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: seq, StrInfo: []codec.StrKV{{Key: "k", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	b = thrift.Binary.AppendMessageBegin(b, "Echo", thrift.CALL, seq)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	return b
}

func newRequest(t *testing.T, seq int32, down Downstream) *Request {
	t.Helper()
	r := &Request{Frame: callFrame(t, seq), Down: down, Arrived: 12345}
	if err := r.Header.Decode(r.Frame); err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeDef is a filter configured by a route whose Headers hold its name;
// its middleware appends its name to *log and passes the call on.
func fakeDef(name string, log *[]string) Def {
	return Def{
		Name:     name,
		Counters: []string{name + ".count"},
		Configured: func(r *config.Route, _ *Env) bool {
			_, ok := r.Headers[name]
			return ok
		},
		Build: func(r *config.Route, _ *Env) (Middleware, *config.FieldError) {
			if r.Headers[name] == "bad" {
				return nil, &config.FieldError{Field: name + ".setting", Msg: "bad"}
			}
			return func(next Handler) Handler {
				return HandlerFunc(func(req *Request) {
					*log = append(*log, name)
					next.Serve(req)
				})
			}, nil
		},
	}
}

func routeWith(filters ...string) *config.Route {
	r := &config.Route{Service: "s", Method: "m", Cluster: "c", Headers: map[string]string{}}
	for _, f := range filters {
		r.Headers[f] = ""
	}
	return r
}

func TestNewRegistry(t *testing.T) {
	var log []string
	a, b := fakeDef("a", &log), fakeDef("b", &log)
	noBuild, noConfigured, noName := fakeDef("x", &log), fakeDef("y", &log), fakeDef("", &log)
	noBuild.Build = nil
	noConfigured.Configured = nil
	tests := []struct {
		name    string
		defs    []Def
		wantErr string // "" for success
	}{
		{"two filters", []Def{a, b}, ""},
		{"none", nil, ""},
		{"duplicate", []Def{a, b, a}, `"a" registered twice`},
		{"no name", []Def{a, noName}, "needs a name"},
		{"no Build", []Def{noBuild}, `"x"`},
		{"no Configured", []Def{a, noConfigured}, `"y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewRegistry(tt.defs...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				if g != nil {
					t.Error("a registry came with the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want, wantCounters []string
			for _, d := range tt.defs {
				want = append(want, d.Name)
				wantCounters = append(wantCounters, d.Counters...)
			}
			if got := g.Names(); !slices.Equal(got, want) {
				t.Errorf("Names %v, want %v", got, want)
			}
			if got := g.CounterNames(); !slices.Equal(got, wantCounters) {
				t.Errorf("CounterNames %v, want %v", got, wantCounters)
			}
		})
	}
}

func names(c Chain) []string {
	out := []string{}
	for _, d := range c {
		out = append(out, d.Name)
	}
	return out
}

func TestRegistryChain(t *testing.T) {
	var log []string
	// Registered out of alphabetical order: the default order is the
	// registration order, the list of known names in errors is sorted.
	g, err := NewRegistry(fakeDef("rate", &log), fakeDef("auth", &log), fakeDef("fault", &log))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		list      []string
		want      []string
		wantField string
		wantMsg   []string
	}{
		{name: "nil: all in default order", list: nil, want: []string{"rate", "auth", "fault"}},
		{name: "empty: all in default order", list: []string{}, want: []string{"rate", "auth", "fault"}},
		{name: "subset in list order", list: []string{"fault", "rate"}, want: []string{"fault", "rate"}},
		{name: "one", list: []string{"auth"}, want: []string{"auth"}},
		{name: "unknown", list: []string{"rate", "nope"}, wantField: "filters[1]",
			wantMsg: []string{`unknown filter "nope"`, "known: auth, fault, rate"}},
		{name: "unknown first", list: []string{"Rate"}, wantField: "filters[0]", wantMsg: []string{`"Rate"`, "known: auth, fault, rate"}},
		{name: "repeated", list: []string{"auth", "rate", "auth"}, wantField: "filters[2]", wantMsg: []string{`"auth"`, "twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fe := g.Chain(tt.list)
			if tt.wantField != "" {
				if fe == nil {
					t.Fatalf("chain %v accepted", names(c))
				}
				if fe.Field != tt.wantField {
					t.Errorf("field %q, want %q", fe.Field, tt.wantField)
				}
				for _, m := range tt.wantMsg {
					if !strings.Contains(fe.Msg, m) {
						t.Errorf("message %q does not contain %q", fe.Msg, m)
					}
				}
				return
			}
			if fe != nil {
				t.Fatal(fe)
			}
			if got := names(c); !slices.Equal(got, tt.want) {
				t.Errorf("chain %v, want %v", got, tt.want)
			}
		})
	}
}

func TestChainBuild(t *testing.T) {
	tests := []struct {
		name      string
		chain     []string // the listener's list
		route     *config.Route
		want      []string // filters a call meets, in order
		wantField string   // a FieldError on this field instead
	}{
		{name: "all configured, default order", chain: nil, route: routeWith("a", "b", "c"), want: []string{"a", "b", "c"}},
		{name: "list order, not registry order", chain: []string{"c", "a", "b"}, route: routeWith("a", "b", "c"), want: []string{"c", "a", "b"}},
		{name: "an unconfigured filter is skipped", chain: nil, route: routeWith("a", "c"), want: []string{"a", "c"}},
		{name: "nothing configured", chain: []string{"b"}, route: routeWith(), want: nil},
		{name: "configured but left out of the chain", chain: []string{"a", "c"}, route: routeWith("a", "b"), wantField: "b"},
		{name: "a filter objects to its settings", chain: nil, route: &config.Route{Headers: map[string]string{"a": "", "b": "bad"}}, wantField: "b.setting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			g, err := NewRegistry(fakeDef("a", &log), fakeDef("b", &log), fakeDef("c", &log))
			if err != nil {
				t.Fatal(err)
			}
			c, fe := g.Chain(tt.chain)
			if fe != nil {
				t.Fatal(fe)
			}
			last := HandlerFunc(func(*Request) { log = append(log, "last") })
			env := &Env{Listener: "l", Counters: &Counters{}, State: &State{}}
			h, fe := c.Build(g, tt.route, env, last)
			if tt.wantField != "" {
				if fe == nil || fe.Field != tt.wantField {
					t.Fatalf("error %v, want one on field %q", fe, tt.wantField)
				}
				if h != nil {
					t.Error("a handler came with the error")
				}
				return
			}
			if fe != nil {
				t.Fatal(fe)
			}
			if len(log) != 0 {
				t.Fatalf("building ran filters: %v", log)
			}
			h.Serve(newRequest(t, 1, &fakeDown{}))
			if want := append(slices.Clone(tt.want), "last"); !slices.Equal(log, want) {
				t.Errorf("call met %v, want %v", log, want)
			}
		})
	}
}

func TestRequestHold(t *testing.T) {
	down := &fakeDown{}
	r := newRequest(t, 7, down)
	orig := r.Header
	// The forwarder rewrote the frame's seqIDs before the filter held it
	// (a mirrored copy): the held Header still has the caller's.
	r.Header.SetSeqIDs(r.Frame, 1001, 2002)
	want := bytes.Clone(r.Frame)

	held := r.Hold()
	if !held.Held() || r.Held() {
		t.Fatalf("Held: copy %v, original %v", held.Held(), r.Held())
	}
	if held == r || &held.Frame[0] == &r.Frame[0] {
		t.Fatal("Hold did not copy the frame")
	}
	if held.Header.SeqID != 7 || held.Header.PayloadSeqID != 7 {
		t.Errorf("held seqIDs %d/%d, want the caller's 7/7", held.Header.SeqID, held.Header.PayloadSeqID)
	}
	if held.Arrived != r.Arrived || held.Down != r.Down {
		t.Errorf("held Arrived %v Down %v, want %v %v", held.Arrived, held.Down, r.Arrived, r.Down)
	}
	if string(held.Header.Method) != string(orig.Method) || string(held.Header.StrInfo(held.Frame, "k")) != "v" {
		t.Errorf("held header method %q info %q", held.Header.Method, held.Header.StrInfo(held.Frame, "k"))
	}
	// The connection reuses its buffer once Serve returns.
	for i := range r.Frame {
		r.Frame[i] = 0xff
	}
	if !bytes.Equal(held.Frame, want) {
		t.Fatal("the held frame changed with the original")
	}
	if again := held.Hold(); again != held {
		t.Error("holding a held request made another copy")
	}

	held.Release()
	if held.Held() || held.Frame != nil || held.Down != nil || held.Header.SeqID != 0 {
		t.Errorf("released request keeps its fields: held %v frame %d bytes seq %d", held.Held(), len(held.Frame), held.Header.SeqID)
	}

	// Release on a request that is not held does nothing.
	r2 := newRequest(t, 9, down)
	frame := r2.Frame
	r2.Release()
	if r2.Header.SeqID != 9 || r2.Down != down || &r2.Frame[0] != &frame[0] {
		t.Error("Release changed a request that is not held")
	}
}

func TestRequestReject(t *testing.T) {
	for _, hold := range []bool{false, true} {
		down := &fakeDown{}
		r := newRequest(t, 5, down)
		r.Header.SetSeqIDs(r.Frame, 99, 99)
		if hold {
			r = r.Hold()
		}
		r.Reject(codec.KindFault, "octomesh: no")
		if len(down.rejected) != 1 || down.rejected[0] != (rejection{5, codec.KindFault, "octomesh: no"}) {
			t.Errorf("hold %v: rejected %+v", hold, down.rejected)
		}
		if hold && (r.Held() || r.Frame != nil) {
			t.Error("Reject did not release a held request")
		}
	}
}

func TestStateKeepsAcrossRebuilds(t *testing.T) {
	s := &State{}
	made := 0
	mk := func() any { made++; return new(int) }
	var va, vb any
	type step struct {
		op       string // begin, keep, end
		listener string
		key      string
		same     *any // keep: the value must be this one (nil: a new one)
		save     *any // keep: remember the value
		wantLen  int  // after the step
	}
	for i, st := range []step{
		{op: "begin", listener: "l1", wantLen: 0},
		{op: "keep", listener: "l1", key: "k", save: &va, wantLen: 1},
		{op: "keep", listener: "l1", key: "gone", wantLen: 2},
		{op: "end", listener: "l1", wantLen: 2},
		// Another listener's keys are its own.
		{op: "begin", listener: "l2", wantLen: 2},
		{op: "keep", listener: "l2", key: "k", save: &vb, wantLen: 3},
		{op: "end", listener: "l2", wantLen: 3},
		// Rebuild of l1 keeping only k: same value, "gone" dropped, l2's kept.
		{op: "begin", listener: "l1", wantLen: 3},
		{op: "keep", listener: "l1", key: "k", same: &va, wantLen: 3},
		{op: "end", listener: "l1", wantLen: 2},
		{op: "begin", listener: "l1", wantLen: 2},
		{op: "keep", listener: "l1", key: "gone", wantLen: 3},
		{op: "keep", listener: "l1", key: "k", same: &va, wantLen: 3},
		{op: "end", listener: "l1", wantLen: 3},
		// A rebuild of l1 keeping nothing leaves l2 alone.
		{op: "begin", listener: "l1", wantLen: 3},
		{op: "end", listener: "l1", wantLen: 1},
		{op: "begin", listener: "l2", wantLen: 1},
		{op: "keep", listener: "l2", key: "k", same: &vb, wantLen: 1},
		{op: "end", listener: "l2", wantLen: 1},
	} {
		before := made
		switch st.op {
		case "begin":
			s.Begin(st.listener)
		case "end":
			s.End(st.listener)
		case "keep":
			v := s.Keep(st.listener, st.key, mk)
			if st.same != nil {
				if made != before || v != *st.same {
					t.Fatalf("step %d: Keep(%s, %s) made a new value", i, st.listener, st.key)
				}
			} else if made != before+1 {
				t.Fatalf("step %d: Keep(%s, %s) did not make a new value", i, st.listener, st.key)
			}
			if st.save != nil {
				*st.save = v
			}
		}
		if n := s.Len(); n != st.wantLen {
			t.Fatalf("step %d (%s %s %s): %d values kept, want %d", i, st.op, st.listener, st.key, n, st.wantLen)
		}
	}
	if va == vb {
		t.Error("two listeners share a value kept under the same key")
	}
}

func TestCounters(t *testing.T) {
	var c Counters
	a := c.Get("a")
	if c.Get("a") != a {
		t.Fatal("the same name gave another counter")
	}
	b := c.Get("b")
	if b == a {
		t.Fatal("two names share a counter")
	}
	a.Add(3)
	c.Get("a").Add(1)
	b.Add(1)
	var got []string
	c.Each(func(name string, v uint64) {
		got = append(got, fmt.Sprintf("%s=%d", name, v))
	})
	if want := []string{"a=4", "b=1"}; !slices.Equal(got, want) {
		t.Errorf("Each %v, want %v", got, want)
	}
}
