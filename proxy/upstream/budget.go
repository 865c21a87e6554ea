package upstream

import (
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/config"
)

// budgetWindow is how far back a retry budget looks, in one-second slots.
const budgetWindow = 10

// budget bounds a cluster's retries: over the last budgetWindow seconds,
// retries stay under percent of the calls plus floor per second, so that
// retries cannot multiply an outage; and at most maxActive retries are in
// flight at once (0: no such bound). Counting is approximate at a slot's
// turn of the second (a count made while the slot is being reused may be
// lost), never blocking: one atomic add per call.
type budget struct {
	percent   float64
	floor     float64 // retries per second allowed whatever the calls
	maxActive int32
	active    atomic.Int32
	slots     [budgetWindow]budgetSlot
}

type budgetSlot struct {
	sec            atomic.Int64
	calls, retries atomic.Int64
}

func newBudget(b config.RetryBudget, br config.CircuitBreaker) *budget {
	return &budget{percent: b.Percent, floor: b.MinRetriesPerSecond, maxActive: int32(br.MaxRetries)}
}

func (b *budget) slot(now time.Duration) *budgetSlot {
	sec := int64(now / time.Second)
	s := &b.slots[sec%budgetWindow]
	if old := s.sec.Load(); old != sec && s.sec.CompareAndSwap(old, sec) {
		s.calls.Store(0)
		s.retries.Store(0)
	}
	return s
}

// call counts one call (a first try).
func (b *budget) call(now time.Duration) { b.slot(now).calls.Add(1) }

// allow reports whether one more retry fits, and counts it when it does;
// the caller then calls done when the retry ends.
func (b *budget) allow(now time.Duration) (ok bool, overBudget bool) {
	// Reserve a place among the retries in flight first, so that racing
	// callers cannot all pass the bound.
	if n := b.active.Add(1); b.maxActive > 0 && n > b.maxActive {
		b.active.Add(-1)
		return false, false
	}
	sec := int64(now / time.Second)
	var calls, retries int64
	for i := range b.slots {
		s := &b.slots[i]
		if s.sec.Load() > sec-budgetWindow {
			calls += s.calls.Load()
			retries += s.retries.Load()
		}
	}
	if float64(retries) >= b.percent/100*float64(calls)+b.floor*budgetWindow {
		b.active.Add(-1)
		return false, true
	}
	b.slot(now).retries.Add(1)
	return true, false
}

func (b *budget) done() { b.active.Add(-1) }
