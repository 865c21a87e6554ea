package router

import (
	"sync"
	"testing"
)

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
		r := tbl.Lookup([]byte(tc.service), []byte(tc.method))
		if r == nil || r.Target != tc.want {
			t.Errorf("Lookup(%q, %q) = %v, want %s", tc.service, tc.method, r, tc.want)
		}
	}
	noDefault, _ := NewTable([]Route[string]{{Service: "a", Method: Any, Target: "a"}})
	if r := noDefault.Lookup([]byte("b"), []byte("m")); r != nil {
		t.Errorf("unmatched lookup returned %v", r)
	}
}

func TestDuplicateRoutes(t *testing.T) {
	for _, routes := range [][]Route[int]{
		{{Service: "a", Method: "m"}, {Service: "a", Method: "m"}},
		{{Service: Any, Method: Any}, {Service: Any, Method: Any}},
		{{Service: "a", Method: Any}, {Service: "a", Method: Any}},
	} {
		if _, err := NewTable(routes); err == nil {
			t.Errorf("duplicate routes %v accepted", routes)
		}
	}
}

func TestLookupAllocatesNothing(t *testing.T) {
	tbl, _ := NewTable([]Route[int]{{Service: "echo", Method: "Echo", Target: 1}, {Service: Any, Method: Any, Target: 2}})
	svc, m := []byte("echo"), []byte("Echo")
	if a := testing.AllocsPerRun(1000, func() { _ = tbl.Lookup(svc, m) }); a != 0 {
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
				if got := r.Load().Lookup(nil, nil).Target; got != 1 && got != 2 {
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
	svc, m := []byte("svcda"), []byte("Echo")
	b.ReportAllocs()
	for b.Loop() {
		_ = tbl.Lookup(svc, m)
	}
}
