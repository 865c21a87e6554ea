package grpclite

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Stream is one gRPC stream of Options.Path.
type Stream struct {
	c   *conn
	id  uint32
	ctx context.Context
	h   Handler // set once Open returned
	// ended: trailers were sent, or the stream was reset or its
	// connection closed. Set under c.mu.
	ended atomic.Bool

	// Under c.mu: the send window, what waits for it, whether the
	// response headers were sent, and whether the peer half-closed.
	sendWindow  int64
	q           queue
	headersSent bool
	remoteDone  bool

	// The reader's own: the receive window and the message being read.
	recvWindow  int
	recvUnacked int
	hdr         [5]byte
	hdrN        int
	need        int
	msg         []byte
	// firstDone: the Handler returned from the stream's first message
	// (the connection may go to the loop: conn.handToLoop).
	firstDone bool
}

// Context carries the stream's metadata (metadata.FromIncomingContext)
// and its peer (peer.FromContext; with TLS, AuthInfo is a
// credentials.TLSInfo). It is not cancelled when the stream ends: the
// Handler's Closed says that.
func (s *Stream) Context() context.Context { return s.ctx }

// ErrStreamDone is Send's answer on a stream that has ended.
var ErrStreamDone = errors.New("grpclite: stream ended")

// Send writes msg, an encoded message, as the stream's next message. It
// may be called from any goroutine, concurrently with everything else; it
// does not keep msg past its return unless the peer's flow-control window
// is short, in which case the part that does not fit is queued (msg is
// then read later: it must not change) and written when the peer opens
// its window. It never waits for the peer: a write the kernel does not
// take within Options.WriteTimeout drops the connection, as does more
// than Options.MaxQueued queued.
func (s *Stream) Send(msg []byte) error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.ended.Load() || c.dead {
		return ErrStreamDone
	}
	if s.fitsLocked(msg) {
		// The usual case: all of it now, framed in one write.
		s.frameLocked(msg)
		return c.flushLocked()
	}
	c.pingForgiven = true // data follows: the peer may ping after it
	if !s.headersSent {
		s.headersSent = true
		_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: responseHeaders, EndHeaders: true})
	}
	pfx := make([]byte, 5)
	binary.BigEndian.PutUint32(pfx[1:], uint32(len(msg)))
	s.q.push(pfx)
	s.q.push(msg)
	if s.q.n > c.srv.o.MaxQueued {
		c.closeLocked()
		return status.Errorf(codes.ResourceExhausted, "grpclite: more than %d bytes wait for the peer's flow-control window: connection dropped", c.srv.o.MaxQueued)
	}
	if err := c.flushLocked(); err != nil { // the headers
		return err
	}
	return c.sendQueuedLocked(s)
}

// fitsLocked reports whether msg goes out whole now: nothing is queued
// before it and both windows take it.
func (s *Stream) fitsLocked(msg []byte) bool {
	return s.q.n == 0 && int64(5+len(msg)) <= min(s.c.sendWindow, s.sendWindow)
}

// frameLocked appends msg, which fitsLocked, to the write being built
// (after the response headers if they were not sent yet).
func (s *Stream) frameLocked(msg []byte) {
	c := s.c
	c.pingForgiven = true // data follows: the peer may ping after it
	c.grab()
	if !s.headersSent {
		s.headersSent = true
		c.out = appendFrameHeader(c.out, len(responseHeaders), http2.FrameHeaders, http2.FlagHeadersEndHeaders, s.id)
		c.out = append(c.out, responseHeaders...)
	}
	total := int64(5 + len(msg))
	c.pfx[0] = 0
	binary.BigEndian.PutUint32(c.pfx[1:], uint32(len(msg)))
	s.q.push(c.pfx[:])
	s.q.push(msg)
	c.out = appendData(c.out, s.id, c.peerMaxFrame, &s.q, int(total))
	c.sendWindow -= total
	s.sendWindow -= total
}

// Queued is how many bytes wait for the peer's flow-control window.
func (s *Stream) Queued() int {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.q.n
}

// End ends the stream with err's status (nil: OK), from any goroutine:
// the trailers are written now; what waits for the peer's window is
// dropped. The Handler is told (Closed) before End returns, unless the
// stream had ended already.
func (s *Stream) End(err error) {
	c := s.c
	c.mu.Lock()
	if s.ended.Load() {
		c.mu.Unlock()
		return
	}
	c.writeStatusLocked(s, err)
	h := c.finishLocked(s)
	c.mu.Unlock()
	if h != nil {
		h.Closed()
	}
}

// writeStatusLocked writes the trailers, and resets the stream if the
// peer may still send (as gRPC-go does).
func (c *conn) writeStatusLocked(s *Stream, err error) {
	if c.dead {
		return
	}
	st, _ := status.FromError(err)
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: encodeStatus(!s.headersSent, st), EndStream: true, EndHeaders: true})
	s.headersSent = true
	if !s.remoteDone {
		_ = c.fr.WriteRSTStream(s.id, http2.ErrCodeNo)
	}
	_ = c.flushLocked()
}

// sendQueuedLocked writes what the windows let out of s's queue.
func (c *conn) sendQueuedLocked(s *Stream) error {
	for s.q.n > 0 && !s.ended.Load() {
		n := min(c.sendWindow, s.sendWindow, maxWriteChunk, int64(s.q.n))
		if n <= 0 {
			return nil
		}
		c.grab()
		c.out = appendData(c.out, s.id, c.peerMaxFrame, &s.q, int(n))
		c.sendWindow -= n
		s.sendWindow -= n
		c.pingForgiven = true
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	return nil
}

// take reads the gRPC messages in a DATA frame's payload, handing each
// complete one to the Handler: a message within one frame is handed from
// the frame's bytes, one split across frames is gathered first.
func (s *Stream) take(data []byte) error {
	for len(data) > 0 && !s.ended.Load() {
		if s.hdrN < 5 {
			k := copy(s.hdr[s.hdrN:], data)
			s.hdrN += k
			data = data[k:]
			if s.hdrN < 5 {
				return nil
			}
			if s.hdr[0] != 0 {
				return status.Error(codes.Unimplemented, "grpclite: compressed messages are not supported")
			}
			size := binary.BigEndian.Uint32(s.hdr[1:])
			if int64(size) > int64(s.c.srv.o.MaxRecvMsgSize) {
				return status.Errorf(codes.ResourceExhausted, "grpclite: a message of %d bytes, more than the %d allowed", size, s.c.srv.o.MaxRecvMsgSize)
			}
			s.need = int(size)
		}
		var m []byte
		switch {
		case s.msg == nil && len(data) >= s.need:
			m, data = data[:s.need], data[s.need:]
		default:
			if s.msg == nil {
				s.msg = make([]byte, 0, s.need)
			}
			k := min(s.need-len(s.msg), len(data))
			s.msg = append(s.msg, data[:k]...)
			data = data[k:]
			if len(s.msg) < s.need {
				return nil
			}
			m = s.msg
		}
		s.hdrN, s.msg = 0, nil
		err := s.h.Message(m)
		s.firstDone = true
		if err != nil {
			return err
		}
	}
	return nil
}

// queue is what a stream has to send: byte slices, read from head/off.
type queue struct {
	b    [][]byte
	head int
	off  int
	n    int
}

func (q *queue) push(b []byte) {
	q.b = append(q.b, b)
	q.n += len(b)
}

// take appends the next n bytes to out.
func (q *queue) take(out []byte, n int) []byte {
	for n > 0 {
		b := q.b[q.head][q.off:]
		k := min(n, len(b))
		out = append(out, b[:k]...)
		n -= k
		q.n -= k
		q.off += k
		if q.off == len(q.b[q.head]) {
			q.b[q.head] = nil
			q.head++
			q.off = 0
		}
	}
	if q.head == len(q.b) {
		q.b, q.head = q.b[:0], 0
	}
	return out
}

// appendData appends DATA frames of stream id carrying the next n bytes
// of q, at most maxFrame bytes each.
func appendData(out []byte, id uint32, maxFrame int, q *queue, n int) []byte {
	for n > 0 {
		f := min(n, maxFrame)
		out = appendFrameHeader(out, f, http2.FrameData, 0, id)
		out = q.take(out, f)
		n -= f
	}
	return out
}
