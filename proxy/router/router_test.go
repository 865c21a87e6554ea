package router

import (
	"sync"
	"testing"

	"github.com/octomesh/octomesh/codec"
)

// call is the header of a call to service and method, without a frame.
func call(service, method string) *codec.Header {
	return &codec.Header{Service: []byte(service), Method: []byte(method)}
}

// tagged decodes a frame for service and method carrying string info kv.
func tagged(t testing.TB, service, method string, kv ...codec.StrKV) (*codec.Header, []byte) {
	t.Helper()
	fh := codec.FrameHeader{IntInfo: []codec.IntKV{{Key: codec.IntKeyToService, Value: service}, {Key: codec.IntKeyToMethod, Value: method}}, StrInfo: kv}
	b, start, err := codec.BeginFrame(nil, &fh)
	if err != nil {
		t.Fatal(err)
	}
	b = codec.AppendException(b, codec.PayloadThrift, []byte(method), 1, 0, nil) // any payload with a message header
	codec.EndFrame(b, start)
	var h codec.Header
	if err := h.Decode(b); err != nil {
		t.Fatal(err)
	}
	return &h, b
}

func TestMatchedRoutesWinAcrossBuckets(t *testing.T) {
	tbl, err := NewTable([]Route[string]{
		{Service: "echo", Method: "Echo", Target: "plain-exact"},
		{Service: "echo", Method: Any, Match: [][2]string{{"RPC_PERSIST_lane", "canary"}}, Target: "canary"},
		{Service: "echo", Method: Any, Match: [][2]string{{"RPC_PERSIST_lane", "canary"}, {"user", "7"}}, Target: "never: the one above comes first"},
		{Service: Any, Method: Any, Match: [][2]string{{"om-test", "1"}}, Target: "test-traffic"},
		{Service: Any, Method: Any, Target: "default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		service, method string
		kv              []codec.StrKV
		want            string
	}{
		{"echo", "Echo", nil, "plain-exact"},
		{"echo", "Echo", []codec.StrKV{{Key: "RPC_PERSIST_lane", Value: "canary"}}, "canary"},
		{"echo", "Echo", []codec.StrKV{{Key: "RPC_PERSIST_lane", Value: "blue"}}, "plain-exact"},
		{"echo", "Other", []codec.StrKV{{Key: "RPC_PERSIST_lane", Value: "canary"}, {Key: "user", Value: "7"}}, "canary"},
		{"echo", "Echo", []codec.StrKV{{Key: "om-test", Value: "1"}}, "test-traffic"},
		{"other", "M", []codec.StrKV{{Key: "RPC_PERSIST_lane", Value: "canary"}}, "default"},
	}
	for _, tc := range cases {
		h, frame := tagged(t, tc.service, tc.method, tc.kv...)
		if r := tbl.Lookup(h, frame); r == nil || r.Target != tc.want {
			t.Errorf("Lookup(%s.%s %v) = %v, want %s", tc.service, tc.method, tc.kv, r, tc.want)
		}
	}
	h, frame := tagged(t, "echo", "Echo", codec.StrKV{Key: "RPC_PERSIST_lane", Value: "canary"})
	if a := testing.AllocsPerRun(1000, func() { _ = tbl.Lookup(h, frame) }); a != 0 {
		t.Fatalf("a matching Lookup allocates %.1f", a)
	}
}

func TestLookupOrder(t *testing.T) {
	tbl, err := NewTable([]Route[string]{
		{Service: "echo", Method: "Echo", Target: "echo-exact"},
		{Service: "echo", Method: Any, Target: "echo-any"},
		{Service: Any, Method: "Ping", Target: "ping-any-service"},
		{Service: Any, Method: Any, Target: "default"},
		{Service: "only", Method: "M", Target: "only-m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ service, method, want string }{
		{"echo", "Echo", "echo-exact"},
		{"echo", "Other", "echo-any"},
		{"echo", "Ping", "echo-any"}, // the service's own routes win
		{"x", "Ping", "ping-any-service"},
		{"x", "y", "default"},
		{"", "", "default"},
		{"only", "M", "only-m"},
		{"only", "N", "default"},
	}
	for _, tc := range cases {
		r := tbl.Lookup(call(tc.service, tc.method), nil)
		if r == nil || r.Target != tc.want {
			t.Errorf("Lookup(%q, %q) = %v, want %s", tc.service, tc.method, r, tc.want)
		}
	}
	noDefault, _ := NewTable([]Route[string]{{Service: "a", Method: Any, Target: "a"}})
	if r := noDefault.Lookup(call("b", "m"), nil); r != nil {
		t.Errorf("unmatched lookup returned %v", r)
	}
}

func TestDuplicateRoutes(t *testing.T) {
	for _, routes := range [][]Route[int]{
		{{Service: "a", Method: "m"}, {Service: "a", Method: "m"}},
		{{Service: Any, Method: Any}, {Service: Any, Method: Any}},
		{{Service: "a", Method: Any}, {Service: "a", Method: Any}},
		{{Service: "a", Method: Any, Match: [][2]string{{"k", "v"}}}, {Service: "a", Method: Any, Match: [][2]string{{"k", "v"}}}},
	} {
		if _, err := NewTable(routes); err == nil {
			t.Errorf("duplicate routes %v accepted", routes)
		}
	}
}

func TestLookupAllocatesNothing(t *testing.T) {
	tbl, _ := NewTable([]Route[int]{{Service: "echo", Method: "Echo", Target: 1}, {Service: Any, Method: Any, Target: 2}})
	h := call("echo", "Echo")
	if a := testing.AllocsPerRun(1000, func() { _ = tbl.Lookup(h, nil) }); a != 0 {
		t.Fatalf("Lookup allocates %.1f", a)
	}
}

func TestSwapWhileReading(t *testing.T) {
	var r Router[int]
	t1, _ := NewTable([]Route[int]{{Service: Any, Method: Any, Target: 1}})
	t2, _ := NewTable([]Route[int]{{Service: Any, Method: Any, Target: 2}})
	r.Store(t1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got := r.Load().Lookup(&codec.Header{}, nil).Target; got != 1 && got != 2 {
					t.Errorf("saw target %d", got)
					return
				}
			}
		}()
	}
	for i := 0; i < 1000; i++ {
		if i%2 == 0 {
			r.Store(t2)
		} else {
			r.Store(t1)
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkLookup(b *testing.B) {
	routes := []Route[int]{{Service: Any, Method: Any}}
	for i := 0; i < 100; i++ {
		routes = append(routes, Route[int]{Service: "svc" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Method: Any, Target: i})
	}
	tbl, _ := NewTable(routes)
	h := call("svcda", "Echo")
	b.ReportAllocs()
	for b.Loop() {
		_ = tbl.Lookup(h, nil)
	}
}
