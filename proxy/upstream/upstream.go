package upstream

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/stats"
)

// Request is one request frame to forward. Frame is a view into the
// downstream's read buffer: Forward rewrites its seqIDs in place and has
// written it (or given up) by the time it returns. Once the request is
// completed (Down called) the cluster no longer touches the Request, so
// the Downstream may reuse it for another try at once.
type Request struct {
	Frame   []byte
	Header  *codec.Header // decoded from Frame; its seqIDs are the caller's
	Down    Downstream
	Timeout time.Duration
	// Picked is the endpoint TryForward chose for a request it left to
	// Forward (it had no connection yet): Forward keeps to it, so a hash
	// key's calls, or a round robin's turn, do not move while it dials.
	Picked *Endpoint
	// Avoid, when set, is the endpoint of a failed earlier try: another
	// is chosen when there is one.
	Avoid *Endpoint
	// Retry marks a try after the first (the retry budget counts calls by
	// their first try).
	Retry bool
	// Sent is set to the endpoint the request was written to, before the
	// request can complete.
	Sent *Endpoint
}

// Origin is what a downstream needs to answer its caller: the request's
// seqIDs and encodings as they arrived.
type Origin struct {
	SeqID, PayloadSeqID int32
	Payload             codec.PayloadKind
	ProtocolID          uint8
	MessageType         uint8
}

// Downstream is the caller side of forwarded requests. Every request given
// to Forward is completed exactly once, by Respond or by Fail, possibly on
// another goroutine and possibly before Forward returns. A oneway request
// expects no response: once written it is done, and it reaches Fail only
// if it could not be sent.
type Downstream interface {
	// Respond delivers the response, its seqIDs already restored, and its
	// decoded header. Both are valid only during the call.
	Respond(frame []byte, h *codec.Header)
	// Fail ends a request that got no response.
	Fail(o Origin, f Failure)
}

// Kinds of failure, for errors.Is on Failure.Kind.
var (
	ErrOverloaded  = errors.New("upstream overloaded")
	ErrUnreachable = errors.New("upstream unreachable")
	ErrTimeout     = errors.New("upstream timeout")
	ErrConnLost    = errors.New("upstream connection lost")
	// ErrCircuitOpen: a circuit breaker of the cluster refused the request.
	ErrCircuitOpen = errors.New("circuit open")
)

// Failure says why a request got no response. It is a value, so failing a
// request allocates nothing.
type Failure struct {
	Kind     error
	Cluster  string
	Endpoint string // empty when no endpoint was chosen
	Cause    error  // optional detail (a dial error, a close reason)
	Limit    int    // for ErrOverloaded and ErrCircuitOpen: the limit that was hit
	// LimitName names the limit for ErrCircuitOpen
	// ("circuit_breaker.max_requests").
	LimitName string
	// Unsent: the request was not written whole (its connection failed
	// under the write), so the endpoint cannot have acted on it.
	Unsent bool
}

// ErrorKind is the failure's kind as the mesh tells the caller.
func (f *Failure) ErrorKind() codec.ErrorKind {
	switch f.Kind {
	case ErrOverloaded:
		return codec.KindOverloaded
	case ErrTimeout:
		return codec.KindTimeout
	case ErrConnLost:
		return codec.KindConnLost
	case ErrCircuitOpen:
		return codec.KindCircuitOpen
	}
	return codec.KindUnreachable
}

// NotSent reports whether the endpoint cannot have seen the request: none
// could take it, or its write failed.
func (f *Failure) NotSent() bool {
	return f.Unsent || f.Kind == ErrOverloaded || f.Kind == ErrUnreachable || f.Kind == ErrCircuitOpen
}

// AppendMessage appends a one-line description for the caller.
func (f *Failure) AppendMessage(dst []byte) []byte {
	dst = append(dst, "octomesh: "...)
	dst = append(dst, f.Kind.Error()...)
	dst = append(dst, ": cluster "...)
	dst = append(dst, f.Cluster...)
	if f.Endpoint != "" {
		dst = append(dst, " endpoint "...)
		dst = append(dst, f.Endpoint...)
	}
	switch {
	case f.LimitName != "":
		dst = append(dst, " ("...)
		dst = append(dst, f.LimitName...)
		dst = append(dst, '=')
		dst = strconv.AppendInt(dst, int64(f.Limit), 10)
		dst = append(dst, ')')
	case f.Limit > 0:
		dst = append(dst, " (limit "...)
		dst = strconv.AppendInt(dst, int64(f.Limit), 10)
		dst = append(dst, " requests in flight per connection)"...)
	}
	if f.Cause != nil {
		dst = append(dst, ": "...)
		dst = append(dst, f.Cause.Error()...)
	}
	return dst
}

// Stats counts what the clusters did; every field may be read at any time.
// Per-request counts are striped (stats.Counter); per-connection ones are
// plain atomics. Round-trip latency is kept per cluster (Cluster.Latency).
type Stats struct {
	Requests, Responses, LateResponses stats.Counter
	Timeouts, ConnLost, Overloaded     stats.Counter
	Unreachable, WriteErrors           stats.Counter
	ProxyRestarts                      stats.Counter // ProxyRestart frames received
	// Circuit breaking: requests refused over max_requests or
	// max_pending; retries refused over the budget or max_retries.
	CircuitOpen, PendingOverflow        stats.Counter
	RetryBudgetExhausted, RetryOverflow stats.Counter
	// Outlier detection.
	Ejections, EjectionsRefused, Returns, Degraded atomic.Uint64
	Probes, ProbeFailures                          atomic.Uint64
	DialFails                                      atomic.Uint64
	// IdleClosed: connections closed after the cluster's IdleTimeout.
	IdleClosed atomic.Uint64
	ConnsOpen  atomic.Int64
}

var epoch = time.Now()

// Now is the clock of the request path: monotonic time since the process
// started. Deadlines and arrival times are on it.
func Now() time.Duration { return time.Since(epoch) }

func now() time.Duration { return Now() }

// OriginOf is what answering the call h needs.
func OriginOf(h *codec.Header) Origin {
	return Origin{SeqID: h.SeqID, PayloadSeqID: h.PayloadSeqID, Payload: h.Payload, ProtocolID: h.ProtocolID, MessageType: h.MessageType}
}
