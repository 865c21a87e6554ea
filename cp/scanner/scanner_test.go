package scanner

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
)

func startScanner(t testing.TB, st *store.Store, id, zone string, tweak func(*Options)) *Scanner {
	t.Helper()
	o := Options{ID: id, Zone: zone, HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{st.Endpoints()},
		LeaseTTL: 2 * time.Second, Period: 400 * time.Millisecond, Timeout: 400 * time.Millisecond, Fall: 2, Rise: 2}
	if tweak != nil {
		tweak(&o)
	}
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func owned(scanners ...*Scanner) int64 {
	var n int64
	for _, s := range scanners {
		n += s.Stats.Owned.Load()
	}
	return n
}

// A sidecar that answers health-fail is marked down, for every service
// behind it, once a second scanner confirmed it; marked up after Rise good
// checks; and a new registration of an instance clears its mark.
func TestMarkDownConfirmedAndUp(t *testing.T) {
	st := openStore(t)
	m := watchMarks(t, st)
	f := newFakeSidecar(t)
	register(t, st, "echo", f.addr(), "z1")
	register(t, st, "greet", f.addr(), "z1")
	s1 := startScanner(t, st, "s1", "z1", nil)
	s2 := startScanner(t, st, "s2", "z1", nil)
	waitFor(t, "one owner of the address", func() bool { return owned(s1, s2) == 1 && f.Asked.Load() > 0 })

	f.SetMode(answerFail)
	waitFor(t, "both services marked down", func() bool {
		_, a := m.get("echo", f.addr())
		_, b := m.get("greet", f.addr())
		return a && b
	})
	mk, _ := m.get("echo", f.addr())
	if mk.Scanner == "" || mk.Confirmer == "" || mk.Scanner == mk.Confirmer || mk.Reason == "" {
		t.Fatalf("mark %+v: want two scanners and a reason", mk)
	}

	f.SetMode(answerOK)
	waitFor(t, "marks cleared", func() bool { return m.count() == 0 })

	// Down again, then the app registers anew: its mark goes with the
	// new registration.
	f.SetMode(answerFail)
	waitFor(t, "marked down again", func() bool { _, ok := m.get("echo", f.addr()); return ok })
	f.SetMode(answerOK)
	register(t, st, "echo", f.addr(), "z1")
	if _, err := st.Instances(context.Background(), "echo"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "echo's mark gone with its new registration", func() bool { _, ok := m.get("echo", f.addr()); return !ok })
}

// One scanner's path to a sidecar is broken (its kept connection gets
// failures); the second scanner sees the sidecar answer: nothing is marked.
func TestBrokenPathOfOneScannerMarksNothing(t *testing.T) {
	st := openStore(t)
	m := watchMarks(t, st)
	f := newFakeSidecar(t)
	f.SetMode(answerFailFirst)
	register(t, st, "echo", f.addr(), "z1")
	s1 := startScanner(t, st, "s1", "z1", nil)
	s2 := startScanner(t, st, "s2", "z1", nil)
	waitFor(t, "two refuted failures", func() bool { return s1.Stats.Refuted.Load()+s2.Stats.Refuted.Load() >= 2 })
	if n := m.count(); n != 0 {
		t.Fatalf("%d marks after refuted failures", n)
	}
}

// hangingScanner is a scanner's record whose HTTP server accepts and never
// answers: a scanner frozen with SIGSTOP.
func hangingScanner(t testing.TB, st *store.Store, id, zone string) *store.Membership {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	rec, _ := json.Marshal(scanner.Info{ID: id, Zone: zone, HTTP: ln.Addr().String()})
	mb, err := st.Hold(context.Background(), shardmap.ScannerKey(id), rec, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// The only possible confirmer is frozen: the owner's failures are not
// confirmed and nothing is marked; when the frozen scanner leaves, the
// owner is alone in its zone and confirms on a second connection.
func TestFrozenConfirmerMarksNothing(t *testing.T) {
	st := openStore(t)
	m := watchMarks(t, st)
	frozen := hangingScanner(t, st, "s0", "z1")
	ring := shardmap.NewRing([]string{"s0", "s1"})
	var f *fakeSidecar
	for f == nil || ring.Owner(f.addr()) != "s1" {
		f = newFakeSidecar(t)
	}
	register(t, st, "echo", f.addr(), "z1")
	f.SetMode(answerFail)
	s1 := startScanner(t, st, "s1", "z1", func(o *Options) { o.Timeout = 200 * time.Millisecond })
	waitFor(t, "an unconfirmed failure", func() bool { return s1.Stats.Unconfirmed.Load() >= 1 })
	if n := m.count(); n != 0 {
		t.Fatalf("%d marks without a confirmation", n)
	}
	if err := frozen.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "marked down, confirmed alone", func() bool { mk, ok := m.get("echo", f.addr()); return ok && mk.Confirmer == "s1" })
}

// A scanner that dies loses its share to the others when its lease runs
// out; started again under its id, it takes it back.
func TestShareMovesAndReturns(t *testing.T) {
	st := openStore(t)
	var all []*fakeSidecar
	for range 12 {
		f := newFakeSidecar(t)
		register(t, st, "echo", f.addr(), "z1")
		all = append(all, f)
	}
	s1 := startScanner(t, st, "s1", "z1", nil)
	s2 := startScanner(t, st, "s2", "z1", nil)
	// With 12 addresses the ring gives each scanner some (a fixed outcome
	// of the hash).
	waitFor(t, "every address owned once, by both", func() bool {
		return owned(s1, s2) == 12 && s1.Stats.Owned.Load() > 0 && s2.Stats.Owned.Load() > 0
	})
	before := s1.Stats.Owned.Load()
	s1.Abandon()
	waitFor(t, "s2 owns every address", func() bool { return s2.Stats.Owned.Load() == 12 })
	s1 = startScanner(t, st, "s1", "z1", nil)
	waitFor(t, "s1 has its share back", func() bool { return s1.Stats.Owned.Load() == before && owned(s1, s2) == 12 })
	// Another zone's scanner owns none of z1's addresses.
	s3 := startScanner(t, st, "s3", "z2", nil)
	time.Sleep(100 * time.Millisecond)
	if n := s3.Stats.Owned.Load(); n != 0 {
		t.Fatalf("a z2 scanner owns %d z1 addresses", n)
	}
}

// A pilot's check-now finds a failing sidecar long before the period
// would, and the double check marks it.
func TestFastPathCheck(t *testing.T) {
	st := openStore(t)
	m := watchMarks(t, st)
	f := newFakeSidecar(t)
	register(t, st, "echo", f.addr(), "z1")
	s1 := startScanner(t, st, "s1", "z1", func(o *Options) { o.Period, o.Fall = 10*time.Minute, 3 })
	waitFor(t, "the address owned", func() bool { return s1.Stats.Owned.Load() == 1 })
	f.SetMode(answerFail)
	c := scanner.NewClient(10 * time.Second)
	defer c.Close()
	if err := c.CheckNow(context.Background(), s1.Addr(), f.addr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "marked down by the fast path", func() bool { _, ok := m.get("echo", f.addr()); return ok })
	if _, err := c.Confirm(context.Background(), s1.Addr(), scanner.ConfirmRequest{Address: "10.9.9.9:1"}); err == nil {
		t.Fatal("a confirmation of an unregistered address was answered")
	}
}

// Marks live in the registry: a scanner that restarts finds the address
// still down (it neither clears nor re-marks it while it fails), and
// clears it after Rise good checks.
func TestMarksSurviveRestart(t *testing.T) {
	st := openStore(t)
	m := watchMarks(t, st)
	f := newFakeSidecar(t)
	register(t, st, "echo", f.addr(), "z1")
	s1 := startScanner(t, st, "s1", "z1", nil)
	f.SetMode(answerFail)
	waitFor(t, "marked down", func() bool { _, ok := m.get("echo", f.addr()); return ok })
	before, _ := m.get("echo", f.addr())
	s1.Close()

	s1 = startScanner(t, st, "s1", "z1", nil)
	waitFor(t, "the restarted scanner knows the address is down", func() bool { return s1.Stats.Down.Load() == 1 && s1.Stats.Failures.Load() >= 3 })
	if now, ok := m.get("echo", f.addr()); !ok || !now.Since.Equal(before.Since) || s1.Stats.Marked.Load() != 0 {
		t.Fatalf("after the restart: mark %+v (present %v), marked %d; want the first mark kept", now, ok, s1.Stats.Marked.Load())
	}
	f.SetMode(answerOK)
	waitFor(t, "cleared after the restart", func() bool { return m.count() == 0 })
}
