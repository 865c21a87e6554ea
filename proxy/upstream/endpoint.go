package upstream

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/lb"
	"github.com/octomesh/octomesh/proxy/transport"
)

// Backoff between failed dials to one endpoint.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// Endpoint is one upstream instance with a fixed number of connection slots.
type Endpoint struct {
	cluster          *Cluster
	network, address string
	weight           atomic.Uint32
	load             lb.Load
	conns            []atomic.Pointer[conn]

	dialMu       sync.Mutex // one dial at a time
	dialing      atomic.Bool
	backoff      time.Duration // guarded by dialMu
	backoffUntil atomic.Int64  // unix nanos; no dial before
	lastErr      atomic.Pointer[error]
	dialFailed   atomic.Bool // the last dial failed
	retired      atomic.Bool

	drainMu  sync.Mutex
	draining []*conn // out of the pool after ProxyRestart, still swept

	od odEndpoint // outlier detection (outlier.go)
}

// begin counts a request written to the endpoint.
// The cluster's first request in flight enlists it in its sweeper.
func (ep *Endpoint) begin() {
	ep.load.Begin()
	if ep.cluster.inflight.Add(1) == 1 {
		ep.cluster.activate()
	}
}

// end counts a request of the endpoint finished, failed or not. Outlier
// detection counts it before it leaves the requests in flight, so that a
// sweeper that sees none left also sees what it has to judge.
func (ep *Endpoint) end(rtt time.Duration, failed bool) {
	ep.load.End(rtt, failed)
	ep.record(failed, rtt)
	ep.cluster.inflight.Add(-1)
}

// usable reports whether balancing may send the endpoint requests: it has
// weight and is not ejected.
func (ep *Endpoint) usable() bool {
	return ep.weight.Load() > 0 && ep.od.state.Load() != stateEjected
}

func newEndpoint(c *Cluster, e EndpointConfig) *Endpoint {
	return &Endpoint{cluster: c, network: e.Network, address: e.Address, conns: make([]atomic.Pointer[conn], c.cfg.ConnsPerEndpoint)}
}

// pick returns the connection with the fewest requests in flight that has
// room for one more. With no open connection it dials one, or, without
// mayDial, starts dialling in the background and returns errWouldWait
// (while the endpoint backs off after a failure, that failure is the error
// at once); with some slots empty it fills them in the background. A nil
// conn and nil error mean every connection is full.
func (ep *Endpoint) pick(mayDial bool) (*conn, error) {
	var best *conn
	empty := false
	max := int32(ep.cluster.cfg.MaxRequestsPerConn)
	for i := range ep.conns {
		cn := ep.conns[i].Load()
		if cn == nil {
			empty = true
			continue
		}
		if n := cn.inflight.Load(); n < max && (best == nil || n < best.inflight.Load()) {
			best = cn
		}
	}
	if best != nil {
		if empty && ep.dialing.CompareAndSwap(false, true) {
			go ep.fill()
		}
		return best, nil
	}
	if !empty {
		return nil, nil
	}
	if !mayDial {
		if err := ep.backingOff(); err != nil {
			return nil, err
		}
		if ep.dialing.CompareAndSwap(false, true) {
			go ep.fill()
		}
		return nil, errWouldWait
	}
	return ep.dialOne()
}

// dialOne opens a connection into the first empty slot, waiting for a dial
// already under way instead of starting another.
func (ep *Endpoint) dialOne() (*conn, error) {
	ep.dialMu.Lock()
	defer ep.dialMu.Unlock()
	for i := range ep.conns {
		if cn := ep.conns[i].Load(); cn != nil {
			return cn, nil // another caller dialled while we waited
		}
	}
	if err := ep.backingOff(); err != nil {
		return nil, err
	}
	return ep.dialSlotLocked(0)
}

// backingOff returns the last dial's error while the endpoint waits before
// dialling again, else nil.
func (ep *Endpoint) backingOff() error {
	if time.Now().UnixNano() < ep.backoffUntil.Load() {
		return *ep.lastErr.Load() // stored before backoffUntil
	}
	return nil
}

// fill dials every empty slot; it runs in the background.
func (ep *Endpoint) fill() {
	defer ep.dialing.Store(false)
	ep.dialMu.Lock()
	defer ep.dialMu.Unlock()
	for i := range ep.conns {
		if ep.conns[i].Load() != nil || ep.retired.Load() {
			continue
		}
		if ep.backingOff() != nil {
			return
		}
		if _, err := ep.dialSlotLocked(i); err != nil {
			return
		}
	}
}

func (ep *Endpoint) dialSlotLocked(i int) (*conn, error) {
	cfg := &ep.cluster.cfg
	cn := newConn(ep, cfg.MaxRequestsPerConn)
	tc, err := transport.Dial(ep.network, ep.address, cfg.ConnectTimeout, cfg.Transport, ep.cluster.tstat,
		func(*transport.Conn) transport.Handler { return cn })
	if err != nil {
		ep.cluster.stats.DialFails.Add(1)
		ep.backoff = min(max(2*ep.backoff, minBackoff), maxBackoff)
		ep.lastErr.Store(&err) // before backoffUntil: backingOff reads it during a backoff
		ep.dialFailed.Store(true)
		ep.backoffUntil.Store(time.Now().Add(ep.backoff).UnixNano())
		return nil, err
	}
	ep.backoff = 0
	ep.dialFailed.Store(false)
	cn.tc = tc
	ep.conns[i].Store(cn)
	ep.cluster.stats.ConnsOpen.Add(1)
	if ep.retired.Load() { // lost a race with retire
		tc.Close()
	}
	return cn, nil
}

// dropConn empties the slot that holds cn, so the next pick redials.
func (ep *Endpoint) dropConn(cn *conn) {
	for i := range ep.conns {
		if ep.conns[i].CompareAndSwap(cn, nil) {
			ep.cluster.stats.ConnsOpen.Add(-1)
			return
		}
	}
}

// retireConn takes cn out of the pool (picks dial anew) but keeps sweeping
// it until it closes.
func (ep *Endpoint) retireConn(cn *conn) {
	ep.dropConn(cn)
	ep.drainMu.Lock()
	ep.draining = append(ep.draining, cn)
	ep.drainMu.Unlock()
	ep.cluster.sweepSoon()
}

// sweepIdle closes the connections idle for the cluster's IdleTimeout.
func (ep *Endpoint) sweepIdle(idle time.Duration) {
	for i := range ep.conns {
		if cn := ep.conns[i].Load(); cn != nil && cn.tc.IdleFor() >= idle && cn.inflight.Load() == 0 {
			ep.cluster.stats.IdleClosed.Add(1)
			cn.retire()
		}
	}
}

// sweep sweeps the endpoint's connections and returns the earliest
// deadline left (NoDeadline: none).
func (ep *Endpoint) sweep(now time.Duration) (next time.Duration) {
	next = NoDeadline
	for i := range ep.conns {
		if cn := ep.conns[i].Load(); cn != nil {
			next = min(next, cn.sweep(now))
		}
	}
	ep.drainMu.Lock()
	kept := ep.draining[:0]
	for _, cn := range ep.draining {
		next = min(next, cn.sweep(now))
		if cn.tc.Active() {
			kept = append(kept, cn)
		}
	}
	clear(ep.draining[len(kept):])
	ep.draining = kept
	ep.drainMu.Unlock()
	return next
}

func (ep *Endpoint) close() {
	ep.retired.Store(true)
	for i := range ep.conns {
		if cn := ep.conns[i].Load(); cn != nil {
			cn.tc.Close()
		}
	}
	ep.drainMu.Lock()
	for _, cn := range ep.draining {
		cn.tc.Close()
	}
	ep.draining = nil
	ep.drainMu.Unlock()
}
