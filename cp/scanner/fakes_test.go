package scanner

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/cp/store"
)

// Modes of a fake sidecar's answer to a health frame.
const (
	answerOK        = iota
	answerFail      // health-fail: its app cannot serve
	answerNothing   // reads and never answers (a frozen process)
	answerFailFirst // fails on the first connection it accepted, OK on later ones (one scanner's path is broken)
)

// fakeSidecar answers TTHeader health frames on a loopback port.
type fakeSidecar struct {
	ln    net.Listener
	mode  atomic.Int32
	asked atomic.Uint64
	mu    sync.Mutex
	conns []net.Conn
}

func newFakeSidecar(t testing.TB) *fakeSidecar {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSidecar{ln: ln}
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *fakeSidecar) addr() string { return f.ln.Addr().String() }

func (f *fakeSidecar) close() {
	_ = f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
}

func (f *fakeSidecar) serve() {
	for n := 0; ; n++ {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		go f.conn(c, n == 0)
	}
}

func (f *fakeSidecar) conn(c net.Conn, first bool) {
	var h codec.Header
	buf := make([]byte, codec.MetaSize)
	for {
		if _, err := io.ReadFull(c, buf[:codec.MetaSize]); err != nil {
			return
		}
		size, err := codec.FrameSize(buf[:codec.MetaSize], 1<<16)
		if err != nil {
			return
		}
		frame := append(buf[:codec.MetaSize], make([]byte, size-codec.MetaSize)...)
		if _, err := io.ReadFull(c, frame[codec.MetaSize:]); err != nil {
			return
		}
		if h.Decode(frame) != nil || string(h.StrInfo(frame, codec.KeyControl)) != codec.ControlHealth {
			continue
		}
		f.asked.Add(1)
		kind := codec.ControlHealthOK
		switch f.mode.Load() {
		case answerFail:
			kind = codec.ControlHealthFail
		case answerNothing:
			continue
		case answerFailFirst:
			if first {
				kind = codec.ControlHealthFail
			}
		}
		if _, err := c.Write(codec.AppendControlFrameSeq(nil, kind, h.SeqID)); err != nil {
			return
		}
	}
}

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
