package upstream

import "sync"

// A cluster's place in its Sweeper (Cluster.sweep).
const (
	sweepIdle int32 = iota // nothing to time: not swept
	sweepWarm              // only outlier detection's interval, ejections or returns: swept slowly
	sweepFast              // requests in flight, or endpoints and connections draining: swept every tick
)

// Sweeper runs the timers of the clusters that have something to time, so
// that an idle sidecar does no work whatever the size of its
// configuration. A cluster enlists itself when its first request in flight
// begins (the request path pays one atomic add it makes anyway, and one
// load) or when it starts draining something; Sweep, every tick, sweeps
// those and keeps the ones with requests still in flight. A cluster left
// with only outlier detection to judge goes to the slow list, which
// SweepSlow sweeps; one with nothing left leaves both.
//
// Sweep and SweepSlow run on one goroutine (the sidecar's sweeper); only
// enlisting comes from others.
type Sweeper struct {
	mu    sync.Mutex
	fast  []*Cluster // enlisted; swapped out by Sweep
	spare []*Cluster
	idle  bool // the last Sweep left nothing enlisted: the sweeper ticks slowly
	wake  chan struct{}

	slow []*Cluster // the sweeper goroutine's only
}

// NewSweeper returns a Sweeper with no cluster enlisted.
func NewSweeper() *Sweeper { return &Sweeper{wake: make(chan struct{}, 1)} }

// Woken receives when a cluster enlists after a Sweep that left nothing
// enlisted: the sweeper, waiting slowly, must tick again.
func (s *Sweeper) Woken() <-chan struct{} { return s.wake }

func (s *Sweeper) enlist(c *Cluster) {
	s.mu.Lock()
	s.fast = append(s.fast, c)
	wake := s.idle
	s.idle = false
	s.mu.Unlock()
	if wake { // only a sweeper that ticks slowly needs it
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Sweep sweeps the enlisted clusters once: their requests past their
// deadline time out, drained endpoints and connections close. It reports
// whether any cluster stays enlisted, so the caller ticks again soon.
func (s *Sweeper) Sweep() bool {
	s.mu.Lock()
	list := s.fast
	s.fast = s.spare[:0]
	s.mu.Unlock()
	for _, c := range list {
		c.Sweep()
		// Demote first, then look: a request that begins meanwhile either
		// sees the demotion (and enlists the cluster again) or is seen
		// here. Both sides' atomics are sequentially consistent.
		c.sweepState.Store(sweepWarm)
		switch {
		case c.inflight.Load() > 0 || c.draining():
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
	busy := len(s.fast) > 0
	s.idle = !busy
	s.mu.Unlock()
	return busy
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
