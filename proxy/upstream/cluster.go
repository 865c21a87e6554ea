package upstream

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/lb"
	"github.com/octomesh/octomesh/proxy/transport"
	"github.com/octomesh/octomesh/stats"
)

// ClusterConfig is the validated configuration of one cluster.
type ClusterConfig struct {
	Name     string
	Balancer lb.Balancer
	LBOpts   lb.Options
	// HashKey names the TTHeader string info key whose value is the hash key.
	HashKey string
	// ConnsPerEndpoint is the fixed number of multiplexed connections per endpoint.
	ConnsPerEndpoint int
	// MaxRequestsPerConn bounds the requests in flight on one connection.
	MaxRequestsPerConn int
	ConnectTimeout     time.Duration
	// IdleTimeout closes a connection that has carried nothing for this
	// long (0: never); the next request dials again. Shorter than the
	// peer's own idle timeout, so that this side closes first and no
	// request meets a connection the peer is closing.
	IdleTimeout time.Duration
	Transport   transport.Options
	// Sweeper, when set, times the cluster's requests: the cluster enlists
	// in it while it has something to time (sweeper.go). Without one,
	// whoever owns the cluster calls Sweep.
	Sweeper *Sweeper
	// Breaker and Budget bound requests, pending requests and retries (a
	// zero bound is none; a zero budget allows no retry); Outlier, when
	// set, ejects endpoints that fail or lag.
	Breaker config.CircuitBreaker
	Budget  config.RetryBudget
	Outlier *config.OutlierDetection
}

// EndpointConfig is one endpoint of a cluster.
type EndpointConfig struct {
	Network, Address string
	Weight           uint32
	Zone, Set        string
	Metadata         map[string]string
	// Unhealthy: marked down by central health checking; the balancer
	// passes it over unless too few others are healthy (panic threshold).
	Unhealthy bool
}

// Cluster forwards requests to a set of endpoints. Its endpoint set and
// picker form one immutable state that Update replaces atomically; Forward
// reads it with one atomic load and takes no lock but a connection's.
type Cluster struct {
	name  string
	cfg   ClusterConfig
	stats *Stats
	tstat *transport.Stats
	state atomic.Pointer[clusterState]

	mu          sync.Mutex // serialises Update, Sweep's draining list, Close
	drainingEPs []*Endpoint
	dead        bool

	latency stats.Histogram // round trips of answered requests
	// failures counts this cluster's requests that failed in this sidecar
	// (no response: refused, unreachable, timed out, connection lost);
	// errorResponses its responses that were a peer sidecar's mesh error.
	// Both are touched on failure paths only, so they are one word each
	// rather than striped like the per-request counts (two stats.Counters
	// were 8 KiB per cluster: 8 MiB of a sidecar with 1,000 clusters).
	failures, errorResponses atomic.Uint64

	inflight atomic.Int64 // requests written and not finished
	pending  atomic.Int64 // requests waiting in Forward for a connection
	budget   *budget
	od       *outlier // nil without outlier detection

	sweepState atomic.Int32 // sweepIdle, sweepWarm or sweepFast (sweeper.go)
	inSlow     bool         // in the Sweeper's slow list; its goroutine only
}

type clusterState struct {
	endpoints []*Endpoint
	picker    lb.Picker
	applied   []EndpointConfig // what Update built this state from
}

// NewCluster validates cfg and endpoints and starts with no connection open;
// connections are dialled on first use.
func NewCluster(cfg ClusterConfig, endpoints []EndpointConfig, stats *Stats, tstat *transport.Stats) (*Cluster, error) {
	if cfg.ConnsPerEndpoint < 1 || cfg.MaxRequestsPerConn < 1 {
		return nil, fmt.Errorf("upstream: cluster %q: connections per endpoint and requests per connection must be positive", cfg.Name)
	}
	c := &Cluster{name: cfg.Name, cfg: cfg, stats: stats, tstat: tstat, budget: newBudget(cfg.Budget, cfg.Breaker)}
	if cfg.Outlier != nil {
		c.od = newOutlier(*cfg.Outlier)
	}
	if err := c.Update(endpoints); err != nil {
		return nil, err
	}
	return c, nil
}

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Update replaces the endpoint set. Endpoints whose address stays keep their
// connections and load; removed ones take no new requests and are closed by
// Sweep once their requests have finished or timed out. A list equal to the
// last one applied (same order and fields) changes nothing, the balancer's
// state included.
func (c *Cluster) Update(endpoints []EndpointConfig) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return fmt.Errorf("upstream: cluster %q is closed", c.name)
	}
	old := map[string]*Endpoint{}
	if st := c.state.Load(); st != nil {
		if slices.EqualFunc(st.applied, endpoints, sameEndpoint) {
			// A push that changed nothing here (the control plane resends
			// a cluster when anything about it is rewritten) keeps the
			// balancer's state: a round robin goes on where it was, and a
			// ring is not built again.
			return nil
		}
		for _, ep := range st.endpoints {
			old[ep.address] = ep
		}
	}
	next := &clusterState{endpoints: make([]*Endpoint, 0, len(endpoints)), applied: slices.Clone(endpoints)}
	seen := map[string]bool{}
	for _, e := range endpoints {
		if seen[e.Address] {
			return fmt.Errorf("upstream: cluster %q: endpoint %s listed twice", c.name, e.Address)
		}
		seen[e.Address] = true
		ep := old[e.Address]
		if ep == nil {
			ep = newEndpoint(c, e)
		}
		delete(old, e.Address)
		ep.weight.Store(e.Weight)
		next.endpoints = append(next.endpoints, ep)
	}
	p, err := c.buildPicker(next)
	if err != nil {
		return err
	}
	next.picker = p
	c.state.Store(next)
	for _, ep := range old {
		ep.retired.Store(true)
		c.drainingEPs = append(c.drainingEPs, ep)
	}
	if len(old) > 0 {
		c.sweepSoon()
	}
	return nil
}

// buildPicker builds st's picker from its endpoints' weights and outlier
// states (with outlier detection, a healthy endpoint weighs degradedShare
// times its weight, a degraded one its weight, an ejected one nothing). No
// endpoint with weight gives a nil picker.
func (c *Cluster) buildPicker(st *clusterState) (lb.Picker, error) {
	if len(st.endpoints) == 0 {
		return nil, nil
	}
	eps := make([]lb.Endpoint, len(st.endpoints))
	weighted := false
	for i, ep := range st.endpoints {
		e := &st.applied[i]
		w := e.Weight
		if c.od != nil {
			switch ep.od.state.Load() {
			case stateHealthy:
				w = uint32(min(uint64(w)*degradedShare, 1<<30))
			case stateEjected:
				w = 0
			}
		}
		weighted = weighted || w > 0
		eps[i] = lb.Endpoint{Address: e.Address, Weight: w, Zone: e.Zone, Set: e.Set, Metadata: e.Metadata, Healthy: !e.Unhealthy, Load: &ep.load}
	}
	if !weighted && c.od != nil {
		// Every endpoint with weight is ejected (a cluster of one, say):
		// as in Envoy's panic mode, balance over them all rather than
		// fail every request.
		for i := range eps {
			eps[i].Weight = st.applied[i].Weight
		}
	}
	p, err := c.cfg.Balancer.Build(eps, c.cfg.LBOpts)
	if err != nil && !errors.Is(err, lb.ErrNoEndpoints) {
		return nil, fmt.Errorf("upstream: cluster %q: %w", c.name, err)
	}
	return p, nil
}

// republishLocked publishes st's endpoints again with a picker built for
// their outlier states. c.mu is held.
func (c *Cluster) republishLocked(st *clusterState) {
	next := &clusterState{endpoints: st.endpoints, applied: st.applied}
	p, err := c.buildPicker(next)
	if err != nil {
		return // the same endpoints built a picker before; not expected
	}
	next.picker = p
	c.state.Store(next)
}

// Forward sends r to an endpoint and always completes r through r.Down.
// It may wait for a dial (an endpoint with no connection yet), so it must
// not run on the transport's poller: Handlers call TryForward. Requests
// waiting here count against the breaker's max_pending.
func (c *Cluster) Forward(r *Request) {
	if n := c.pending.Add(1); c.cfg.Breaker.MaxPending > 0 && n > int64(c.cfg.Breaker.MaxPending) {
		c.pending.Add(-1)
		c.stats.PendingOverflow.Add(1)
		c.failures.Add(1)
		r.Down.Fail(OriginOf(r.Header), Failure{Kind: ErrCircuitOpen, Cluster: c.name, Limit: c.cfg.Breaker.MaxPending, LimitName: "circuit_breaker.max_pending"})
		return
	}
	defer c.pending.Add(-1)
	c.stats.Requests.Add(1)
	c.forward(r, true)
}

// AllowRetry reports whether the cluster takes one more retry now (its
// retry budget and max_retries); when it does, the caller calls RetryDone
// once the retry has finished.
func (c *Cluster) AllowRetry() bool {
	ok, overBudget := c.budget.allow(now())
	if !ok {
		if overBudget {
			c.stats.RetryBudgetExhausted.Add(1)
		} else {
			c.stats.RetryOverflow.Add(1)
		}
	}
	return ok
}

// RetryDone ends a retry AllowRetry allowed.
func (c *Cluster) RetryDone() { c.budget.done() }

// TryForward is Forward that never waits: it reports false, with r not
// completed, when r could go only to endpoints still without a connection
// (their dials start in the background); the caller then calls Forward
// from a goroutine of its own.
func (c *Cluster) TryForward(r *Request) bool {
	if !c.forward(r, false) {
		return false
	}
	c.stats.Requests.Add(1)
	return true
}

// forward reports false only without mayDial, for a request it left
// incomplete because it would have had to wait for a dial.
func (c *Cluster) forward(r *Request, mayDial bool) bool {
	t := now()
	if !r.Retry && r.Picked == nil {
		c.budget.call(t)
	}
	if max := c.cfg.Breaker.MaxRequests; max > 0 && c.inflight.Load() >= int64(max) {
		c.stats.CircuitOpen.Add(1)
		c.failures.Add(1)
		r.Down.Fail(OriginOf(r.Header), Failure{Kind: ErrCircuitOpen, Cluster: c.name, Limit: c.cfg.Breaker.MaxRequests, LimitName: "circuit_breaker.max_requests"})
		return true
	}
	st := c.state.Load()
	if st.picker == nil {
		c.stats.Unreachable.Add(1)
		c.failures.Add(1)
		r.Down.Fail(OriginOf(r.Header), Failure{Kind: ErrUnreachable, Cluster: c.name, Cause: errNoEndpoints})
		return true
	}
	var key []byte
	if c.cfg.HashKey != "" {
		key = r.Header.StrInfo(r.Frame, c.cfg.HashKey)
	}
	first := -1
	if r.Picked != nil {
		first = slices.Index(st.endpoints, r.Picked) // gone since: pick again
	}
	if first < 0 {
		first = st.picker.Pick(key)
	}
	if first < 0 {
		c.stats.Unreachable.Add(1)
		c.failures.Add(1)
		r.Down.Fail(OriginOf(r.Header), Failure{Kind: ErrUnreachable, Cluster: c.name, Cause: errNoEndpoints})
		return true
	}
	// The picked endpoint first, unless a retry must avoid it; if it
	// cannot take the request, the others in order, so one dead endpoint
	// does not fail requests others can serve. The endpoint to avoid is
	// the last resort.
	var lastErr error
	var lastEP string
	overloaded := false
	n := len(st.endpoints)
	avoided := false
	for i := 0; i <= n; i++ {
		var ep *Endpoint
		if i < n {
			ep = st.endpoints[(first+i)%n]
			if ep == r.Avoid && n > 1 {
				avoided = true
				continue
			}
			if i > 0 && !ep.usable() {
				continue
			}
		} else if avoided && r.Avoid.usable() {
			ep = r.Avoid
		} else {
			break
		}
		// A second pick covers a connection that filled up or started
		// draining (ProxyRestart) between pick and send.
		for attempt := 0; attempt < 2; attempt++ {
			cn, err := ep.pick(mayDial)
			if err == errWouldWait {
				r.Picked = ep
				return false
			}
			if err != nil {
				lastErr, lastEP = err, ep.address
				break
			}
			if cn == nil {
				overloaded = true
				break
			}
			ts := t
			if mayDial { // a dial may have taken a while
				ts = now()
			}
			if cn.send(r, ts) {
				return true
			}
			overloaded = true
		}
	}
	if overloaded {
		c.stats.Overloaded.Add(1)
		c.failures.Add(1)
		r.Down.Fail(OriginOf(r.Header), Failure{Kind: ErrOverloaded, Cluster: c.name, Limit: c.cfg.MaxRequestsPerConn})
		return true
	}
	if lastErr == nil {
		lastErr = errNoEndpoints
	}
	c.stats.Unreachable.Add(1)
	c.failures.Add(1)
	r.Down.Fail(OriginOf(r.Header), Failure{Kind: ErrUnreachable, Cluster: c.name, Endpoint: lastEP, Cause: lastErr})
	return true
}

func sameEndpoint(a, b EndpointConfig) bool {
	return a.Network == b.Network && a.Address == b.Address && a.Weight == b.Weight &&
		a.Zone == b.Zone && a.Set == b.Set && maps.Equal(a.Metadata, b.Metadata) && a.Unhealthy == b.Unhealthy
}

var (
	errNoEndpoints = errors.New("no endpoint with positive weight")
	errWouldWait   = errors.New("the endpoint has no connection yet")
)

// Sweep times out the requests whose deadline has passed and closes removed
// endpoints that have drained, and returns the earliest deadline of the
// requests left in flight (NoDeadline: none). The owner calls it from one
// goroutine, by then or sooner (a Sweeper tells when).
func (c *Cluster) Sweep() (next time.Duration) {
	t := now()
	next = NoDeadline
	for _, ep := range c.state.Load().endpoints {
		next = min(next, ep.sweep(t))
	}
	next = min(next, c.sweepOutliers(t))
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.drainingEPs[:0]
	for _, ep := range c.drainingEPs {
		next = min(next, ep.sweep(t))
		if ep.load.Inflight() > 0 {
			kept = append(kept, ep)
			continue
		}
		ep.close()
	}
	clear(c.drainingEPs[len(kept):])
	c.drainingEPs = kept
	return next
}

// SweepIdle closes the connections idle for the cluster's IdleTimeout. Its
// owner calls it every few seconds, for every cluster: an idle connection
// does not keep its cluster enlisted in the Sweeper.
func (c *Cluster) SweepIdle() {
	idle := c.cfg.IdleTimeout
	if idle <= 0 {
		return
	}
	for _, ep := range c.state.Load().endpoints {
		ep.sweepIdle(idle)
	}
}

// Drained reports whether a cluster emptied by Update(nil) has finished
// every request and closed its connections.
func (c *Cluster) Drained() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.state.Load().endpoints) == 0 && len(c.drainingEPs) == 0
}

// Close closes every connection of the cluster; requests in flight fail.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	for _, ep := range c.state.Load().endpoints {
		ep.close()
	}
	for _, ep := range c.drainingEPs {
		ep.close()
	}
	c.drainingEPs = nil
}

// Latency is the histogram of the cluster's round trips, from sending a
// request to its response, for the requests that got one.
func (c *Cluster) Latency() *stats.Histogram { return &c.latency }

// Failures is how many of the cluster's requests failed in this sidecar
// without a response (refused by its circuit breaker, no endpoint
// reachable, overloaded, timed out, connection lost, write failed).
func (c *Cluster) Failures() uint64 { return c.failures.Load() }

// ErrorResponses is how many of the cluster's responses were a peer
// sidecar's mesh error (it could not reach its app, or timed out).
func (c *Cluster) ErrorResponses() uint64 { return c.errorResponses.Load() }

// EndpointStatus is a snapshot of one endpoint for the admin endpoint.
type EndpointStatus struct {
	Address     string
	Weight      uint32
	Conns       int
	Inflight    int64
	LatencyEWMA time.Duration
	LastError   string
	// Outlier detection: State is "healthy", "degraded" or "ejected";
	// Reason says why it is in that state; ProbeError why the last probe
	// failed.
	State, Reason, ProbeError string
	Ejections                 int
	// Unhealthy: central health checking marked it down (EndpointConfig).
	Unhealthy bool
}

// Endpoints returns a snapshot of the cluster's endpoints.
func (c *Cluster) Endpoints() []EndpointStatus {
	st := c.state.Load()
	out := make([]EndpointStatus, 0, len(st.endpoints))
	for i, ep := range st.endpoints {
		s := EndpointStatus{Address: ep.address, Weight: ep.weight.Load(), Inflight: ep.load.Inflight(), LatencyEWMA: ep.load.Latency()}
		if i < len(st.applied) {
			s.Unhealthy = st.applied[i].Unhealthy
		}
		for i := range ep.conns {
			if cn := ep.conns[i].Load(); cn != nil {
				s.Conns++
			}
		}
		if e := ep.lastErr.Load(); e != nil {
			s.LastError = (*e).Error()
		}
		if c.od != nil {
			s.State = stateNames[ep.od.state.Load()]
			if r := ep.od.reason.Load(); r != nil {
				s.Reason = *r
			}
			if e := ep.od.probeError.Load(); e != nil && s.State == "ejected" {
				s.ProbeError = *e
			}
			c.mu.Lock()
			s.Ejections = ep.od.ejections
			c.mu.Unlock()
		}
		out = append(out, s)
	}
	return out
}

// Serviceable reports whether the cluster has an endpoint that takes
// requests now: usable (weighted, not ejected) with a connection open, or
// whose last dial did not fail. An endpoint without a connection whose
// last dial failed is dialled again in the background (once its backoff is
// over), so that a later answer sees whether it is back.
func (c *Cluster) Serviceable() bool {
	ok := false
	for _, ep := range c.state.Load().endpoints {
		if !ep.usable() {
			continue
		}
		open := false
		for i := range ep.conns {
			if ep.conns[i].Load() != nil {
				open = true
			}
		}
		switch {
		case open || !ep.dialFailed.Load():
			ok = true
		case ep.backingOff() == nil && ep.dialing.CompareAndSwap(false, true):
			go ep.fill()
		}
	}
	return ok
}
