package mocksidecar

import (
	"sync"
	"time"
)

// quietWaker holds the wakes of steps waiting with wake_quiet
// (ExpectStep.WakeQuiet) until no response has reached the process's
// sidecars for that long, or the oldest has waited 20 times it: in a
// push to thousands of simulated sidecars each would otherwise wake its
// goroutine and run its next steps inside the push, taking the CPU from
// the pilots and the other sidecars' reads and ACKs it measures (a third
// of the simulated sidecars' CPU in a 50,000-sidecar push).
type quietWaker struct {
	mu       sync.Mutex
	held     []*sidecar
	first    time.Time // when the oldest held wake was deferred
	last     time.Time // the last response that deferred one
	quiet    time.Duration
	timer    *time.Timer
	flushing bool
	now      func() time.Time // time.Now; a test's clock
}

// deferLocked holds s's wake (s.mu is held): a response arrived at now
// for a step waiting with wake_quiet quiet.
func (w *quietWaker) deferLocked(s *sidecar, now time.Time, quiet time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last, w.quiet = now, quiet
	if s.wakeDeferred {
		return
	}
	s.wakeDeferred = true
	if len(w.held) == 0 {
		w.first = now
	}
	w.held = append(w.held, s)
	if w.timer == nil {
		w.timer = time.AfterFunc(quiet, w.flush)
	} else if !w.flushing && len(w.held) == 1 {
		w.timer.Reset(quiet)
	}
}

// flush wakes the held steps once the responses have gone quiet (or the
// oldest has waited long enough), else looks again when they might have.
func (w *quietWaker) flush() {
	w.mu.Lock()
	now := time.Now()
	if w.now != nil {
		now = w.now()
	}
	if len(w.held) == 0 {
		w.mu.Unlock()
		return
	}
	if since := now.Sub(w.last); since < w.quiet && now.Sub(w.first) < 20*w.quiet {
		w.timer.Reset(w.quiet - since)
		w.mu.Unlock()
		return
	}
	held := w.held
	w.held = nil
	w.flushing = true
	w.mu.Unlock()
	for _, s := range held {
		s.mu.Lock()
		s.wakeDeferred = false
		s.notifyLocked()
		s.mu.Unlock()
	}
	w.mu.Lock()
	w.flushing = false
	if len(w.held) > 0 { // deferred while this flush woke the others
		w.timer.Reset(w.quiet)
	}
	w.mu.Unlock()
}
