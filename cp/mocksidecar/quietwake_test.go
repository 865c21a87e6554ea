package mocksidecar

import (
	"sync"
	"testing"
	"time"
)

// TestQuietWaker holds the wakes of steps waiting with wake_quiet while
// responses keep arriving, and wakes them all once the responses go quiet
// or the oldest has waited 20 times wake_quiet. The waker's clock is the
// test's (its timer may call flush meanwhile: it decides by that clock).
func TestQuietWaker(t *testing.T) {
	const quiet = 100 * time.Millisecond
	var mu sync.Mutex
	t0 := time.Unix(1000, 0)
	clock := t0
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	set := func(d time.Duration) { mu.Lock(); clock = at(d); mu.Unlock() }
	e := &engine{}
	e.quiet.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	waiting := func(i int) (*sidecar, <-chan struct{}) {
		s := newSidecar(e, i, "mock", "app", "", "", true)
		s.mu.Lock()
		defer s.mu.Unlock()
		return s, s.watchLocked()
	}
	response := func(s *sidecar, d time.Duration) {
		s.mu.Lock()
		e.quiet.deferLocked(s, at(d), quiet)
		s.mu.Unlock()
	}
	woken := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}

	s1, ch1 := waiting(1)
	s2, ch2 := waiting(2)
	response(s1, 0)
	set(50 * time.Millisecond)
	e.quiet.flush()
	response(s2, 90*time.Millisecond)
	response(s1, 95*time.Millisecond) // held once
	set(150 * time.Millisecond)
	e.quiet.flush()
	if woken(ch1) || woken(ch2) {
		t.Fatal("woken 55 ms after the last response; want held until 100 ms of quiet")
	}
	set(195 * time.Millisecond)
	e.quiet.flush()
	if !woken(ch1) || !woken(ch2) {
		t.Fatal("not woken after 100 ms of quiet")
	}
	if s1.wakeDeferred || s2.wakeDeferred || len(e.quiet.held) != 0 {
		t.Fatal("still held after the wake")
	}

	// Responses that never go quiet: woken once the oldest waited 2 s.
	s3, ch3 := waiting(3)
	other, _ := waiting(4)
	response(s3, time.Second)
	for d := time.Second; d < 3*time.Second; d += 50 * time.Millisecond {
		response(other, d)
		set(d)
		e.quiet.flush()
		if woken(ch3) != (d-time.Second >= 20*quiet) {
			t.Fatalf("%v after the first response: woken %v; want it held for 20 x wake_quiet, then woken", d-time.Second, woken(ch3))
		}
	}
}
