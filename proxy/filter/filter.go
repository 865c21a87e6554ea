package filter

import (
	"sync"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// Handler serves calls. Every call given to Serve is completed exactly
// once: passed on to the next handler, or answered (Request.Reject), now or
// later.
//
// The contract of Serve:
//   - It runs on the transport's event loop and must never block: a filter
//     that holds a call back (a delay) calls Request.Hold and finishes it
//     from a timer or a goroutine.
//   - The frame belongs to the caller's connection and is valid only until
//     Serve returns, unless the request is held; after passing a request on
//     or rejecting it, a handler no longer touches it.
//   - Filters are not called on the way back: the answer goes from the
//     upstream straight to the caller's connection. A filter that wanted to
//     see it would wrap Request.Down.
type Handler interface {
	Serve(r *Request)
}

// HandlerFunc is a Handler made of a function.
type HandlerFunc func(r *Request)

// Serve calls f(r).
func (f HandlerFunc) Serve(r *Request) { f(r) }

// Middleware is one filter on one route: it returns the handler that runs
// the filter and then, unless it answers the call itself, next.
type Middleware func(next Handler) Handler

// Downstream is the caller side of a call: the connection the call came in
// on. The upstream answers it (upstream.Downstream); Reject answers the
// call h with a mesh error of kind whose message is msg ("octomesh: ...").
// Both may be called from any goroutine.
type Downstream interface {
	upstream.Downstream
	Reject(h *codec.Header, kind codec.ErrorKind, msg string)
}

// Request is one call on its way down a route's chain to the route's
// forwarder.
type Request struct {
	// Frame is the whole request frame, decoded into Header.
	Frame  []byte
	Header codec.Header
	// Arrived is when the sidecar read the call, on the upstream clock
	// (upstream.Now): deadlines count from it.
	Arrived time.Duration
	// Down answers the call. Its concrete type is the downstream
	// connection, which the forwarder also hands to the upstream.
	Down Downstream
	// Peer is the caller's identity as its certificate proved it
	// (spiffe://<trust-domain>/app/<app>), or "" on a plain connection.
	// It is the connection's, set by the transport at the handshake:
	// nothing in the frame can change it.
	Peer string

	buf  *bytebufferpool.ByteBuffer // non-nil: a held request owns Frame
	held bool                       // made by Hold: from the pool
}

// Reject answers r with a mesh error. r is completed.
func (r *Request) Reject(kind codec.ErrorKind, msg string) {
	r.Down.Reject(&r.Header, kind, msg)
	r.Release()
}

// Held reports whether Hold made r.
func (r *Request) Held() bool { return r.held }

var requests = sync.Pool{New: func() any { return new(Request) }}

// Hold returns a copy of r that owns a copy of its frame, for a filter that
// finishes the call after Serve has returned. The copy comes from a pool;
// whoever completes it releases it (the forwarder does, as does Reject).
func (r *Request) Hold() *Request {
	if r.held {
		return r
	}
	held := requests.Get().(*Request)
	held.held = true
	held.buf = bytebufferpool.Get()
	held.buf.B = append(held.buf.B[:0], r.Frame...)
	held.Frame = held.buf.B
	held.Arrived, held.Down, held.Peer = r.Arrived, r.Down, r.Peer
	_ = held.Header.Decode(held.Frame) // decoded once already: cannot fail
	// The Header describes the call as it arrived: the frame's seqIDs
	// may have been rewritten since (a mirrored copy).
	held.Header.SeqID, held.Header.PayloadSeqID = r.Header.SeqID, r.Header.PayloadSeqID
	return held
}

// Adopt moves the frame a held r owns to the caller (nil when r is not
// held), which must put it back into bytebufferpool; r keeps Frame as a
// view but no longer owns it, and Release returns only r itself.
func (r *Request) Adopt() *bytebufferpool.ByteBuffer {
	b := r.buf
	r.buf = nil
	return b
}

// Release returns a held request and the frame it owns to their pools; on
// a request that is not held it does nothing.
func (r *Request) Release() {
	if !r.held {
		return
	}
	if r.buf != nil {
		bytebufferpool.Put(r.buf)
	}
	*r = Request{}
	requests.Put(r)
}
