package upstream

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/config"
)

// budgetStep is one thing done to a budget at one instant.
type budgetStep struct {
	at      time.Duration
	calls   int // first tries counted
	retries int // retries asked for, all of which must be allowed
	refused bool
	// refused: one more retry is then asked for, and must be refused as
	// over the budget.
}

func runBudget(t *testing.T, b *budget, steps []budgetStep) {
	t.Helper()
	for i, s := range steps {
		for range s.calls {
			b.call(s.at)
		}
		for k := range s.retries {
			ok, over := b.allow(s.at)
			if !ok {
				t.Fatalf("step %d (at %s): retry %d of %d refused (over budget %v)", i, s.at, k+1, s.retries, over)
			}
			b.done()
		}
		if s.refused {
			if ok, over := b.allow(s.at); ok || !over {
				t.Fatalf("step %d (at %s): retry %d: allowed %v, over budget %v; want refused as over budget", i, s.at, s.retries+1, ok, over)
			}
		}
	}
}

func TestRetryBudget(t *testing.T) {
	const t0 = time.Hour // an arbitrary instant on the upstream clock
	tests := []struct {
		name   string
		budget config.RetryBudget
		steps  []budgetStep
	}{
		{
			name:   "20% of 100 calls",
			budget: config.RetryBudget{Percent: 20},
			steps:  []budgetStep{{at: t0, calls: 100, retries: 20, refused: true}},
		},
		{
			name:   "no calls, no floor: no retry",
			budget: config.RetryBudget{Percent: 20},
			steps:  []budgetStep{{at: t0, refused: true}},
		},
		{
			name:   "calls spread over the window count together",
			budget: config.RetryBudget{Percent: 50},
			steps: []budgetStep{
				{at: t0, calls: 10, retries: 5, refused: true},
				{at: t0 + 3*time.Second, calls: 10, retries: 5, refused: true},
				{at: t0 + 9*time.Second + 999*time.Millisecond, calls: 2, retries: 1, refused: true},
			},
		},
		{
			name:   "floor 3: 30 retries with no calls",
			budget: config.RetryBudget{Percent: 20, MinRetriesPerSecond: 3},
			steps:  []budgetStep{{at: t0, retries: 30, refused: true}},
		},
		{
			name:   "floor and share add up",
			budget: config.RetryBudget{Percent: 10, MinRetriesPerSecond: 1},
			steps:  []budgetStep{{at: t0, calls: 50, retries: 15, refused: true}},
		},
		{
			name:   "retries older than 10 s no longer count",
			budget: config.RetryBudget{MinRetriesPerSecond: 1},
			steps: []budgetStep{
				{at: t0, retries: 10, refused: true},
				{at: t0 + 9*time.Second + 999*time.Millisecond, refused: true},
				{at: t0 + 10*time.Second, retries: 10, refused: true},
			},
		},
		{
			name:   "calls older than 10 s no longer count",
			budget: config.RetryBudget{Percent: 20},
			steps: []budgetStep{
				{at: t0, calls: 100},
				{at: t0 + 10*time.Second, refused: true},
				{at: t0 + 10*time.Second, calls: 10, retries: 2, refused: true},
			},
		},
		{
			name:   "a slot reused after the window starts from zero",
			budget: config.RetryBudget{Percent: 100},
			steps: []budgetStep{
				{at: t0, calls: 5, retries: 5, refused: true},
				// Same slot (t0 mod 10 s), ten seconds on: its old counts go.
				{at: t0 + 10*time.Second, calls: 3, retries: 3, refused: true},
				{at: t0 + 25*time.Second, calls: 1, retries: 1, refused: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runBudget(t, newBudget(tt.budget, config.CircuitBreaker{}), tt.steps)
		})
	}
}

func TestRetryBudgetMaxActive(t *testing.T) {
	const t0 = time.Hour
	b := newBudget(config.RetryBudget{Percent: 100, MinRetriesPerSecond: 100}, config.CircuitBreaker{MaxRetries: 2})
	for i := range 2 {
		if ok, _ := b.allow(t0); !ok {
			t.Fatalf("retry %d refused under max_retries 2", i+1)
		}
	}
	if ok, over := b.allow(t0); ok || over {
		t.Fatalf("third retry in flight: allowed %v, over budget %v; want refused by max_retries, not the budget", ok, over)
	}
	b.done()
	if ok, _ := b.allow(t0); !ok {
		t.Fatal("a retry refused after one in flight ended")
	}
	if ok, _ := b.allow(t0); ok {
		t.Fatal("max_retries exceeded")
	}
	b.done()
	b.done()
	for i := range 2 {
		if ok, _ := b.allow(t0); !ok {
			t.Fatalf("retry %d refused with none in flight", i+1)
		}
	}

	// Without max_retries only the budget bounds retries in flight.
	b = newBudget(config.RetryBudget{MinRetriesPerSecond: 10}, config.CircuitBreaker{})
	for i := range 100 {
		if ok, _ := b.allow(t0); !ok {
			t.Fatalf("retry %d in flight refused with no max_retries", i+1)
		}
	}
}

// TestRetryBudgetMaxActiveConcurrent: retries asked for from several
// goroutines at once never have more than max_retries in flight. Each
// goroutine counts its retry in flight inside the span between allow and
// done, so the count it sees can only be lower than the budget's own.
func TestRetryBudgetMaxActiveConcurrent(t *testing.T) {
	const (
		maxRetries = 1
		goroutines = 4
	)
	b := newBudget(config.RetryBudget{Percent: 100, MinRetriesPerSecond: 1e12}, config.CircuitBreaker{MaxRetries: maxRetries})
	var inFlight, peak, allowed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && peak.Load() <= maxRetries {
				ok, _ := b.allow(time.Hour)
				if !ok {
					continue
				}
				allowed.Add(1)
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				inFlight.Add(-1)
				b.done()
			}
		}()
	}
	wg.Wait()
	if allowed.Load() == 0 {
		t.Fatal("no retry allowed")
	}
	if p := peak.Load(); p > maxRetries {
		t.Errorf("%d retries in flight at once with max_retries %d (after %d allowed)", p, maxRetries, allowed.Load())
	}
}
