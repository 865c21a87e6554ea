package upstream

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/transport"
)

// slot is one request in flight on a conn.
type slot struct {
	down     Downstream
	origin   Origin
	gen      uint32
	inUse    bool
	deadline time.Duration // since epoch
	start    time.Duration
}

// conn is one multiplexed connection to an endpoint. Each request in flight
// holds a slot; the seqID sent upstream encodes the slot index and a
// generation, so a late response to a slot since reused is recognised and
// dropped. Whoever takes a slot out of use (response, timeout, write
// failure, connection loss) completes that request, exactly once.
type conn struct {
	ep *Endpoint
	tc *transport.Conn

	mu      sync.Mutex
	slots   []slot
	free    []uint32 // stack of free slot indexes
	hi      int      // slots at or above hi have never been used
	idxBits uint
	idxMask uint32
	genMask uint32 // the generation bits a seqID carries
	closed  bool
	// draining: the peer sent ProxyRestart; no new request, close when
	// the last slot is free.
	draining bool
	expired  []expiredSlot // reused by sweep; sweeper goroutine only

	inflight atomic.Int32
	hdr      codec.Header // the connection's task (on the poller) only
}

type expiredSlot struct {
	down   Downstream
	origin Origin
}

func newConn(ep *Endpoint, maxInflight int) *conn {
	n := 1 << bits.Len(uint(maxInflight-1)) // power of two >= maxInflight
	c := &conn{ep: ep, slots: make([]slot, n), free: make([]uint32, 0, maxInflight)}
	c.idxBits = uint(bits.Len(uint(n - 1)))
	c.idxMask = uint32(n - 1)
	c.genMask = 0x7fffffff >> c.idxBits
	for i := maxInflight - 1; i >= 0; i-- {
		c.free = append(c.free, uint32(i))
	}
	return c
}

// seqID is what goes upstream for slot idx at generation gen: always
// non-negative, so the generation keeps 31-idxBits bits.
func (c *conn) seqID(idx, gen uint32) int32 {
	return int32((gen&c.genMask)<<c.idxBits | idx)
}

// send forwards one request frame on c. It reports false when c has no free
// slot; every other outcome completes the request through r.Down.
func (c *conn) send(r *Request, now time.Duration) bool {
	if r.Header.MessageType == codec.MessageOneway {
		if err := c.tc.WriteFrame(r.Frame); err != nil {
			c.ep.cluster.stats.WriteErrors.Add(1)
			c.ep.cluster.failures.Add(1)
		}
		return true
	}
	r.Sent = c.ep // before the slot is published: the request may complete at once
	c.mu.Lock()
	if c.closed || c.draining || len(c.free) == 0 {
		c.mu.Unlock()
		return false
	}
	idx := c.free[len(c.free)-1]
	c.free = c.free[:len(c.free)-1]
	if int(idx) >= c.hi {
		c.hi = int(idx) + 1
	}
	s := &c.slots[idx]
	s.gen++
	gen := s.gen
	s.inUse = true
	s.down = r.Down
	s.origin = OriginOf(r.Header)
	s.start = now
	deadline := now + r.Timeout
	s.deadline = deadline
	// Rewritten before the slot is published: once it is, the request may
	// complete, and its frame be reused, as soon as the answer is in.
	// Written under the lock: until WriteFrame returns, the transport may
	// still read the frame, and a sweep that expired the slot meanwhile
	// would let a retry rewrite it. r is not read after the unlock.
	seq := c.seqID(idx, gen)
	r.Header.SetSeqIDs(r.Frame, seq, seq)
	err := c.tc.WriteFrame(r.Frame)
	c.mu.Unlock()
	c.inflight.Add(1)
	c.ep.begin()
	if sw := c.ep.cluster.cfg.Sweeper; sw != nil {
		sw.due(deadline) // after begin: the cluster is enlisted
	}

	if err != nil {
		// The transport closes c; whoever takes the slot answers.
		if s, ok, _ := c.take(idx, gen); ok {
			c.ep.cluster.stats.WriteErrors.Add(1)
			c.ep.cluster.failures.Add(1)
			c.finish(now, true)
			s.down.Fail(s.origin, Failure{Kind: ErrConnLost, Cluster: c.ep.cluster.name, Endpoint: c.ep.address, Cause: err, Unsent: true})
		}
	}
	return true
}

// take removes from use slot idx if it still holds generation gen (as far
// as the seqID carries it), and returns what the request needs to complete.
// drained reports that c was draining and this was its last request: the
// caller closes c once it no longer needs the frame it is handling.
func (c *conn) take(idx, gen uint32) (taken slot, ok, drained bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(idx) >= len(c.slots) {
		return slot{}, false, false
	}
	s := &c.slots[idx]
	if !s.inUse || s.gen&c.genMask != gen&c.genMask {
		return slot{}, false, false
	}
	taken = *s
	s.inUse, s.down = false, nil
	c.free = append(c.free, idx)
	return taken, true, c.drainedLocked()
}

// drainedLocked reports, once, that a draining c has nothing in flight.
func (c *conn) drainedLocked() bool {
	if c.draining && !c.closed && len(c.free) == cap(c.free) {
		c.closed = true
		return true
	}
	return false
}

// sendControl writes a control frame of the given kind on c.
func (c *conn) sendControl(kind string) error {
	buf := bytebufferpool.Get()
	buf.B = codec.AppendControlFrame(buf.B[:0], kind)
	err := c.tc.WriteFrame(buf.B)
	bytebufferpool.Put(buf)
	return err
}

// control handles a control frame from the endpoint (a frame without
// payload): ProxyRestart, or the answer to a health probe. Kinds this
// version does not know are ignored.
func (c *conn) control(frame []byte) {
	switch string(c.hdr.StrInfo(frame, codec.KeyControl)) {
	case codec.ControlHealthOK:
		c.ep.probeResult(true, "")
		return
	case codec.ControlHealthFail:
		c.ep.probeResult(false, "the peer sidecar answered that it cannot serve its app")
		return
	case codec.ControlProxyRestart:
	default:
		return
	}
	c.ep.cluster.stats.ProxyRestarts.Add(1)
	c.retire() // new requests dial a new connection: the new process
}

// retire closes c once its requests in flight are done; new requests
// dial a new connection meanwhile. For a peer that is restarting, and for
// a connection idle for the cluster's IdleTimeout (Endpoint.sweep).
func (c *conn) retire() {
	c.ep.retireConn(c)
	c.mu.Lock()
	c.draining = true
	drained := c.drainedLocked()
	c.mu.Unlock()
	if drained {
		c.tc.Close()
	}
}

// finish ends a request's accounting and returns its round trip.
func (c *conn) finish(start time.Duration, failed bool) time.Duration {
	rtt := now() - start
	c.inflight.Add(-1)
	c.ep.end(rtt, failed)
	return rtt
}

// ServeFrame handles a response from the endpoint.
func (c *conn) ServeFrame(frame []byte) {
	if err := c.hdr.Decode(frame); err != nil {
		c.tc.CloseWithError(err)
		return
	}
	if c.hdr.Payload == codec.PayloadNone {
		c.control(frame)
		return
	}
	// Every seqID sent upstream is non-negative (seqID): one with the sign
	// bit set answers no request, though its slot and generation bits may
	// match one in flight.
	seq := uint32(c.hdr.SeqID)
	var s slot
	ok, drained := false, false
	if c.hdr.SeqID >= 0 {
		s, ok, drained = c.take(seq&c.idxMask, seq>>c.idxBits)
	}
	if !ok {
		c.ep.cluster.stats.LateResponses.Add(1)
		return
	}
	c.hdr.SetSeqIDs(frame, s.origin.SeqID, s.origin.PayloadSeqID)
	failed := gatewayFailure(c.hdr.MeshError)
	c.ep.cluster.latency.Record(c.finish(s.start, failed))
	if failed {
		c.ep.cluster.errorResponses.Add(1)
	}
	c.ep.cluster.stats.Responses.Add(1)
	s.down.Respond(frame, &c.hdr)
	if drained {
		c.tc.Close() // after Respond: closing may release the frame's buffer
	}
}

// Closed fails every request still in flight on c.
func (c *conn) Closed(reason error) {
	c.ep.dropConn(c)
	var lost []expiredSlot
	c.mu.Lock()
	c.closed = true
	for i := 0; i < c.hi; i++ {
		s := &c.slots[i]
		if s.inUse {
			lost = append(lost, expiredSlot{s.down, s.origin})
			s.inUse, s.down = false, nil
			c.free = append(c.free, uint32(i))
			c.inflight.Add(-1)
			c.ep.end(0, true)
		}
	}
	c.mu.Unlock()
	for _, e := range lost {
		c.ep.cluster.stats.ConnLost.Add(1)
		c.ep.cluster.failures.Add(1)
		e.down.Fail(e.origin, Failure{Kind: ErrConnLost, Cluster: c.ep.cluster.name, Endpoint: c.ep.address, Cause: reason})
	}
}

// sweep fails the requests whose deadline has passed, and returns the
// earliest deadline of those left (NoDeadline: none).
func (c *conn) sweep(now time.Duration) (next time.Duration) {
	next = NoDeadline
	if c.inflight.Load() == 0 {
		return next
	}
	c.mu.Lock()
	expired := c.expired[:0]
	for i := 0; i < c.hi; i++ {
		s := &c.slots[i]
		switch {
		case !s.inUse:
		case s.deadline <= now:
			expired = append(expired, expiredSlot{s.down, s.origin})
			s.inUse, s.down = false, nil
			c.free = append(c.free, uint32(i))
			c.inflight.Add(-1)
			c.ep.end(now-s.start, true)
		default:
			next = min(next, s.deadline)
		}
	}
	c.expired = expired[:0]
	drained := c.drainedLocked()
	c.mu.Unlock()
	if drained {
		c.tc.Close()
	}
	for _, e := range expired {
		c.ep.cluster.stats.Timeouts.Add(1)
		c.ep.cluster.failures.Add(1)
		e.down.Fail(e.origin, Failure{Kind: ErrTimeout, Cluster: c.ep.cluster.name, Endpoint: c.ep.address})
	}
	return next
}
