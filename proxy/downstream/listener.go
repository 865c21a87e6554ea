package downstream

import (
	"sync/atomic"

	"github.com/octomesh/octomesh/proxy/router"
	"github.com/octomesh/octomesh/proxy/transport"
	"github.com/octomesh/octomesh/stats"
)

// Stats counts what the request path decided, striped (stats.Counter):
// every field is updated once per request at most, from any goroutine.
type Stats struct {
	Requests          stats.Counter
	NoRoute           stats.Counter
	NoInstances       stats.Counter
	OverloadedConn    stats.Counter
	OverloadedSidecar stats.Counter
	ErrorResponses    stats.Counter
	OnewayDropped     stats.Counter
	// RequestsWaited: requests that went on from a goroutine because they
	// had to wait (an on-demand route, a first upstream connection).
	RequestsWaited stats.Counter
	// RestartAnswers: calls answered "restarting" while handing over.
	RestartAnswers stats.Counter
	// DeadlineExceeded: calls whose caller's timeout ran out before they
	// could be forwarded.
	DeadlineExceeded stats.Counter
	// HealthProbes: health frames from peer sidecars answered.
	HealthProbes stats.Counter
	// Retries: tries after the first; RetriesRefused: retries the
	// cluster's budget or breaker refused (the caller got the failure).
	Retries, RetriesRefused stats.Counter
	// Mirrored: copies handed to a shadow cluster; MirrorDropped: copies
	// not sent because the shadow had no connection ready; MirrorFailed:
	// copies the shadow could not complete (no room, breaker open,
	// unreachable, timed out).
	Mirrored, MirrorDropped, MirrorFailed stats.Counter
}

// Limits bound the calls in flight.
type Limits struct {
	MaxInflight              int64
	MaxInflightPerConnection int32
}

// Sidecar is what every listener of one sidecar shares.
type Sidecar struct {
	Limits   Limits
	Stats    Stats
	Inflight atomic.Int64
	// Healthy answers a peer's health probe: can this sidecar serve its
	// app's calls? nil: always.
	Healthy func() bool
}

// OnDemand finds routes the sidecar has not subscribed to yet.
type OnDemand interface {
	// Await subscribes to service and reports, after at most a bounded
	// wait, whether its routes arrived, or the control plane said the
	// service has no instances. It blocks.
	Await(service string) Found
}

// Found is what an OnDemand lookup found out about a service.
type Found uint8

const (
	// NotFound: no answer in time, or the subscription was refused.
	NotFound Found = iota
	// Routed: the service's routes arrived.
	Routed
	// NoInstances: the control plane says the service has no instances.
	NoInstances
)

// Listener is what the connections of one listener share.
type Listener struct {
	Name    string
	Sidecar *Sidecar
	Routes  router.Router[*Route]
	// Restarting: a new process serves this socket now; answer new calls
	// "restarting".
	Restarting atomic.Bool
	// OnDemand, when set, looks up a route that is missing for a call
	// that names its service.
	OnDemand OnDemand
}

// NewConn is the transport.Handler factory for the listener's connections.
func (l *Listener) NewConn(c *transport.Conn) transport.Handler {
	return &Conn{l: l, s: l.Sidecar, c: c, peer: c.Peer()}
}
