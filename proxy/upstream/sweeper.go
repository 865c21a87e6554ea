package upstream

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// A cluster's place in its Sweeper (Cluster.sweep).
const (
	sweepIdle int32 = iota // nothing to time: not swept
	sweepWarm              // only outlier detection's interval, ejections or returns: swept slowly
	sweepFast              // requests in flight, or endpoints and connections draining: swept every tick
)

// NoDeadline is the deadline of nothing: Sweep's answer when no request is
// left to time.
const NoDeadline = time.Duration(math.MaxInt64)

// SweepResolution bounds how late a request times out: a Sweeper's owner
// sweeps within this of every deadline, and never sooner than this after
// its last sweep.
const SweepResolution = 10 * time.Millisecond

// Sweeper runs the timers of the clusters that have something to time, so
// that an idle sidecar does no work whatever the size of its
// configuration. A cluster enlists itself when its first request in flight
// begins (the request path pays one atomic add it makes anyway, and one
// load) or when it starts draining something; Sweep sweeps those and keeps
// the ones with requests still in flight. A cluster left with only outlier
// detection to judge goes to the slow list, which SweepSlow sweeps; one
// with nothing left leaves both.
//
// The owner sweeps when the earliest deadline comes, not on a fixed tick:
// Sweep returns that deadline, the owner says by Plan when it will sweep
// next, and a request whose deadline would be missed by more than
// SweepResolution wakes it (Woken). A busy sidecar whose requests all
// answer in time then sweeps once per request timeout (or once per its
// owner's longest wait, a second in the sidecar, when that is sooner),
// not every 10 ms,
// and the thread that waits for its sockets sleeps with no timer due
// soon: no timer to program and cancel at every wake-up.
//
// Sweep and SweepSlow run on one goroutine (the sidecar's sweeper); only
// enlisting and due come from others.
type Sweeper struct {
	mu    sync.Mutex
	fast  []*Cluster // enlisted; swapped out by Sweep
	spare []*Cluster
	wake  chan struct{}
	// planned: when the owner sweeps next (Now's clock); 0 while it
	// sweeps, so that a request meanwhile wakes it again.
	planned atomic.Int64

	slow []*Cluster // the sweeper goroutine's only
}

// NewSweeper returns a Sweeper with no cluster enlisted.
func NewSweeper() *Sweeper {
	s := &Sweeper{wake: make(chan struct{}, 1)}
	s.planned.Store(int64(NoDeadline))
	return s
}

// Woken receives when the planned sweep is too late: a request began whose
// deadline comes more than SweepResolution before it, something started
// draining, or outlier detection flagged an endpoint.
func (s *Sweeper) Woken() <-chan struct{} { return s.wake }

// Plan tells the Sweeper when its owner sweeps next (Now's clock).
func (s *Sweeper) Plan(at time.Duration) { s.planned.Store(int64(at)) }

// due notes a request's deadline (the request path: one atomic load).
func (s *Sweeper) due(deadline time.Duration) {
	if int64(deadline)+int64(SweepResolution) < s.planned.Load() {
		s.wakeUp()
	}
}

func (s *Sweeper) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sweeper) enlist(c *Cluster) {
	s.mu.Lock()
	s.fast = append(s.fast, c)
	s.mu.Unlock()
}

// Sweep sweeps the enlisted clusters once: their requests past their
// deadline time out, drained endpoints and connections close. It returns
// when to sweep again: the earliest deadline left, now while something
// drains, NoDeadline with nothing to time.
func (s *Sweeper) Sweep() (next time.Duration) {
	s.planned.Store(0)
	s.mu.Lock()
	list := s.fast
	s.fast = s.spare[:0]
	s.mu.Unlock()
	next = NoDeadline
	for _, c := range list {
		d := c.Sweep()
		// Demote first, then look: a request that begins meanwhile either
		// sees the demotion (and enlists the cluster again) or is seen
		// here. Both sides' atomics are sequentially consistent.
		c.sweepState.Store(sweepWarm)
		switch {
		case c.inflight.Load() > 0 || c.draining():
			if d == NoDeadline { // draining, or answered since: soon
				d = now()
			}
			next = min(next, d)
			if c.sweepState.CompareAndSwap(sweepWarm, sweepFast) {
				s.mu.Lock()
				s.fast = append(s.fast, c)
				s.mu.Unlock()
			} // else a request enlisted it again
		case c.judging():
			if !c.inSlow {
				c.inSlow = true
				s.slow = append(s.slow, c)
			}
		default:
			c.sweepState.CompareAndSwap(sweepWarm, sweepIdle)
		}
	}
	clear(list)
	s.mu.Lock()
	s.spare = list[:0]
	if len(s.fast) > 0 && next == NoDeadline { // enlisted by a request meanwhile
		next = now()
	}
	s.mu.Unlock()
	return next
}

// SweepSlow sweeps the clusters that only have outlier detection left to
// judge (an interval's counts, an ejection's end, a probe): once a second
// is precise enough for those, and a cluster used a while ago costs no
// tick of its own.
func (s *Sweeper) SweepSlow() {
	kept := s.slow[:0]
	for _, c := range s.slow {
		if c.sweepState.Load() != sweepWarm { // a request enlisted it: fast now
			c.inSlow = false
			continue
		}
		c.Sweep()
		if c.judging() {
			kept = append(kept, c)
			continue
		}
		c.inSlow = false
		c.sweepState.CompareAndSwap(sweepWarm, sweepIdle)
	}
	clear(s.slow[len(kept):])
	s.slow = kept
}

// Enlisted reports how many clusters the fast and slow lists hold.
func (s *Sweeper) Enlisted() (fast, slow int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fast), len(s.slow)
}

// activate enlists c in its sweeper, unless it is already swept every tick.
func (c *Cluster) activate() {
	sw := c.cfg.Sweeper
	if sw == nil {
		return
	}
	for {
		st := c.sweepState.Load()
		if st == sweepFast {
			return
		}
		if c.sweepState.CompareAndSwap(st, sweepFast) {
			sw.enlist(c)
			return
		}
	}
}

// sweepSoon enlists c, which started draining something, and has its
// sweeper sweep soon, to close what drained.
func (c *Cluster) sweepSoon() {
	c.activate()
	if sw := c.cfg.Sweeper; sw != nil {
		sw.wakeUp()
	}
}

// draining reports endpoints or connections on their way out: Sweep
// closes them once their requests are done.
func (c *Cluster) draining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.drainingEPs) > 0 {
		return true
	}
	for _, ep := range c.state.Load().endpoints {
		ep.drainMu.Lock()
		n := len(ep.draining)
		ep.drainMu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// judging reports outlier detection work left: counts of an interval not
// judged yet, or an endpoint not healthy (down-weighted, ejected).
func (c *Cluster) judging() bool {
	if c.od == nil {
		return false
	}
	for _, ep := range c.state.Load().endpoints {
		od := &ep.od
		if od.calls.Load() > 0 || od.flagged.Load() || od.state.Load() != stateHealthy {
			return true
		}
	}
	return false
}
