package scanner

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/scanner/scannertest"
	"github.com/octomesh/octomesh/cp/store"
)

// newFakeSidecar starts a fake sidecar (scannertest) for a test.
func newFakeSidecar(t testing.TB) *fakeSidecar {
	f, err := scannertest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Kill)
	return &fakeSidecar{f}
}

type fakeSidecar struct{ *scannertest.Sidecar }

func (f *fakeSidecar) addr() string { return f.Addr() }

const (
	answerOK        = scannertest.OK
	answerFail      = scannertest.Fail
	answerFailFirst = scannertest.FailFirst
)

// openStore starts an embedded etcd for a test.
func openStore(t testing.TB) *store.Store {
	st, err := store.Open(store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func register(t testing.TB, st *store.Store, service, addr, zone string) registry.LeaseID {
	t.Helper()
	lease, err := st.Register(context.Background(), registry.Instance{Service: service, App: service, Address: addr, Weight: 1, Zone: zone}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return lease
}

// marks follows the registry's health marks for a test.
type marks struct {
	mu  sync.Mutex
	cur map[string]registry.HealthMark
}

func watchMarks(t testing.TB, st *store.Store) *marks {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := &marks{}
	go st.WatchHealthMarks(ctx, func(cur map[string]registry.HealthMark) {
		m.mu.Lock()
		m.cur = cur
		m.mu.Unlock()
	})
	return m
}

func (m *marks) get(service, addr string) (registry.HealthMark, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.cur[store.HealthKey(service, addr)]
	return v, ok
}

func (m *marks) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cur)
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (the machine may be busy).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
