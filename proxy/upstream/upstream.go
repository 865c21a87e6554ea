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
// written it (or given up) by the time it returns.
type Request struct {
	Frame   []byte
	Header  *codec.Header // decoded from Frame
	Down    Downstream
	HashKey []byte
	Timeout time.Duration
	// Picked is the endpoint TryForward chose for a request it left to
	// Forward (it had no connection yet): Forward keeps to it, so a hash
	// key's calls, or a round robin's turn, do not move while it dials.
	Picked *Endpoint
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
	// Respond delivers the response, its seqIDs already restored. frame is
	// valid only during the call.
	Respond(frame []byte)
	// Fail ends a request that got no response.
	Fail(o Origin, f Failure)
}

// Kinds of failure, for errors.Is on Failure.Kind.
var (
	ErrOverloaded  = errors.New("upstream overloaded")
	ErrUnreachable = errors.New("upstream unreachable")
	ErrTimeout     = errors.New("upstream timeout")
	ErrConnLost    = errors.New("upstream connection lost")
)

// Failure says why a request got no response. It is a value, so failing a
// request allocates nothing.
type Failure struct {
	Kind     error
	Cluster  string
	Endpoint string // empty when no endpoint was chosen
	Cause    error  // optional detail (a dial error, a close reason)
	Limit    int    // for ErrOverloaded: the limit that was hit
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
	if f.Limit > 0 {
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
	DialFails                          atomic.Uint64
	ConnsOpen                          atomic.Int64
}

var epoch = time.Now()

// now is a monotonic clock reading.
func now() time.Duration { return time.Since(epoch) }
