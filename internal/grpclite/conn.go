package grpclite

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/internal/rawpoll"
)

const (
	// HTTP/2's defaults, which the server's (empty) SETTINGS keep: its
	// receive windows and the largest frame it reads.
	initialWindow = 65535
	maxFrameSize  = 16384
	// A receive window is given back once a quarter of it was used.
	windowUpdateThreshold = initialWindow / 4
	maxHeaderListSize     = 16 << 10
	// readBufferSize is the connection's read buffer: an ACK (one small
	// DATA frame) is one read. Larger frames are read straight into the
	// Framer's buffer.
	readBufferSize = 1024
	// prefaceTimeout bounds the TLS handshake and the client's preface.
	prefaceTimeout = 20 * time.Second
	// maxWriteChunk bounds one write of queued data.
	maxWriteChunk = 64 << 10
	// maxStreams bounds the streams open at once on a connection.
	maxStreams = 16
	// A client may ping at most every minPingInterval while the server
	// sends it nothing; past maxPingStrikes pings sooner than that it gets
	// GOAWAY (ENHANCE_YOUR_CALM, "too_many_pings") and the connection
	// ends: gRPC-go's server enforcement as the pilot configured it
	// (MinTime 5 s, pings without streams allowed). Sending DATA or
	// HEADERS forgives the strikes (a client may ping after data, as
	// gRPC-go's bandwidth estimate does). Before its first stream a
	// client may owe at most maxEarlyPings answers.
	minPingInterval = 5 * time.Second
	maxPingStrikes  = 2
	maxEarlyPings   = 16
)

var errTooManyPings = errors.New("grpclite: the peer pings too often")

// conn is one client connection: its goroutine runs serveConn.
type conn struct {
	srv  *Server
	nc   net.Conn // the TCP (or Unix) connection, or its *tls.Conn
	tls  *tls.ConnectionState
	peer *peer.Peer
	fr   *http2.Framer
	// rd is what the Framer reads: the socket through a bufio.Reader
	// while the connection has its goroutine, one whole frame at a time
	// while the loop serves it (loop.go).
	rd connReader
	// lean: the connection is this server's (not handed over): the
	// keepalive sweep looks after it.
	lean atomic.Bool
	// lastRead is the Server's clock when the last frame was read;
	// pingSent when the sweep pinged the peer (0: no ping outstanding).
	lastRead, pingSent atomic.Int64

	// The reader's own: the highest stream id seen, and the connection's
	// receive window.
	lastID      uint32
	recvWindow  int
	recvUnacked int
	owed        pendingAcks // sniff's, until serve sends them
	// The loop's, while it serves the connection: a frame not yet whole
	// (nil when none), whether the socket signalled its end, and the
	// connection's slot in the loop (under the loop's mu; -1: none).
	partial []byte
	hup     bool
	slot    int32

	mu sync.Mutex
	// out is the write being built (a pooled buffer; nil between
	// writes): frames are appended, then written at once (flushLocked).
	out  []byte
	outp *[]byte
	dead bool
	// fd is the socket's descriptor for a Batch's io_uring sends (-1: a
	// TLS connection, or none). inflight: a Batch took the bytes built so
	// far and sends them; until it is done, what is built waits in out
	// (flushLocked writes nothing), and a close waits (closePending), so
	// that the descriptor stays this connection's.
	fd           int
	inflight     bool
	closePending bool
	// looped: the loop reads the socket (loop.go). Only the loop closes
	// it then; a close elsewhere shuts it down, and the loop, seeing the
	// hang-up, takes it out and closes it.
	looped bool
	// ownFD: fd is the connection's own duplicate of the socket
	// (rawpoll.Detach), made when the loop first took it, and closed by
	// closeSocket beside nc: while the loop reads the socket nc is closed,
	// so that the runtime's poller does not watch the socket too; a
	// goroutine given the connection back gets a new nc (rawpoll.Attach).
	ownFD    bool
	fdClosed atomic.Bool
	// lastPing is when the peer last pinged (Unix ns); pingStrikes counts
	// pings sooner than minPingInterval; pingForgiven: the server sent
	// data since, and the next ping is not counted.
	lastPing     int64
	pingStrikes  int
	pingForgiven bool
	// writeDeadline is the connection's write deadline (Unix ns).
	writeDeadline int64
	// sendWindow is the connection's send window; peerInitialWindow and
	// peerMaxFrame the peer's settings.
	sendWindow        int64
	peerInitialWindow int64
	peerMaxFrame      int
	streams           []*Stream // the open streams (usually one)
	pfx               [5]byte   // a message's prefix, while it is framed
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Write is the Framer's writer: frames are appended to the write being
// built. Under c.mu.
func (c *conn) Write(p []byte) (int, error) {
	c.grab()
	c.out = append(c.out, p...)
	return len(p), nil
}

func (c *conn) grab() {
	if c.out == nil {
		c.outp = bufPool.Get().(*[]byte)
		c.out = (*c.outp)[:0]
	}
}

func (c *conn) release() {
	if c.outp != nil && cap(c.out) <= 256<<10 {
		*c.outp = c.out[:0]
		bufPool.Put(c.outp)
	}
	c.out, c.outp = nil, nil
}

var errConnClosed = errors.New("grpclite: connection closed")

// flushLocked writes what was built, with the write timeout; a failed
// write drops the connection (its reader then ends the stream).
func (c *conn) flushLocked() error {
	if len(c.out) == 0 {
		return nil
	}
	if c.dead {
		c.release()
		return errConnClosed
	}
	if c.inflight { // the Batch's completion (or finishWrite) writes it, after its own bytes
		if len(c.out) > c.srv.o.MaxQueued {
			c.release()
			c.closeLocked()
			return fmt.Errorf("grpclite: more than %d bytes wait for a socket that takes nothing: connection dropped", c.srv.o.MaxQueued)
		}
		return nil
	}
	err := c.writeLocked(c.out)
	c.release()
	return err
}

// writeLocked writes p, with the write timeout; a failed write drops the
// connection. On a connection the loop reads, the socket is offered p
// without waiting (a raw write(2)); what it does not take is written by a
// goroutine of its own (finishWrite), with the write timeout, and what is
// built meanwhile waits behind it (inflight, as behind a Batch): the loop,
// which answers pings and settings and runs handlers, never waits for a
// peer.
func (c *conn) writeLocked(p []byte) error {
	if c.looped {
		releaseIO()
		n, errno := rawpoll.Write(c.fd, p)
		switch {
		case errno == 0 && n == len(p):
			return nil
		case errno != 0 && errno != unix.EAGAIN:
			c.closeLocked()
			return fmt.Errorf("grpclite: write: %w", errno)
		}
		c.inflight = true
		go c.finishWrite(append([]byte(nil), p[n:]...))
		return nil
	}
	return c.writeWaitLocked(p)
}

// finishWrite writes rest, what a looped connection's socket did not take
// at once, and then what was built meanwhile, waiting for the peer up to
// the write timeout (a failed write drops the connection). It writes
// without c.mu: while inflight nothing else writes to the socket, and
// the loop, handling a frame of this connection, must not wait for it.
func (c *conn) finishWrite(rest []byte) {
	var outp *[]byte
	for {
		// The socket's own descriptor: nc is closed while the loop
		// reads the socket (ownFD).
		deadline := time.Now().Add(c.srv.o.WriteTimeout)
		_, err := rawpoll.WriteWait(c.fd, rest, deadline)
		if outp != nil && cap(rest) <= 256<<10 {
			*outp = rest[:0]
			bufPool.Put(outp)
		}
		outp = nil
		c.mu.Lock()
		switch {
		case c.closePending:
			c.inflight, c.closePending = false, false
			c.release()
			if !c.shutIfLoopedLocked() {
				c.closeSocket()
			}
		case err != nil || c.dead:
			c.inflight = false
			c.release()
			c.closeLocked()
		case len(c.out) > 0: // built meanwhile: next, still inflight
			rest, outp = c.out, c.outp
			c.out, c.outp = nil, nil
			c.mu.Unlock()
			continue
		default:
			c.inflight = false
		}
		c.mu.Unlock()
		return
	}
}

// writeWaitLocked writes p through the net.Conn, waiting up to the write
// timeout; a failed write drops the connection.
func (c *conn) writeWaitLocked(p []byte) error {
	// The deadline is moved on by the Server's coarse clock, and only once
	// less than half of WriteTimeout is left of it: not a timer change
	// per write. A write has at least WriteTimeout/2 less a clock tick.
	if now := c.srv.clock.Load(); c.writeDeadline-now < int64(c.srv.o.WriteTimeout/2) {
		c.writeDeadline = now + int64(c.srv.o.WriteTimeout)
		_ = c.nc.SetWriteDeadline(time.Unix(0, c.writeDeadline))
	}
	if _, err := c.nc.Write(p); err != nil {
		c.closeLocked()
		return fmt.Errorf("grpclite: write: %w", err)
	}
	return nil
}

// closeLocked drops the connection: nothing more is written, and the
// socket is closed now, or when the Batch sending on it is done.
func (c *conn) closeLocked() {
	if c.markClosedLocked() {
		c.closeSocket()
	}
}

// closeSocket closes the socket: nc (again, harmlessly, if the loop
// closed it when it took the socket) and the connection's own descriptor,
// once.
func (c *conn) closeSocket() {
	_ = c.nc.Close()
	if c.ownFD && c.fdClosed.CompareAndSwap(false, true) {
		_ = unix.Close(c.fd)
	}
}

// markClosedLocked marks the connection dropped and reports whether the
// caller closes the socket (false: the Batch sending on it will, or the
// loop, which reads it: the socket is shut down, and the loop sees the
// hang-up).
func (c *conn) markClosedLocked() bool {
	c.dead = true
	if c.inflight {
		c.closePending = true
		return false
	}
	return !c.shutIfLoopedLocked()
}

// shutIfLoopedLocked shuts the socket down if the loop reads it, and
// reports whether it did: the loop then closes it.
func (c *conn) shutIfLoopedLocked() bool {
	if !c.looped {
		return false
	}
	_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	return true
}

// drop is closeLocked outside c.mu: the socket (a TLS connection's close
// writes an alert) is closed after c.mu is released.
func (c *conn) drop() {
	c.mu.Lock()
	now := c.markClosedLocked()
	c.mu.Unlock()
	if now {
		c.closeSocket()
	}
}

// recorder keeps every byte read from the connection until off: what a
// connection handed over replays.
type recorder struct {
	r   io.Reader
	buf []byte
	off bool
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if !r.off {
		r.buf = append(r.buf, p[:n]...)
	}
	return n, err
}

func (s *Server) serveConn(nc net.Conn) {
	var state *tls.ConnectionState
	if s.o.TLS != nil {
		_ = nc.SetDeadline(time.Now().Add(prefaceTimeout))
		tc := tls.Server(nc, s.o.TLS)
		if err := tc.Handshake(); err != nil {
			_ = nc.Close()
			return
		}
		cs := tc.ConnectionState()
		state, nc = &cs, tc
	}
	c := &conn{srv: s, nc: nc, tls: state, fd: -1, slot: -1, recvWindow: initialWindow, sendWindow: initialWindow,
		peerInitialWindow: initialWindow, peerMaxFrame: maxFrameSize}
	c.lastRead.Store(s.clock.Load())
	if !s.add(c) {
		_ = nc.Close()
		return
	}
	kept := false // serve's from then on, which removes c when it ends
	defer func() {
		if !kept {
			s.remove(c)
		}
	}()
	rec := &recorder{r: nc}
	c.rd.br = bufio.NewReaderSize(rec, readBufferSize)
	c.fr = http2.NewFramer(c, &c.rd)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = maxHeaderListSize
	c.fr.SetMaxReadFrameSize(maxFrameSize)
	c.fr.SetReuseFrames() // a frame is handled before the next is read: one DATA frame struct per connection, not per message

	_ = nc.SetDeadline(time.Now().Add(prefaceTimeout))
	c.mu.Lock()
	_ = c.fr.WriteSettings() // HTTP/2's defaults
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		c.close()
		return
	}
	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.rd.br, preface[:]); err != nil || string(preface[:]) != http2.ClientPreface {
		c.close()
		return
	}
	// No deadline from here on but each write's: the next write sets
	// its own (writeWaitLocked keeps a deadline it believes set).
	_ = nc.SetDeadline(time.Time{})
	c.mu.Lock()
	c.writeDeadline = 0
	c.mu.Unlock()
	hf, err := c.sniff()
	if err != nil {
		c.close()
		return
	}
	if hf.PseudoValue("path") != s.o.Path {
		c.handOver(rec)
		return
	}
	rec.off, rec.buf = true, nil
	c.lean.Store(true)
	if sc, ok := nc.(syscall.Conn); ok && c.tls == nil {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { c.fd = int(fd) })
		}
	}
	if c.tls != nil {
		c.peer = &peer.Peer{Addr: nc.RemoteAddr(), LocalAddr: nc.LocalAddr(), AuthInfo: tlsInfo(c.tls)}
	} else {
		c.peer = &peer.Peer{Addr: nc.RemoteAddr(), LocalAddr: nc.LocalAddr()}
	}
	kept = true
	c.serve(hf)
}

// connReader is what a connection's Framer reads: src first (the bytes
// the loop read after a frame that gave the connection back to a
// goroutine; while the loop serves it, the one frame being read), then
// br, the socket's bufio.Reader, while the connection has its goroutine
// (nil while the loop serves it).
type connReader struct {
	src []byte
	br  *bufio.Reader
}

var errNoInput = errors.New("grpclite: a frame read past its end") // never: the loop reads whole frames

func (r *connReader) Read(p []byte) (int, error) {
	if len(r.src) > 0 {
		n := copy(p, r.src)
		r.src = r.src[n:]
		if len(r.src) == 0 {
			r.src = nil
		}
		return n, nil
	}
	if r.br == nil {
		return 0, errNoInput
	}
	return r.br.Read(p)
}

// buffered reports whether bytes read of the socket wait to be framed.
func (r *connReader) buffered() bool {
	return len(r.src) > 0 || r.br != nil && r.br.Buffered() > 0
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// handOver gives the connection, with what was read of it, to the
// fallback server.
func (c *conn) handOver(rec *recorder) {
	rc := &replayConn{Conn: c.nc, replay: rec.buf, tls: c.tls}
	if !c.srv.fallback.handOver(rc) {
		_ = c.nc.Close()
	}
}

// pendingAcks is what sniff owes the peer once the connection is kept.
type pendingAcks struct {
	settings int
	pings    [][8]byte
}

// sniff reads frames up to the first HEADERS, answering nothing: the
// connection may yet be handed over, and its new server answers them from
// the replay. Settings and window updates are taken now; if the
// connection is kept, serve sends the answers.
func (c *conn) sniff() (*http2.MetaHeadersFrame, error) {
	var owed pendingAcks
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			c.owed = owed
			return f, nil
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := c.applySettings(f); err != nil {
					return nil, err
				}
				owed.settings++
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				if len(owed.pings) == maxEarlyPings {
					return nil, errTooManyPings
				}
				owed.pings = append(owed.pings, f.Data)
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.mu.Lock()
				c.sendWindow += int64(f.Increment)
				c.mu.Unlock()
			}
		case *http2.GoAwayFrame, *http2.DataFrame, *http2.RSTStreamFrame:
			return nil, errors.New("grpclite: a frame before any stream")
		}
	}
}

// serve runs the connection from its first HEADERS frame until it ends
// or the loop takes it.
func (c *conn) serve(first *http2.MetaHeadersFrame) {
	c.mu.Lock()
	for range c.owed.settings {
		_ = c.fr.WriteSettingsAck()
	}
	for _, d := range c.owed.pings {
		_ = c.fr.WritePing(true, d)
	}
	c.owed = pendingAcks{}
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		c.close()
		return
	}
	c.run(first, nil)
}

// run is the connection's goroutine from frame f (or ReadFrame's error
// err) on: it reads and handles frames until the connection ends, or
// until the loop takes it (handToLoop), and then returns.
func (c *conn) run(f http2.Frame, err error) {
	for {
		if (f != nil || err != nil) && !c.step(f, err) {
			c.close()
			return
		}
		if c.handToLoop() {
			return
		}
		f, err = c.fr.ReadFrame()
	}
}

// attach gives the connection a net.Conn again (the loop closed nc when
// it took the socket), for the goroutine it is given back to; false if
// that failed (the connection is then closed).
func (c *conn) attach() bool {
	nc, err := rawpoll.Attach(c.fd)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		return false
	}
	c.nc = nc
	c.writeDeadline = 0 // none set on the new nc
	return true
}

// resume is a goroutine of the connection again, given back by the loop:
// rd.src holds what the loop read from the frame that gave it back on.
func (c *conn) resume() {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(c.nc)
	c.rd.br = br
	c.run(nil, nil)
}

// handToLoop gives the connection to the loop, if it may have it: a plain
// socket, nothing read of it waiting to be framed, every open stream's
// first message handled (a stream's first message may keep its handler
// waiting: not in the loop). The goroutine's read buffer goes back to the
// pool; the goroutine exits.
func (c *conn) handToLoop() bool {
	if c.fd < 0 || c.tls != nil || c.rd.buffered() {
		return false
	}
	l := getLoop()
	if l == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	for _, st := range c.streams {
		if !st.firstDone {
			return false
		}
	}
	if c.inflight {
		return false // a Batch sends on the descriptor: not now
	}
	if !c.ownFD {
		fd, err := rawpoll.Dup(c.fd)
		if err != nil {
			return false
		}
		c.fd, c.ownFD = fd, true
	}
	br := c.rd.br
	c.rd.br = nil
	c.looped = true
	if err := l.add(c); err != nil {
		c.looped = false
		c.rd.br = br
		return false
	}
	// Out of the runtime's poller (ownFD): the loop's epoll instance is
	// the only one the socket wakes.
	_ = c.nc.Close()
	if br != nil && br.Size() == readBufferSize {
		br.Reset(nil)
		readerPool.Put(br)
	}
	loopStats.handedOver.Add(1)
	return true
}

// step handles one frame read, or ReadFrame's error, the same way
// whoever reads the connection (its goroutine, or the loop); false: the
// connection ends (the caller closes it).
func (c *conn) step(f http2.Frame, err error) bool {
	if err != nil {
		var se http2.StreamError
		if errors.As(err, &se) {
			c.resetStream(se.StreamID, se.Code)
			return true
		}
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			c.goAway(http2.ErrCode(ce))
		}
		return false
	}
	c.lastRead.Store(c.srv.clock.Load())
	return c.handled(c.handle(f))
}

// handled ends the connection if handling a frame failed (false).
func (c *conn) handled(err error) bool {
	if err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			c.goAway(http2.ErrCode(ce))
		}
		return false
	}
	return true
}

// stepData is step for the usual frame, DATA without padding on a
// stream (frame: the whole frame, header included), read without the
// framer, which would find it valid.
func (c *conn) stepData(frame []byte) bool {
	c.lastRead.Store(c.srv.clock.Load())
	id := binary.BigEndian.Uint32(frame[5:9]) & (1<<31 - 1)
	return c.handled(c.data(id, http2.Flags(frame[4]).Has(http2.FlagDataEndStream), len(frame)-frameHeaderLen, frame[frameHeaderLen:]))
}

// plainData reports whether frame (header included) is a whole DATA
// frame without padding on a stream other than 0: what stepData takes.
func plainData(frame []byte) bool {
	return len(frame) >= frameHeaderLen && http2.FrameType(frame[3]) == http2.FrameData &&
		int(frame[0])<<16|int(frame[1])<<8|int(frame[2]) == len(frame)-frameHeaderLen &&
		!http2.Flags(frame[4]).Has(http2.FlagDataPadded) && binary.BigEndian.Uint32(frame[5:9])&(1<<31-1) != 0
}

var errGoAway = errors.New("grpclite: the peer sent GOAWAY")

// handle takes one frame; an error ends the connection.
func (c *conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case nil:
		return nil
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := c.applySettings(f); err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		_ = c.fr.WriteSettingsAck()
		if err := c.flushLocked(); err != nil {
			return err
		}
		return c.sendAllQueuedLocked()
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.pingTooSoonLocked(time.Now().UnixNano()) {
			_ = c.fr.WriteGoAway(c.lastID, http2.ErrCodeEnhanceYourCalm, []byte("too_many_pings"))
			_ = c.flushLocked()
			return errTooManyPings
		}
		_ = c.fr.WritePing(true, f.Data)
		return c.flushLocked()
	case *http2.WindowUpdateFrame:
		c.mu.Lock()
		defer c.mu.Unlock()
		if f.StreamID == 0 {
			c.sendWindow += int64(f.Increment)
			if c.sendWindow > 1<<31-1 {
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
			return c.sendAllQueuedLocked()
		}
		if st := c.lookupLocked(f.StreamID); st != nil {
			st.sendWindow += int64(f.Increment)
			return c.sendQueuedLocked(st)
		}
		return nil
	case *http2.RSTStreamFrame:
		c.mu.Lock()
		var h Handler
		if st := c.lookupLocked(f.StreamID); st != nil {
			h = c.finishLocked(st)
		}
		c.mu.Unlock()
		if h != nil {
			h.Closed()
		}
		return nil
	case *http2.GoAwayFrame:
		return errGoAway
	}
	return nil // PRIORITY and unknown frames
}

// applySettings takes the peer's settings: the initial window of its
// streams (the open stream's changes by the difference) and the largest
// frame it reads.
func (c *conn) applySettings(f *http2.SettingsFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			d := int64(s.Val) - c.peerInitialWindow
			c.peerInitialWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += d
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = int(s.Val)
		}
		return nil
	})
}

// onHeaders opens a stream, or takes the client's trailers.
func (c *conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	c.mu.Lock()
	cur, open := c.lookupLocked(id), len(c.streams)
	c.mu.Unlock()
	if cur != nil {
		if f.StreamEnded() {
			c.remoteClosed(cur)
		}
		return nil
	}
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if id <= c.lastID { // a stream that ended here (its trailers crossed ours)
		return nil
	}
	c.lastID = id
	switch {
	case open >= maxStreams:
		return c.refuse(id, status.Newf(codes.ResourceExhausted, "grpclite: more than %d streams on a connection", maxStreams))
	case f.PseudoValue("method") != "POST":
		c.resetStream(id, http2.ErrCodeProtocol)
		return nil
	case f.PseudoValue("path") != c.srv.o.Path:
		return c.refuse(id, status.Newf(codes.Unimplemented, "grpclite: unknown method %s: this connection serves %s", f.PseudoValue("path"), c.srv.o.Path))
	}
	md := metadata.MD{}
	ct := ""
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "content-type":
			ct = hf.Value
		case "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "connection":
			continue
		}
		v := hf.Value
		if strings.HasSuffix(hf.Name, "-bin") {
			b, err := decodeBinHeader(v)
			if err != nil {
				return c.refuse(id, status.Newf(codes.Internal, "grpclite: header %s: %v", hf.Name, err))
			}
			v = string(b)
		}
		md[hf.Name] = append(md[hf.Name], v)
	}
	if ct != "application/grpc" && !strings.HasPrefix(ct, "application/grpc+") && !strings.HasPrefix(ct, "application/grpc;") {
		return c.refuse(id, status.Newf(codes.Internal, "grpclite: content-type %q is not gRPC's", ct))
	}
	st := &Stream{c: c, id: id, recvWindow: initialWindow}
	st.ctx = peer.NewContext(metadata.NewIncomingContext(streamContext, md), c.peer)
	c.mu.Lock()
	st.sendWindow = c.peerInitialWindow
	c.streams = append(c.streams, st)
	c.mu.Unlock()
	h, err := c.srv.o.Open(st)
	c.mu.Lock()
	if err != nil {
		if !st.ended.Load() {
			c.writeStatusLocked(st, err)
			c.finishLocked(st)
		}
		c.mu.Unlock()
		return nil
	}
	st.h = h
	if st.ended.Load() { // ended while it opened
		c.mu.Unlock()
		h.Closed()
		return nil
	}
	if !st.headersSent {
		st.headersSent = true
		c.grab()
		_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: responseHeaders, EndHeaders: true})
		_ = c.flushLocked()
	}
	c.mu.Unlock()
	if f.StreamEnded() {
		c.remoteClosed(st)
	}
	return nil
}

// refuse answers a stream with its status alone (trailers only).
func (c *conn) refuse(id uint32, s *status.Status) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: encodeStatus(true, s), EndStream: true, EndHeaders: true})
	_ = c.fr.WriteRSTStream(id, http2.ErrCodeNo)
	_ = c.flushLocked()
	return nil
}

func (c *conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	_ = c.fr.WriteRSTStream(id, code)
	_ = c.flushLocked()
	var h Handler
	if st := c.lookupLocked(id); st != nil {
		h = c.finishLocked(st)
	}
	c.mu.Unlock()
	if h != nil {
		h.Closed()
	}
}

// pingTooSoonLocked notes a ping from the peer at now and reports whether
// it has pinged too often.
func (c *conn) pingTooSoonLocked(now int64) bool {
	if c.pingForgiven {
		c.pingForgiven, c.pingStrikes, c.lastPing = false, 0, now
		return false
	}
	if c.lastPing != 0 && now-c.lastPing < int64(minPingInterval) {
		c.pingStrikes++
	}
	c.lastPing = now
	return c.pingStrikes > maxPingStrikes
}

func (c *conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	_ = c.fr.WriteGoAway(c.lastID, code, nil)
	_ = c.flushLocked()
	c.mu.Unlock()
}

// remoteClosed: the client will send no more (END_STREAM): as a gRPC-go
// handler whose Recv returns io.EOF and which then returns, the stream
// ends with status OK.
func (c *conn) remoteClosed(st *Stream) {
	c.mu.Lock()
	st.remoteDone = true
	c.mu.Unlock()
	st.End(nil)
}

// onData takes a DATA frame: flow control, then the messages in it.
func (c *conn) onData(f *http2.DataFrame) error {
	return c.data(f.StreamID, f.StreamEnded(), int(f.Header().Length), f.Data())
}

// data takes a DATA frame of stream id, n bytes long with its padding,
// whose payload is p.
func (c *conn) data(id uint32, ended bool, n int, p []byte) error {
	c.recvWindow -= n
	if c.recvWindow < 0 {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvUnacked += n
	c.mu.Lock()
	st := c.lookupLocked(id)
	c.mu.Unlock()
	if st == nil && (id == 0 || id > c.lastID) {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if st != nil {
		st.recvWindow -= n
		if st.recvWindow < 0 {
			c.resetStream(st.id, http2.ErrCodeFlowControl)
			st = nil
		} else {
			st.recvUnacked += n
			if err := st.take(p); err != nil {
				st.End(err)
			} else if ended {
				c.remoteClosed(st)
			}
		}
	}
	// Give the windows back once a quarter of them was used.
	if c.recvUnacked < windowUpdateThreshold && (st == nil || st.recvUnacked < windowUpdateThreshold || st.ended.Load()) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recvUnacked >= windowUpdateThreshold {
		_ = c.fr.WriteWindowUpdate(0, uint32(c.recvUnacked))
		c.recvWindow += c.recvUnacked
		c.recvUnacked = 0
	}
	if st != nil && !st.ended.Load() && st.recvUnacked >= windowUpdateThreshold {
		_ = c.fr.WriteWindowUpdate(st.id, uint32(st.recvUnacked))
		st.recvWindow += st.recvUnacked
		st.recvUnacked = 0
	}
	return c.flushLocked()
}

// finishLocked marks st ended and returns its Handler, to be told
// (Closed) once c.mu is released.
func (c *conn) finishLocked(st *Stream) Handler {
	st.ended.Store(true)
	if i := slices.Index(c.streams, st); i >= 0 {
		c.streams = slices.Delete(c.streams, i, i+1)
	}
	st.q = queue{}
	return st.h
}

func (c *conn) lookupLocked(id uint32) *Stream {
	for _, st := range c.streams {
		if st.id == id {
			return st
		}
	}
	return nil
}

// sendAllQueuedLocked writes what the windows let out of every stream's
// queue, in turn.
func (c *conn) sendAllQueuedLocked() error {
	for _, st := range c.streams {
		if err := c.sendQueuedLocked(st); err != nil {
			return err
		}
	}
	return nil
}

// close drops the connection and ends its stream.
func (c *conn) close() {
	c.mu.Lock()
	c.dead = true
	var hs []Handler
	for len(c.streams) > 0 {
		if h := c.finishLocked(c.streams[0]); h != nil {
			hs = append(hs, h)
		}
	}
	c.release()
	now := c.markClosedLocked()
	c.mu.Unlock()
	if now {
		c.closeSocket()
	}
	c.srv.remove(c)
	for _, h := range hs {
		h.Closed()
	}
}

// keepalive is the sweep's visit (now is the Server's clock): ping a
// peer idle for KeepaliveTime, drop one that did not answer in
// KeepaliveTimeout.
func (c *conn) keepalive(now int64) {
	if !c.lean.Load() {
		return
	}
	o := c.srv.o
	if sent := c.pingSent.Load(); sent != 0 {
		switch {
		case c.lastRead.Load() >= sent:
			c.pingSent.Store(0)
		case now-sent >= int64(o.KeepaliveTimeout):
			c.drop() // its reader ends the stream
			return
		default:
			return
		}
	}
	if now-c.lastRead.Load() < int64(o.KeepaliveTime) {
		return
	}
	c.mu.Lock()
	_ = c.fr.WritePing(false, [8]byte{'k', 'e', 'e', 'p'})
	_ = c.flushLocked()
	c.mu.Unlock()
	c.pingSent.Store(now)
}

// appendFrameHeader appends an HTTP/2 frame header.
func appendFrameHeader(b []byte, length int, t http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(t), byte(flags),
		byte(id>>24&0x7f), byte(id>>16), byte(id>>8), byte(id))
}

// responseHeaders is the response's HEADERS block: :status 200 and gRPC's
// content type, not indexed (no HPACK state).
var responseHeaders = encodeFields(
	hpack.HeaderField{Name: ":status", Value: "200"},
	hpack.HeaderField{Name: "content-type", Value: "application/grpc"})

func encodeFields(fields ...hpack.HeaderField) []byte {
	var b strings.Builder
	e := hpack.NewEncoder(&b)
	for _, f := range fields {
		f.Sensitive = true // never indexed: the encoder keeps no table
		_ = e.WriteField(f)
	}
	return []byte(b.String())
}

// encodeStatus is the trailers of s; with only, trailers-only (the
// response's headers too).
func encodeStatus(only bool, s *status.Status) []byte {
	fields := make([]hpack.HeaderField, 0, 4)
	if only {
		fields = append(fields, hpack.HeaderField{Name: ":status", Value: "200"}, hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	}
	fields = append(fields, hpack.HeaderField{Name: "grpc-status", Value: fmt.Sprint(int(s.Code()))})
	if m := s.Message(); m != "" {
		if len(m) > 1024 {
			m = m[:1024]
		}
		fields = append(fields, hpack.HeaderField{Name: "grpc-message", Value: percentEncode(m)})
	}
	if p := s.Proto(); len(p.GetDetails()) > 0 { // as gRPC-go sends them
		if b, err := proto.Marshal(p); err == nil {
			fields = append(fields, hpack.HeaderField{Name: "grpc-status-details-bin", Value: base64.RawStdEncoding.EncodeToString(b)})
		}
	}
	return encodeFields(fields...)
}

// percentEncode is gRPC's encoding of grpc-message.
func percentEncode(m string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		ch := m[i]
		if ch >= 0x20 && ch <= 0x7e && ch != '%' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

func decodeBinHeader(v string) ([]byte, error) {
	if len(v)%4 == 0 {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

func tlsInfo(cs *tls.ConnectionState) credentials.TLSInfo {
	return credentials.TLSInfo{State: *cs, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}
}
