package grpclite

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/internal/uring"
)

// batchRings is the most rings Batches keep between uses; more are
// closed when their Batch is done.
const batchRings = 8

// rings are the io_uring rings Batches take turns with (internal/uring);
// off once one could not be set up or failed: Batch.Send is Stream.Send.
var rings struct {
	mu   sync.Mutex
	free []*uring.Ring
	off  bool
}

func takeRing() *uring.Ring {
	rings.mu.Lock()
	defer rings.mu.Unlock()
	if rings.off {
		return nil
	}
	if n := len(rings.free); n > 0 {
		r := rings.free[n-1]
		rings.free = rings.free[:n-1]
		return r
	}
	r := uring.New()
	if r == nil {
		rings.off = true
	}
	return r
}

func returnRing(r *uring.Ring, failed bool) {
	rings.mu.Lock()
	defer rings.mu.Unlock()
	if failed {
		rings.off = true
	}
	if failed || len(rings.free) == batchRings {
		_ = r.Close()
		return
	}
	rings.free = append(rings.free, r)
}

// Batch sends messages to many streams, each on its own connection, with
// one io_uring submission (internal/uring) per Capacity of them instead of
// one write(2) each: a push's fan-out. A Batch is used by one goroutine;
// Flush ends it (the zero Batch is ready to use, and is again after Flush).
//
// Send frames the message as Stream.Send does and leaves the connection's
// bytes to the batch: until the submission is done, whatever else is sent
// on that connection (another stream's message, trailers, a window's
// worth of queued data) waits behind them, in order, and a close of the
// connection waits too. A send the socket does not take whole (-EAGAIN: a
// full socket; a partial send) has its rest written as Stream.Send writes,
// with the write timeout. A stream whose message does not fit the peer's
// flow-control windows, whose connection is TLS, or any stream where
// io_uring is unavailable (OCTOMESH_IO_URING=off), is sent Stream.Send's
// way at once.
type Batch struct {
	ring  *uring.Ring
	conns []*conn
	fds   []int
	bufs  [][]byte
	outps []*[]byte
	res   []int32
}

// Send sends msg on s, now or when the batch is submitted (at Capacity, or
// Flush). msg must not change until Flush returns.
func (b *Batch) Send(s *Stream, msg []byte) error {
	c := s.c
	if c.tls != nil {
		return s.Send(msg) // no descriptor to send on
	}
	if b.ring == nil {
		if b.ring = takeRing(); b.ring == nil {
			return s.Send(msg)
		}
	}
	c.mu.Lock()
	if c.fd < 0 || c.inflight || s.ended.Load() || c.dead || !s.fitsLocked(msg) {
		c.mu.Unlock()
		return s.Send(msg) // behind the batch's bytes, if inflight
	}
	s.frameLocked(msg)
	c.inflight = true
	b.conns, b.fds, b.bufs, b.outps = append(b.conns, c), append(b.fds, c.fd), append(b.bufs, c.out), append(b.outps, c.outp)
	c.out, c.outp = nil, nil
	c.mu.Unlock()
	if len(b.conns) == b.ring.Capacity() {
		b.submit()
	}
	return nil
}

// Flush submits what waits and ends the batch.
func (b *Batch) Flush() {
	b.submit()
	if b.ring != nil {
		returnRing(b.ring, false)
		b.ring = nil
	}
}

// submit sends the gathered bytes with one submission, then hands each
// connection back: what the socket did not take, and what was built
// meanwhile, is written the usual way.
func (b *Batch) submit() {
	n := len(b.conns)
	if n == 0 {
		return
	}
	if cap(b.res) < n {
		b.res = make([]int32, b.ring.Capacity())
	}
	res := b.res[:n]
	got := b.ring.SendAll(b.fds, b.bufs, res)
	if got < n { // the ring failed: the rest is written with write(2)
		returnRing(b.ring, true)
		b.ring = nil
		for k := got; k < n; k++ {
			res[k] = -int32(unix.EAGAIN)
		}
	}
	// Those the sockets took whole first, then the rest, which may wait
	// for their peers (up to the write timeout each).
	for k, c := range b.conns {
		if buf := b.bufs[k]; int(res[k]) == len(buf) {
			b.done(k, c, buf, len(buf))
		}
	}
	for k, c := range b.conns {
		if buf := b.bufs[k]; int(res[k]) != len(buf) {
			b.done(k, c, buf, int(res[k]))
		}
	}
	clear(b.conns)
	clear(b.bufs)
	clear(b.outps)
	b.conns, b.fds, b.bufs, b.outps = b.conns[:0], b.fds[:0], b.bufs[:0], b.outps[:0]
}

// done hands connection k back once sent bytes of buf went out (or a
// negative errno).
func (b *Batch) done(k int, c *conn, buf []byte, sent int) {
	c.mu.Lock()
	c.inflight = false
	switch {
	case c.closePending:
		c.closePending = false
		c.release()
		if !c.shutIfLoopedLocked() {
			c.closeSocket()
		}
	case sent < 0 && sent != -int(unix.EAGAIN) && sent != -int(unix.EINTR):
		c.release()
		c.closeLocked() // EPIPE, ECONNRESET: its reader ends the stream
	case sent < len(buf):
		if sent < 0 {
			sent = 0
		}
		if c.writeLocked(buf[sent:]) == nil {
			_ = c.flushLocked()
		}
	default:
		_ = c.flushLocked() // what was sent on it meanwhile
	}
	c.mu.Unlock()
	if p := b.outps[k]; p != nil && cap(buf) <= 256<<10 {
		*p = buf[:0]
		bufPool.Put(p)
	}
}
