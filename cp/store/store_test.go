package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

func startEtcd(t *testing.T) *Store {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	st, err := Open(Options{DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestRegisterWatchAndLeaseExpiry(t *testing.T) {
	st := startEtcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	updates := make(chan []registry.Instance, 16)
	go st.WatchService(ctx, "echo", func(l []registry.Instance) { updates <- l })
	next := func(want int) []registry.Instance {
		t.Helper()
		for {
			select {
			case l := <-updates:
				if len(l) == want {
					return l
				}
			case <-ctx.Done():
				t.Fatalf("no update with %d instances", want)
			}
		}
	}
	next(0)
	a := registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1, Zone: "z1"}
	la, err := st.Register(ctx, a, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b := a
	b.Address = "127.0.0.1:7002"
	lb, err := st.Register(ctx, b, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l := next(2); l[0].Address != a.Address || l[1].Zone != "z1" {
		t.Fatalf("instances %+v", l)
	}
	b.Weight = 5
	if err := st.Update(ctx, lb, b); err != nil {
		t.Fatal(err)
	}
	if l := next(2); l[1].Weight != 5 {
		t.Fatalf("after the weight change %+v", l)
	}
	// a's lease is not kept alive: it expires and a leaves.
	start := time.Now()
	if l := next(1); l[0].Address != b.Address {
		t.Fatalf("after expiry %+v", l)
	}
	t.Logf("lease of 2s expired after %v", time.Since(start).Round(10*time.Millisecond))
	if _, err := st.KeepAlive(ctx, la); !errors.Is(err, registry.ErrLeaseNotFound) {
		t.Fatalf("keepalive of an expired lease: %v", err)
	}
	if err := st.Revoke(ctx, lb); err != nil {
		t.Fatal(err)
	}
	next(0)
	list, err := st.Instances(ctx, "echo")
	if err != nil || len(list) != 0 {
		t.Fatalf("Instances = %v, %v", list, err)
	}
}

func TestWatchRoutes(t *testing.T) {
	st := startEtcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan *registry.AppRoutes, 8)
	go st.WatchRoutes(ctx, "web", func(r *registry.AppRoutes) { got <- r })
	if r := <-got; r != nil {
		t.Fatalf("initial routes %+v", r)
	}
	if err := st.PutRoutes(ctx, "web", []byte(`{"routes":[{"service":"echo","timeout":"1s"}]}`)); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r == nil || r.Routes[0].Cluster != "echo" || r.Routes[0].Method != "*" {
		t.Fatalf("routes %+v", r)
	}
	if err := st.PutRoutes(ctx, "web", []byte(`not json`)); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteRoutes(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r != nil {
		t.Fatalf("after delete %+v", r)
	}
	if st.Stats.BadValues.Load() != 1 {
		t.Errorf("bad values %d, want 1", st.Stats.BadValues.Load())
	}
}

func TestPolicyStoreAndWatch(t *testing.T) {
	st := startEtcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan *registry.ServicePolicy, 8)
	go st.WatchPolicy(ctx, "echo", func(p *registry.ServicePolicy) { got <- p })
	if p := <-got; p != nil {
		t.Fatalf("initial policy %+v", p)
	}
	value := `{"circuit_breaker":{"max_requests":10},"routes":[{"method":"Get","retry":{}}]}`
	if err := st.PutPolicy(ctx, "echo", []byte(value)); err != nil {
		t.Fatal(err)
	}
	p := <-got
	if p == nil || p.CircuitBreaker.MaxRequests != 10 || p.CircuitBreaker.MaxPending != 1024 ||
		p.Routes[0].Service != "echo" || p.Routes[0].Cluster != "echo" || p.Routes[0].Retry.Attempts != 2 {
		t.Fatalf("policy %+v (want it normalized, with the defaults)", p)
	}
	if b, err := st.Policy(ctx, "echo"); err != nil || string(b) != value {
		t.Fatalf("Policy = %s, %v", b, err)
	}
	// A value another tool wrote badly is skipped; the watch goes on. A
	// watch that starts on a bad value reports no policy, so that the
	// service does not wait for one.
	if err := st.PutPolicy(ctx, "echo", []byte(`{"circuit_breaker":{"max_request":1}}`)); err != nil {
		t.Fatal(err)
	}
	late := make(chan *registry.ServicePolicy, 8)
	go st.WatchPolicy(ctx, "echo", func(p *registry.ServicePolicy) { late <- p })
	if p := <-late; p != nil {
		t.Fatalf("a watch started on a bad value: %+v, want none", p)
	}
	if err := st.DeletePolicy(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if p := <-got; p != nil {
		t.Fatalf("after delete %+v", p)
	}
	if st.Stats.BadValues.Load() != 2 {
		t.Errorf("bad values %d, want 2 (one per watch)", st.Stats.BadValues.Load())
	}
	if p := <-late; p != nil {
		t.Fatalf("the late watch after delete %+v", p)
	}
	if b, err := st.Policy(ctx, "echo"); err != nil || b != nil {
		t.Fatalf("Policy after delete = %s, %v", b, err)
	}
}
