package downstream

import (
	"sync"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// call is one call that may be tried more than once: it owns a copy of its
// frame (which each try rewrites in place), stands between the upstream
// and the caller's connection, and decides after each failed try whether
// to try again, to another endpoint of the same cluster:
//
//   - a try that cannot have reached the server (no connection could be
//     made or written to, or the peer sidecar answered that it did not
//     forward: unreachable, overloaded, circuit_open, restarting) is
//     retried;
//   - a try that timed out, or whose connection was lost after it was
//     written, or that the peer answered timeout or connection_lost, is
//     retried only on a route marked idempotent;
//   - never more than the route's attempts, past the call's deadline, or
//     beyond the cluster's retry budget and retry breaker.
//
// Calls come from a pool and go back to it once their caller has the
// answer; a call is touched only by whoever holds it: the code that started
// a try until the cluster took it, then whoever completes that try.
type call struct {
	rt       *Route
	t        *target
	down     filter.Downstream
	buf      *bytebufferpool.ByteBuffer
	hdr      codec.Header // the frame as it arrived (seqIDs included)
	up       upstream.Request
	deadline time.Duration
	tries    int
	retrying bool // the try in flight is a retry: the cluster counts it in flight
}

var calls = sync.Pool{New: func() any { return new(call) }}

// startCall takes over r's call: it copies the frame (adding the route's
// timeout to the header when withTimeout) and sends the first try.
func startCall(rt *Route, t *target, r *filter.Request, deadline time.Duration, withTimeout bool) {
	c := calls.Get().(*call)
	c.rt, c.t, c.down, c.deadline = rt, t, r.Down, deadline
	c.buf = bytebufferpool.Get()
	if withTimeout {
		b, err := r.Header.AppendWithCallerTimeout(c.buf.B[:0], r.Frame, deadline-upstream.Now())
		if err != nil { // a header at its size limit: send it as it came
			b = append(b[:0], r.Frame...)
		}
		c.buf.B = b
	} else {
		c.buf.B = append(c.buf.B[:0], r.Frame...)
	}
	_ = c.hdr.Decode(c.buf.B) // a valid frame, with at most a timeout added
	c.hdr.SeqID, c.hdr.PayloadSeqID = r.Header.SeqID, r.Header.PayloadSeqID
	c.try(nil)
}

// try sends the call once more, avoiding the endpoint of the last try. The
// header tells the next hop the try's timeout: the per-try timeout, or what
// is left of the call's deadline when that is sooner (as Envoy does).
func (c *call) try(avoid *upstream.Endpoint) {
	timeout := c.deadline - upstream.Now()
	if p := c.rt.retry; p != nil && p.PerTryTimeout > 0 && p.PerTryTimeout.Std() < timeout {
		timeout = p.PerTryTimeout.Std()
	}
	c.hdr.SetCallerTimeout(c.buf.B, timeout)
	c.tries++
	c.up = upstream.Request{Frame: c.buf.B, Header: &c.hdr, Down: c, Timeout: timeout, Avoid: avoid, Retry: c.tries > 1}
	if !c.t.c.TryForward(&c.up) {
		c.rt.s.Stats.RequestsWaited.Add(1)
		go c.t.c.Forward(&c.up)
	}
}

// Respond takes a try's answer: an answer the peer sidecar made instead of
// the server may be retried; any other goes to the caller.
func (c *call) Respond(frame []byte, h *codec.Header) {
	if k := h.MeshError; k != codec.KindNone && c.retryable(k, false, k.NotForwarded()) && c.again() {
		return
	}
	c.finishTry()
	c.down.Respond(frame, h)
	c.release()
}

// Fail takes a try that got no answer. A refusal by this sidecar's own
// cluster (its breaker, every connection full, no endpoint reachable: the
// cluster tried every endpoint already) is not retried, as in Envoy; a
// write that failed is.
func (c *call) Fail(o upstream.Origin, f upstream.Failure) {
	k := f.ErrorKind()
	if c.retryable(k, k == codec.KindTimeout, f.Unsent) && c.again() {
		return
	}
	c.finishTry()
	c.down.Fail(o, f)
	c.release()
}

// retryable reports whether a try that failed with kind may be tried
// again: at once when it cannot have reached the server (notSent), after a
// timeout or a loss once written only on an idempotent route.
func (c *call) retryable(kind codec.ErrorKind, timedOut, notSent bool) bool {
	p := c.rt.retry
	if p == nil || c.tries >= p.Attempts {
		return false
	}
	switch {
	case notSent && kind != codec.KindRateLimited && kind != codec.KindFault && kind != codec.KindNoRoute && kind != codec.KindNoInstances && kind != codec.KindDeadlineExceeded:
		return true
	case kind == codec.KindTimeout || kind == codec.KindConnLost || timedOut:
		return p.Idempotent
	}
	return false
}

// again sends the next try, if the deadline and the cluster allow one.
func (c *call) again() bool {
	if c.deadline-upstream.Now() <= time.Millisecond {
		return false
	}
	c.finishTry()
	if !c.t.c.AllowRetry() {
		c.rt.s.Stats.RetriesRefused.Add(1)
		return false
	}
	c.retrying = true
	c.rt.s.Stats.Retries.Add(1)
	c.try(c.up.Sent)
	return true
}

// finishTry ends the cluster's count of a retry in flight.
func (c *call) finishTry() {
	if c.retrying {
		c.t.c.RetryDone()
		c.retrying = false
	}
}

func (c *call) release() {
	bytebufferpool.Put(c.buf)
	*c = call{}
	calls.Put(c)
}
