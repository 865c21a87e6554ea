package upstream

import (
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
)

// Outlier states of an endpoint.
const (
	stateHealthy uint32 = iota
	// stateDegraded: failing or lagging, not yet enough to eject, or just
	// back from an ejection: a quarter of its weight.
	stateDegraded
	// stateEjected: out of balancing until its ejection time is over and a
	// probe has passed.
	stateEjected
)

var stateNames = [...]string{"healthy", "degraded", "ejected"}

// degradedShare: a degraded endpoint keeps 1/degradedShare of its weight.
const degradedShare = 4

// outlier is a cluster's outlier detection. The request path only counts
// (endpoint.record); Sweep, under the cluster's lock, decides: it ejects
// an endpoint that failed ConsecutiveFailures times in a row within one
// sweep, and judges failure rates and latencies once per Interval.
type outlier struct {
	cfg       config.OutlierDetection
	degradeAt int32 // consecutive failures that down-weight
	next      time.Duration
}

func newOutlier(cfg config.OutlierDetection) *outlier {
	o := &outlier{cfg: cfg, degradeAt: int32(cfg.ConsecutiveFailures / 2)}
	if o.degradeAt < 1 {
		o.degradeAt = int32(cfg.ConsecutiveFailures)
	}
	return o
}

// odEndpoint is an endpoint's outlier detection state. The atomics are
// written on the request path; the rest only under the cluster's lock.
type odEndpoint struct {
	state        atomic.Uint32
	consecutive  atomic.Int32
	calls, fails atomic.Int64
	rtt          atomic.Int64 // sum over the interval, nanoseconds
	flagged      atomic.Bool  // consecutive failures reached a threshold
	probing      atomic.Bool
	probePassed  atomic.Int64 // Now() of the last probe that passed
	probeFailed  atomic.Int64 // Now() of the last probe that failed
	reason       atomic.Pointer[string]
	probeError   atomic.Pointer[string] // why the last probe failed

	ejections        int
	since, until     time.Duration
	nextProbe        time.Duration
	intervalsHealthy int
}

// gatewayFailure reports whether an answer a peer sidecar made itself
// means that the endpoint (the peer or its app) cannot serve: those count
// as failures of the endpoint. Rate limits, faults and deadlines are the
// caller's or the route's business.
func gatewayFailure(k codec.ErrorKind) bool {
	switch k {
	case codec.KindUnreachable, codec.KindOverloaded, codec.KindCircuitOpen, codec.KindConnLost, codec.KindTimeout, codec.KindNoRoute, codec.KindNoInstances:
		return true
	}
	return false
}

// record counts one finished call of the endpoint.
func (ep *Endpoint) record(failed bool, rtt time.Duration) {
	o := ep.cluster.od
	if o == nil {
		return
	}
	od := &ep.od
	od.calls.Add(1)
	od.rtt.Add(int64(rtt))
	if !failed {
		if od.consecutive.Load() != 0 {
			od.consecutive.Store(0)
		}
		return
	}
	od.fails.Add(1)
	n := od.consecutive.Add(1)
	if t := int32(o.cfg.ConsecutiveFailures); t > 0 && (n == t || n == o.degradeAt) {
		od.flagged.Store(true)
		if sw := ep.cluster.cfg.Sweeper; sw != nil {
			sw.wakeUp() // judged at the next sweep: make it soon
		}
	}
}

func (ep *Endpoint) setReason(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	ep.od.reason.Store(&s)
}

// sweepOutliers applies what the request path counted: ejections,
// down-weighting, returns and probes. Sweep calls it.
//
// It returns when it has something to do next (an interval's end, an
// ejected endpoint's next probe or the end of its ejection; NoDeadline:
// nothing), so that a cluster with calls in flight is swept on time for
// those as well as for its deadlines.
func (c *Cluster) sweepOutliers(now time.Duration) (next time.Duration) {
	next = NoDeadline
	o := c.od
	if o == nil {
		return next
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return next
	}
	st := c.state.Load()
	changed := false
	for _, ep := range st.endpoints {
		if !ep.od.flagged.Swap(false) || ep.od.state.Load() == stateEjected {
			continue
		}
		switch n := ep.od.consecutive.Load(); {
		case o.cfg.ConsecutiveFailures > 0 && n >= int32(o.cfg.ConsecutiveFailures):
			changed = c.eject(st, ep, now, fmt.Sprintf("%d consecutive failures", n)) || changed
		case n >= o.degradeAt && ep.od.state.Load() == stateHealthy:
			ep.od.state.Store(stateDegraded)
			ep.setReason("%d consecutive failures (ejected at %d)", n, o.cfg.ConsecutiveFailures)
			c.stats.Degraded.Add(1)
			changed = true
		}
	}
	if now >= o.next {
		if o.next != 0 {
			changed = c.judgeInterval(st, now) || changed
		}
		o.next = now + o.cfg.Interval.Std()
	}
	for _, ep := range st.endpoints {
		od := &ep.od
		if od.state.Load() != stateEjected {
			continue
		}
		passed, failed := od.probePassed.Load(), od.probeFailed.Load()
		if now >= od.until && passed >= int64(od.since) && passed > failed {
			od.state.Store(stateDegraded)
			od.consecutive.Store(0)
			ep.setReason("back after %d ejection(s): a probe passed; a quarter of its weight until an interval passes without failures", od.ejections)
			c.stats.Returns.Add(1)
			changed = true
			continue
		}
		if now >= od.nextProbe && od.probing.CompareAndSwap(false, true) {
			od.nextProbe = now + o.cfg.ProbeInterval.Std()
			c.stats.Probes.Add(1)
			go ep.probe()
		}
		if od.nextProbe > now {
			next = min(next, od.nextProbe)
		}
		if od.until > now {
			next = min(next, od.until)
		}
	}
	if changed {
		c.republishLocked(st)
	}
	return min(next, o.next)
}

// eject takes ep out of balancing, unless the cluster's share of ejected
// endpoints is at its limit (one endpoint always may be).
func (c *Cluster) eject(st *clusterState, ep *Endpoint, now time.Duration, why string) bool {
	o := c.od
	n := 0
	for _, e := range st.endpoints {
		if e.od.state.Load() == stateEjected {
			n++
		}
	}
	if limit := max(1, len(st.endpoints)*o.cfg.MaxEjectionPercent/100); n >= limit {
		c.stats.EjectionsRefused.Add(1)
		// As in Envoy, a refused ejection starts the count again, so that
		// a run of failures that goes on asks again once there is room.
		ep.od.consecutive.Store(0)
		ep.setReason("%s; not ejected: %d of %d endpoints are (max_ejection_percent %d)", why, n, len(st.endpoints), o.cfg.MaxEjectionPercent)
		if ep.od.state.Load() == stateHealthy {
			ep.od.state.Store(stateDegraded)
			c.stats.Degraded.Add(1)
			return true
		}
		return false
	}
	od := &ep.od
	od.ejections++
	d := min(time.Duration(od.ejections)*o.cfg.BaseEjectionTime.Std(), o.cfg.MaxEjectionTime.Std())
	od.since, od.until = now, now+d
	od.nextProbe = now + o.cfg.ProbeInterval.Std()
	od.intervalsHealthy = 0
	od.state.Store(stateEjected)
	od.consecutive.Store(0)
	ep.setReason("ejected for %s (ejection %d): %s", d, od.ejections, why)
	c.stats.Ejections.Add(1)
	return true
}

// judgeInterval judges the interval that just ended: failure rate against
// FailurePercent, average latency against LatencyFactor times the median
// of the other endpoints' averages. Half the limit down-weights; an
// endpoint that met neither half and has no run of failures is healthy
// again.
func (c *Cluster) judgeInterval(st *clusterState, now time.Duration) bool {
	o := c.od
	type sample struct {
		calls, fails int64
		avg          time.Duration
	}
	samples := make([]sample, len(st.endpoints))
	var avgs []time.Duration
	for i, ep := range st.endpoints {
		s := sample{calls: ep.od.calls.Swap(0), fails: ep.od.fails.Swap(0)}
		rtt := ep.od.rtt.Swap(0)
		if s.calls > 0 {
			s.avg = time.Duration(rtt / s.calls)
		}
		samples[i] = s
		if s.calls >= int64(o.cfg.MinRequests) {
			avgs = append(avgs, s.avg)
		}
	}
	slices.Sort(avgs)
	changed := false
	for i, ep := range st.endpoints {
		od := &ep.od
		s := samples[i]
		if od.state.Load() == stateEjected || s.calls < int64(o.cfg.MinRequests) {
			// Too few calls to judge by: a degraded endpoint keeps its
			// quarter weight until it has enough.
			continue
		}
		var eject, degrade string
		if p := o.cfg.FailurePercent; p > 0 {
			rate := float64(s.fails) * 100 / float64(s.calls)
			switch {
			case rate >= float64(p):
				eject = fmt.Sprintf("%.0f%% of %d calls failed in %s (failure_percent %d)", rate, s.calls, o.cfg.Interval.Std(), p)
			case rate >= float64(p)/2:
				degrade = fmt.Sprintf("%.0f%% of %d calls failed in %s (ejected at %d%%)", rate, s.calls, o.cfg.Interval.Std(), p)
			}
		}
		if f := o.cfg.LatencyFactor; f > 0 && eject == "" && len(avgs) >= 2 {
			med := medianOfOthers(avgs, s.avg)
			if med > 0 {
				ratio := float64(s.avg) / float64(med)
				switch {
				case ratio >= f:
					eject = fmt.Sprintf("average latency %s is %.1fx the others' median %s (latency_factor %g)", s.avg, ratio, med, f)
				case ratio >= max(f/2, 1.5):
					degrade = fmt.Sprintf("average latency %s is %.1fx the others' median %s (ejected at %gx)", s.avg, ratio, med, f)
				}
			}
		}
		switch {
		case eject != "":
			changed = c.eject(st, ep, now, eject) || changed
		case degrade != "":
			od.intervalsHealthy = 0
			if od.state.Load() == stateHealthy {
				od.state.Store(stateDegraded)
				c.stats.Degraded.Add(1)
				changed = true
			}
			ep.setReason("%s", degrade)
		default:
			od.intervalsHealthy++
			if od.ejections > 0 && od.intervalsHealthy%2 == 0 {
				od.ejections-- // each quiet pair of intervals shortens the next ejection
			}
			if od.state.Load() == stateDegraded && (o.cfg.ConsecutiveFailures == 0 || od.consecutive.Load() < o.degradeAt) {
				od.state.Store(stateHealthy)
				ep.setReason("healthy: %d calls in %s, %d failed", s.calls, o.cfg.Interval.Std(), s.fails)
				changed = true
			}
		}
	}
	return changed
}

// medianOfOthers is the lower median of sorted without one occurrence of
// own.
func medianOfOthers(sorted []time.Duration, own time.Duration) time.Duration {
	i, _ := slices.BinarySearch(sorted, own)
	k := (len(sorted) - 2) / 2 // in the list without own
	if k < i {
		return sorted[k]
	}
	return sorted[k+1]
}

// probe checks an ejected endpoint once: a health frame that the peer
// sidecar answers (conn.control records the answer), or a fresh
// connection. It runs on a goroutine of its own.
func (ep *Endpoint) probe() {
	defer ep.od.probing.Store(false)
	c := ep.cluster
	kind := c.od.cfg.Probe
	if kind == "" {
		kind = config.ProbeHealth
		if ep.network == "unix" {
			kind = config.ProbeConnect
		}
	}
	if kind == config.ProbeConnect {
		nc, err := net.DialTimeout(ep.network, ep.address, c.cfg.ConnectTimeout)
		if err != nil {
			ep.probeResult(false, err.Error())
			return
		}
		nc.Close()
		ep.probeResult(true, "")
		return
	}
	cn, err := ep.pick(true)
	if err != nil || cn == nil {
		msg := "no connection"
		if err != nil {
			msg = err.Error()
		}
		ep.probeResult(false, msg)
		return
	}
	if err := cn.sendControl(codec.ControlHealth); err != nil {
		ep.probeResult(false, err.Error())
	}
	// The answer arrives on the connection (conn.control); a peer that
	// does not answer before the next probe leaves the endpoint ejected.
}

func (ep *Endpoint) probeResult(ok bool, why string) {
	t := int64(Now())
	if ok {
		ep.od.probePassed.Store(t)
		if sw := ep.cluster.cfg.Sweeper; sw != nil {
			sw.wakeUp() // the sweep that returns it: soon
		}
		return
	}
	ep.od.probeFailed.Store(t)
	ep.od.probeError.Store(&why)
	ep.cluster.stats.ProbeFailures.Add(1)
}
