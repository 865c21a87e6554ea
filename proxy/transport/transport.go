package transport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/internal/rawpoll"
)

// Options bound what one connection may do, and (MaxConns, IdleTimeout)
// what a listener keeps open.
type Options struct {
	// MaxFrameSize is the largest frame accepted, length prefix included.
	MaxFrameSize int
	// FrameTimeout is how long a frame whose first bytes have arrived may
	// take to arrive whole; a half-sent frame closes the connection after it.
	FrameTimeout time.Duration
	// WriteTimeout bounds how long bytes may wait for a peer that does not
	// read; the connection is closed after it.
	WriteTimeout time.Duration
	// CoalesceWrites lets the frames written while the poller serves one
	// batch of ready connections leave in one write at the batch's end
	// (see WriteFrame). For connections that carry many requests at once:
	// to and from peer sidecars, to the local app.
	CoalesceWrites bool
	// MaxConns bounds a listener's open accepted connections: one accepted
	// beyond it is closed at once and counted (Stats.Refused). 0: no bound.
	MaxConns int
	// IdleTimeout closes an accepted connection that has carried no frame
	// either way for this long and whose handler is not Busy, counted
	// (Stats.IdleClosed). 0: never.
	IdleTimeout time.Duration
	// TLS, when on, makes a TCP listener's or a dialler's connections
	// mutual TLS (NewTLS builds it); nil or TLSOff: plain.
	TLS *TLS
}

// A Busier handler keeps its connection open past IdleTimeout while Busy
// reports calls in flight (a long call sends no frame until it ends).
type Busier interface {
	Busy() bool
}

// Handler receives the frames of one connection. ServeFrame runs on the
// poller goroutine (poller.go), one frame at a time, and must not block:
// every connection of the loop waits for it (WriteFrame never blocks). frame
// is a view into the read buffer, valid only until ServeFrame returns, so
// whatever must outlive the call has to copy it. Closed is called once,
// after the last ServeFrame, with the reason (nil for a normal close by
// either side).
type Handler interface {
	ServeFrame(frame []byte)
	Closed(reason error)
}

// maxBacklog bounds the bytes a connection holds for a peer that does not
// read fast enough; past it the connection is closed (as after
// WriteTimeout), since the poller must not wait.
const maxBacklog = 8 << 20

// Conn is one framed connection. Frames are read on the poller goroutine;
// WriteFrame and Close may be called from any goroutine.
type Conn struct {
	fd       int     // the socket, read by the poller; -1 for a TLS connection (sec)
	sec      *secure // a TLS connection's own state (tls.go); nil for a plain one
	opts     Options
	stats    *Stats
	handler  Handler
	reason   atomic.Pointer[error]
	closedCB atomic.Bool
	untrack  atomic.Pointer[func()] // set by the listener that tracks the connection
	local    string
	remote   string
	// used: a frame went in or out since IdleFor last looked; quietSince:
	// when IdleFor last found it set (since epoch; its caller only).
	used       atomic.Bool
	quietSince time.Duration

	// Reading, on the poller goroutine only.
	slot      int32        // in the poller; -1 once it left
	hup       bool         // the peer hung up (or the socket failed): read until the end
	gone      atomic.Bool  // the poller saw the socket end
	part      []byte       // a frame begun but not whole, copied out of the poller's buffer
	partSince atomic.Int64 // when part began (since epoch); 0 while there is none
	partTimer *time.Timer

	// Writing, under wmu. The socket is written directly (no copy) until
	// it is full; then bytes queue in backlog and the flusher goroutine
	// owns the socket until the backlog is empty, so bytes leave in order.
	// Frames deferred to the end of the poller's batch (CoalesceWrites)
	// queue in backlog too.
	wmu      sync.Mutex
	wfd      int    // the socket, for writes; -1 once closed
	backlog  []byte // bytes not yet taken by the socket, in order
	spare    []byte // the flusher's other buffer
	flushing bool
	deferred bool // backlog waits for the end of the poller's batch
	flusher  bool // the flusher goroutine is running
	kick     chan struct{}
	done     chan struct{} // closed with the connection: ends the flusher
}

// newConn wraps the socket fd (non-blocking, close-on-exec, now the
// connection's) and binds its handler; start then lets frames in.
func newConn(fd int, local, remote string, opts Options, stats *Stats, newHandler func(*Conn) Handler) *Conn {
	c := &Conn{fd: fd, slot: -1, opts: opts, stats: stats, local: local, remote: remote, wfd: fd,
		kick: make(chan struct{}, 1), done: make(chan struct{}), quietSince: time.Since(epoch)}
	c.handler = newHandler(c)
	return c
}

// start delivers the connection's frames to its handler. When it fails,
// the connection is closed (Closed follows).
func (c *Conn) start() error {
	p, err := getPoller()
	if err == nil {
		err = p.add(c)
	}
	if err != nil {
		c.reason.CompareAndSwap(nil, &err)
		c.gone.Store(true)
		go c.finish()
	}
	return err
}

// socketOf takes the socket out of gc, a connection of the Go runtime's
// poller (rawpoll.Detach): a duplicate, close-on-exec (a program this
// process starts, a hot-restart successor, must not inherit it), and
// closes gc, also when it fails. Go has made the socket non-blocking
// (shared by the duplicate) and, for TCP, set TCP_NODELAY and keep-alive
// on it.
func socketOf(gc net.Conn) (int, error) {
	fd, err := rawpoll.Detach(gc)
	if err != nil {
		_ = gc.Close()
		return -1, fmt.Errorf("transport: taking the socket: %w", err)
	}
	return fd, nil
}

// String names the connection for logs and errors.
func (c *Conn) String() string { return c.local + "<->" + c.remote }

// WriteFrame writes one whole frame without blocking: the socket takes it
// at once, or the rest queues for the connection's flusher, which waits
// for the peer to read (at most WriteTimeout). When WriteFrame returns, the
// frame's memory is no longer referenced.
//
// With CoalesceWrites, a small frame written while the poller serves a
// batch of ready connections is copied to the backlog and leaves at the
// end of the batch, with whatever else the batch wrote to the connection:
// under load one write per batch instead of one per frame; at low rates a
// batch is one connection's input, and the frame leaves as soon as that
// is served.
//
// A frame queued for the flusher that then cannot be sent is lost with the
// connection; the handler learns it through Closed.
func (c *Conn) WriteFrame(frame []byte) error {
	defer releaseIO() // once the frame is written or copied
	if c.sec != nil {
		return c.writeFrameSecure(frame)
	}
	c.wmu.Lock()
	if c.wfd < 0 || c.reason.Load() != nil {
		c.wmu.Unlock()
		return fmt.Errorf("%w: %s is closed", ErrWrite, c)
	}
	rest := frame
	switch {
	case c.flushing || c.deferred:
	case len(frame) <= coalesceMax && thePoller.Load().deferWrite(c):
		c.deferred = true
	default:
		n, err := write(c.wfd, frame)
		if err != nil {
			c.wmu.Unlock()
			return c.writeFailed(err)
		}
		rest = frame[n:]
	}
	if len(rest) > 0 {
		if len(c.backlog)+len(rest) > maxBacklog {
			c.wmu.Unlock()
			return c.writeFailed(fmt.Errorf("the peer is not reading: %d bytes wait", len(c.backlog)+len(rest)))
		}
		c.backlog = append(c.backlog, rest...)
		if !c.flushing && !c.deferred {
			c.startFlushing()
		}
	}
	c.wmu.Unlock()
	c.markUsed()
	c.stats.FramesOut.Add(1)
	c.stats.BytesOut.Add(uint64(len(frame)))
	return nil
}

func (c *Conn) writeFailed(err error) error {
	err = fmt.Errorf("%w: %v", ErrWrite, err)
	c.CloseWithError(err)
	return err
}

// coalesceMax: larger frames are written at once, not copied.
const coalesceMax = 4 << 10

var epoch = time.Now()

// startFlushing hands the backlog to the flusher goroutine; under wmu.
func (c *Conn) startFlushing() {
	c.flushing = true
	if !c.flusher {
		c.flusher = true
		go c.flushLoop()
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flushDeferred writes what the poller's batch left in the backlog; what
// the socket does not take goes to the flusher.
func (c *Conn) flushDeferred() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.deferred = false
	if c.flushing || c.wfd < 0 || len(c.backlog) == 0 {
		return
	}
	n, err := write(c.wfd, c.backlog)
	c.sentDeferred(n, err)
}

// sentDeferred notes that the socket took n bytes of the backlog (or
// failed); under wmu. What it did not take goes to the flusher.
func (c *Conn) sentDeferred(n int, err error) {
	if err != nil {
		c.backlog = c.backlog[:0]
		go c.writeFailed(err) // takes wmu
		return
	}
	c.backlog = c.backlog[:copy(c.backlog, c.backlog[n:])]
	if len(c.backlog) > 0 {
		c.startFlushing()
	}
}

// write is one non-blocking write(2); a full socket takes nothing (n 0,
// no error).
func write(fd int, p []byte) (int, error) {
	n, errno := rawpoll.Write(fd, p)
	switch errno {
	case 0:
		return n, nil
	case unix.EAGAIN:
		return 0, nil
	}
	return 0, errno
}

// flushLoop sends the backlog whenever there is one, until the connection
// closes.
func (c *Conn) flushLoop() {
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		if err := c.drain(); err != nil {
			_ = c.writeFailed(err)
			return
		}
	}
}

// drain sends the backlog until it is empty; writers meanwhile queue
// behind.
func (c *Conn) drain() error {
	for {
		c.wmu.Lock()
		if c.wfd < 0 {
			c.wmu.Unlock()
			return nil
		}
		if len(c.backlog) == 0 {
			c.flushing = false
			c.wmu.Unlock()
			return nil
		}
		buf := c.backlog
		c.backlog, c.spare = c.spare[:0], nil
		n, err := write(c.wfd, buf)
		c.wmu.Unlock()
		if err != nil {
			return err
		}
		if n < len(buf) {
			if err := c.writeWaiting(buf[n:]); err != nil {
				return err
			}
		}
		c.wmu.Lock()
		if cap(buf) <= 1<<20 {
			c.spare = buf[:0]
		}
		c.wmu.Unlock()
	}
}

// writeWaiting writes p to a full socket, waiting for the peer to read, at
// most WriteTimeout. It waits on the Go runtime's poller, through a
// duplicate of the socket registered there only meanwhile: registered for
// good, every byte in or out would wake the runtime's poller too.
func (c *Conn) writeWaiting(p []byte) error {
	c.wmu.Lock()
	if c.wfd < 0 {
		c.wmu.Unlock()
		return nil // closed: Closed tells the handler
	}
	fd, err := unix.FcntlInt(uintptr(c.wfd), unix.F_DUPFD_CLOEXEC, 0)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), c.String())
	defer f.Close()
	if c.opts.WriteTimeout > 0 {
		if err := f.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout)); err != nil {
			return err
		}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	for len(p) > 0 {
		var n int
		var werr error
		err := rc.Write(func(fd uintptr) bool {
			n, werr = write(int(fd), p)
			return n > 0 || werr != nil // else full: wait
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("the peer read nothing for %v (%d bytes wait)", c.opts.WriteTimeout, len(p))
		}
		if err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		p = p[n:]
	}
	return nil
}

// markUsed notes traffic for the idle sweeper. The flag is stored only
// when the sweeper has cleared it, so a busy connection's frames read it
// and write nothing.
func (c *Conn) markUsed() {
	if !c.used.Load() {
		c.used.Store(true)
	}
}

// IdleFor reports how long the connection has carried no frame either
// way, as seen by periodic calls from one goroutine (an idle sweeper): 0
// when a frame went through since the previous call, else the time since
// that call. A sweeper that looks every p closes a connection idle for d
// between d and d+p after its last frame.
func (c *Conn) IdleFor() time.Duration {
	now := time.Since(epoch)
	if c.used.Load() {
		c.used.Store(false)
		c.quietSince = now
		return 0
	}
	return now - c.quietSince
}

// Close closes the connection normally.
func (c *Conn) Close() { c.CloseWithError(nil) }

// CloseWithError closes the connection and records why; a protocol error is
// counted by its kind. Only the first reason is kept. It shuts the socket
// down, and the poller, seeing the hang-up, leaves the socket and closes
// the connection on a goroutine of its own, which then calls Closed: the
// socket is closed only once the poller will read it no more, so its
// number cannot be reused under the poller.
func (c *Conn) CloseWithError(reason error) {
	if !c.reason.CompareAndSwap(nil, &reason) {
		return
	}
	if reason != nil {
		c.stats.countError(reason)
	}
	if c.sec != nil {
		_ = c.sec.raw.Close() // the reader sees it and finishes the connection
		return
	}
	c.wmu.Lock()
	if c.wfd >= 0 {
		_ = unix.Shutdown(c.wfd, unix.SHUT_RDWR)
	}
	c.wmu.Unlock()
}

// Active reports whether the connection is still open.
func (c *Conn) Active() bool {
	if c.sec != nil {
		return c.reason.Load() == nil
	}
	return c.reason.Load() == nil && !c.gone.Load()
}

// finish closes the connection once the poller has left it: no frame is
// served after.
func (c *Conn) finish() {
	if !c.closedCB.CompareAndSwap(false, true) {
		return
	}
	c.stats.Closed.Add(1)
	c.wmu.Lock()
	_ = unix.Close(c.wfd)
	c.wfd, c.backlog, c.spare = -1, nil, nil
	c.wmu.Unlock()
	close(c.done)
	if c.partTimer != nil {
		c.partTimer.Stop()
	}
	var reason error
	if p := c.reason.Load(); p != nil {
		reason = *p
	}
	if f := c.untrack.Load(); f != nil {
		(*f)()
	}
	c.handler.Closed(reason)
}

// consume hands every whole frame in b, input just read by the poller, to
// the handler as a view into b, and keeps the start of an unfinished one
// in part. Nothing is allocated per frame.
func (c *Conn) consume(b []byte) {
	for len(b) > 0 {
		if c.reason.Load() != nil {
			return // closed, maybe by the last handler: serve nothing more
		}
		if len(c.part) > 0 || len(b) < codec.MetaSize {
			var served bool
			if b, served = c.assemble(b); !served {
				return
			}
			continue
		}
		size, err := codec.FrameSize(b[:codec.MetaSize], c.opts.MaxFrameSize)
		if err != nil {
			c.CloseWithError(err)
			return
		}
		if len(b) < size {
			c.assemble(b)
			return
		}
		c.serve(b[:size:size])
		b = b[size:]
	}
}

func (c *Conn) serve(frame []byte) {
	c.markUsed()
	acquireIO()
	c.stats.FramesIn.Add(1)
	c.stats.BytesIn.Add(uint64(len(frame)))
	c.handler.ServeFrame(frame)
}

// assemble moves input from b into part until the frame there is whole,
// then serves it, and returns the input left. served is false when the
// input ran out first, or the frame's first bytes are not a frame the
// connection accepts (it is closed then).
func (c *Conn) assemble(b []byte) (rest []byte, served bool) {
	if len(c.part) == 0 {
		c.partStarted()
	}
	for {
		need := codec.MetaSize
		if len(c.part) >= codec.MetaSize {
			size, err := codec.FrameSize(c.part[:codec.MetaSize], c.opts.MaxFrameSize)
			if err != nil {
				c.partSince.Store(0)
				c.CloseWithError(err)
				return nil, false
			}
			need = size
		}
		if len(c.part) == need {
			c.partSince.Store(0)
			c.serve(c.part)
			c.part = c.part[:0]
			if cap(c.part) > 64<<10 {
				c.part = nil
			}
			return b, true
		}
		n := min(need-len(c.part), len(b))
		if n == 0 {
			return nil, false
		}
		c.part = append(c.part, b[:n]...)
		b = b[n:]
	}
}

// partStarted starts FrameTimeout for the frame begun in part.
func (c *Conn) partStarted() {
	if c.opts.FrameTimeout <= 0 {
		return
	}
	c.partSince.Store(int64(time.Since(epoch)))
	if c.partTimer == nil {
		c.partTimer = time.AfterFunc(c.opts.FrameTimeout, c.partExpired)
	} else {
		c.partTimer.Reset(c.opts.FrameTimeout)
	}
}

// partExpired closes a connection whose frame is still unfinished after
// FrameTimeout (the timer may belong to a frame that has since finished,
// or to a later one with time left).
func (c *Conn) partExpired() {
	since := c.partSince.Load()
	if since == 0 {
		return
	}
	if left := c.opts.FrameTimeout - (time.Since(epoch) - time.Duration(since)); left > 0 {
		c.partTimer.Reset(left)
		return
	}
	c.CloseWithError(fmt.Errorf("%w: a frame begun %v ago is unfinished", ErrFrameTimeout, c.opts.FrameTimeout))
}

// Dial opens a framed connection; newHandler is called once, before any
// frame can arrive, to bind the connection's Handler. It waits for the
// connection (at most timeout), so it must not be called on the poller: a
// Handler that needs a connection dials from another goroutine.
//
// With opts.TLS on, the connection is mutual TLS (tls.go): dialled,
// handshaken and then read on goroutines of its own.
func Dial(network, address string, timeout time.Duration, opts Options, stats *Stats, newHandler func(*Conn) Handler) (*Conn, error) {
	if opts.TLS.on() && network == "tcp" {
		return dialSecure(network, address, timeout, opts, stats, newHandler)
	}
	gc, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	stats.Dialed.Add(1)
	local, remote := "", ""
	if a := gc.LocalAddr(); a != nil {
		local = a.String()
	}
	if a := gc.RemoteAddr(); a != nil {
		remote = a.String()
	}
	fd, err := socketOf(gc)
	if err != nil {
		return nil, err
	}
	c := newConn(fd, local, remote, opts, stats, newHandler)
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}
