package downstream

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// Route is one route's target: its filter chain (Handler) and, at the
// chain's end, its forwarder (Serve). It is immutable; a config change
// builds new Routes.
type Route struct {
	// Handler runs the route's filters, then Serve.
	Handler filter.Handler

	s       *Sidecar
	name    string // "service/method", for messages
	targets []target
	total   uint32 // sum of the targets' weights
	// passTimeout: the route sets its own timeout, which goes to the next
	// hop even when the caller sent none.
	passTimeout bool
	retry       *config.Retry
	mirror      *mirror
}

// target is one cluster of the route (of its split) and its timeout.
type target struct {
	c       *upstream.Cluster
	upTo    uint32 // cumulative weight: picked when a draw is below it
	timeout time.Duration
}

type mirror struct {
	c         *upstream.Cluster
	threshold uint64 // a draw below it mirrors; 1<<32 is 100%
	timeout   time.Duration
}

// ClusterRef is a live cluster as a route needs it.
type ClusterRef struct {
	C *upstream.Cluster
	// RequestTimeout is the cluster's timeout for routes that set none.
	RequestTimeout time.Duration
}

// Env is what building a route needs besides its config.
type Env struct {
	Sidecar  *Sidecar
	Clusters map[string]ClusterRef
	Registry *filter.Registry
	Chain    filter.Chain
	Filters  *filter.Env
}

// NewRoute builds the route cfg describes (config.CheckRoutes has
// validated it). A problem is a FieldError relative to the route.
func NewRoute(cfg *config.Route, env *Env) (*Route, *config.FieldError) {
	rt := &Route{s: env.Sidecar, name: cfg.Service + "/" + cfg.Method, retry: cfg.Retry, passTimeout: cfg.Timeout > 0}
	add := func(field, name string, weight uint32) *config.FieldError {
		ref, ok := env.Clusters[name]
		if !ok {
			return &config.FieldError{Field: field, Msg: fmt.Sprintf("unknown cluster %q", name)}
		}
		t := target{c: ref.C, timeout: cfg.Timeout.Std()}
		if t.timeout == 0 {
			t.timeout = ref.RequestTimeout
		}
		rt.total += weight
		t.upTo = rt.total
		rt.targets = append(rt.targets, t)
		return nil
	}
	if cfg.Cluster != "" {
		if fe := add("cluster", cfg.Cluster, 1); fe != nil {
			return nil, fe
		}
	}
	for i, w := range cfg.Split {
		if fe := add(fmt.Sprintf("split[%d].cluster", i), w.Cluster, w.Weight); fe != nil {
			return nil, fe
		}
	}
	if len(rt.targets) == 0 {
		return nil, &config.FieldError{Field: "cluster", Msg: "missing"}
	}
	if m := cfg.Mirror; m != nil && m.Percent > 0 {
		ref, ok := env.Clusters[m.Cluster]
		if !ok {
			return nil, &config.FieldError{Field: "mirror.cluster", Msg: fmt.Sprintf("unknown cluster %q", m.Cluster)}
		}
		rt.mirror = &mirror{c: ref.C, threshold: uint64(m.Percent / 100 * (1 << 32)), timeout: ref.RequestTimeout}
	}
	h, fe := env.Chain.Build(env.Registry, cfg, env.Filters, rt)
	if fe != nil {
		return nil, fe
	}
	rt.Handler = h
	return rt, nil
}

// pick chooses the target of one call by weight.
func (rt *Route) pick() *target {
	if len(rt.targets) == 1 {
		return &rt.targets[0]
	}
	n := rand.Uint32N(rt.total)
	for i := range rt.targets {
		if n < rt.targets[i].upTo {
			return &rt.targets[i]
		}
	}
	return &rt.targets[len(rt.targets)-1]
}

// Serve forwards one call: the end of the route's chain. The call's
// deadline is the route's timeout or the caller's own (TTHeader
// RPCTimeout), whichever is sooner, counted from its arrival; what is left
// of it goes on to the next hop in the header. A route with retries (or
// one that must add its timeout to the header) hands the call to a call
// (call.go), which owns a copy of the frame; the rest go straight to the
// cluster.
func (rt *Route) Serve(r *filter.Request) {
	t := rt.pick()
	h := &r.Header
	timeout := t.timeout
	callerTimeout, fromCaller := h.CallerTimeout(r.Frame)
	if fromCaller && callerTimeout < timeout {
		timeout = callerTimeout
	}
	deadline := r.Arrived + timeout
	left := deadline - upstream.Now()
	if left <= 0 {
		rt.s.Stats.DeadlineExceeded.Add(1)
		r.Reject(codec.KindDeadlineExceeded, "octomesh: deadline exceeded: the call's time ran out before route "+rt.name+" could forward it")
		return
	}
	if fromCaller {
		h.SetCallerTimeout(r.Frame, left)
	}
	if h.MessageType != codec.MessageOneway && (rt.retry != nil || (!fromCaller && rt.passTimeout)) {
		startCall(rt, t, r, deadline, !fromCaller && rt.passTimeout)
		rt.sendMirror(r)
		r.Release()
		return
	}
	up := upstream.Request{Frame: r.Frame, Header: h, Down: r.Down, Timeout: left}
	if !t.c.TryForward(&up) {
		rt.sendMirror(r)
		rt.forwardLater(t, r, left, up.Picked)
		return
	}
	rt.sendMirror(r)
	r.Release()
}

// forwardLater forwards r from a goroutine, which owns r (a held r) or a
// copy of it: its cluster has to dial first.
func (rt *Route) forwardLater(t *target, r *filter.Request, timeout time.Duration, picked *upstream.Endpoint) {
	rt.s.Stats.RequestsWaited.Add(1)
	held := r.Hold()
	go func() {
		up := upstream.Request{Frame: held.Frame, Header: &held.Header, Down: held.Down, Timeout: timeout, Picked: picked}
		t.c.Forward(&up)
		held.Release()
	}()
}

// sendMirror copies a share of the route's calls to its shadow cluster,
// after the call itself has gone: the copy reuses the frame (its seqIDs are
// rewritten again) and its answer is dropped. A shadow that would have to
// wait for a connection drops the copy (MirrorDropped); one that cannot
// take it fails it (MirrorFailed).
func (rt *Route) sendMirror(r *filter.Request) {
	m := rt.mirror
	if m == nil || uint64(rand.Uint32()) >= m.threshold || r.Header.MessageType == codec.MessageOneway {
		return
	}
	up := upstream.Request{Frame: r.Frame, Header: &r.Header, Down: discard{rt.s}, Timeout: m.timeout}
	if m.c.TryForward(&up) {
		rt.s.Stats.Mirrored.Add(1)
		return
	}
	rt.s.Stats.MirrorDropped.Add(1)
}

// discard is the caller of mirrored copies: their answers are dropped, and
// those the shadow could not complete (no room, breaker open, unreachable,
// timed out) counted as MirrorFailed, whether this sidecar gave up on them
// or the shadow's own sidecar answered with a mesh error (its timeout, its
// overload, no instance behind it).
type discard struct{ s *Sidecar }

func (d discard) Respond(_ []byte, h *codec.Header) {
	if h.MeshError != codec.KindNone {
		d.s.Stats.MirrorFailed.Add(1)
	}
}

func (d discard) Fail(upstream.Origin, upstream.Failure) { d.s.Stats.MirrorFailed.Add(1) }
