package transport

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"

	"github.com/octomesh/octomesh/codec"
)

// Options bound what one connection may do.
type Options struct {
	// MaxFrameSize is the largest frame accepted, length prefix included.
	MaxFrameSize int
	// FrameTimeout is how long a frame whose first bytes have arrived may
	// take to arrive whole; a half-sent frame closes the connection after it.
	FrameTimeout time.Duration
	// WriteTimeout bounds one blocked write.
	WriteTimeout time.Duration
	// CoalesceWrites lets writers queued behind one another share a flush
	// (see WriteFrame). For connections that carry many requests at once:
	// to and from peer sidecars, to the local app.
	CoalesceWrites bool
}

// Handler receives the frames of one connection. ServeFrame is called on
// the connection's read goroutine, one frame at a time; frame is a view into
// the read buffer that is valid only until ServeFrame returns, so whatever
// must outlive the call (a write to another connection) has to finish
// before it returns. Closed is called once, after the last ServeFrame, with
// the reason (nil for a normal close by either side).
type Handler interface {
	ServeFrame(frame []byte)
	Closed(reason error)
}

// Conn is one framed connection. Reads happen on netpoll's goroutine for
// the connection; WriteFrame and Close may be called from any goroutine.
type Conn struct {
	nc      netpoll.Connection
	opts    Options
	stats   *Stats
	handler Handler
	wmu     sync.Mutex
	queued  atomic.Int32 // writers waiting for wmu (CoalesceWrites)
	// Adaptive batching (CoalesceWrites), all under wmu: the frame rate of
	// the last window decides whether a flush is deferred to the flusher.
	winStart time.Duration
	winCount int
	hot      bool
	pending  bool          // appended, left for the flusher
	kick     chan struct{} // wakes the flusher; never closed
	done     chan struct{} // closed with the connection: ends the flusher
	reason   atomic.Pointer[error]
	closedCB atomic.Bool
	local    string
	remote   string
}

// newConn wraps nc and binds its handler before any callback can fire.
func newConn(nc netpoll.Connection, opts Options, stats *Stats, newHandler func(*Conn) Handler) *Conn {
	c := &Conn{nc: nc, opts: opts, stats: stats}
	if a := nc.LocalAddr(); a != nil {
		c.local = a.String()
	}
	if a := nc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	_ = nc.SetWriteTimeout(opts.WriteTimeout)
	c.handler = newHandler(c)
	if opts.CoalesceWrites {
		c.kick, c.done = make(chan struct{}, 1), make(chan struct{})
		go c.flushLoop()
	}
	_ = nc.AddCloseCallback(c.onClose)
	return c
}

// String names the connection for logs and errors.
func (c *Conn) String() string { return c.local + "<->" + c.remote }

// WriteFrame writes one whole frame. When it returns, the frame's memory is
// no longer referenced, so a caller may release the read buffer it came
// from. Frames of up to 4 KiB are copied into netpoll's pooled output
// buffer; larger ones are sent from frame itself, so they are flushed
// before WriteFrame returns.
//
// Without CoalesceWrites, every frame is flushed (one syscall) before
// WriteFrame returns. With it, small frames (copied, so the caller's buffer
// is free at once) share flushes:
//
//   - writers combine: each announces itself before taking the lock, and
//     one with others queued behind it leaves its frame to the last of
//     them, who flushes for all;
//   - on a hot connection (at least hotFrames in the last hotWindow) the
//     last writer does not flush either: it wakes the connection's flusher,
//     which first yields so that every goroutine made runnable by the same
//     poller round appends, then sends them all with one syscall. Under
//     load this turns one sendmsg per frame into one per round; at a
//     lower rate the deferral would only add a goroutine switch (and, with
//     one P, may wait for the runtime to take the P back from netpoll's
//     blocking epoll_wait), so the writer flushes at once.
//
// A frame left for another writer or the flusher, which then fails to
// flush, is lost with the connection; the handler learns through Closed.
func (c *Conn) WriteFrame(frame []byte) error {
	if c.opts.CoalesceWrites && len(frame) <= netpoll.BinaryInplaceThreshold {
		return c.combineFrame(frame)
	}
	c.wmu.Lock()
	_, err := c.nc.Writer().WriteBinary(frame)
	if err == nil {
		err = c.nc.Writer().Flush()
	}
	c.wmu.Unlock()
	if err != nil {
		c.CloseWithError(fmt.Errorf("%w: %v", ErrWrite, err))
		return err
	}
	c.stats.FramesOut.Add(1)
	c.stats.BytesOut.Add(uint64(len(frame)))
	return nil
}

// Adaptive batching: a connection that wrote at least hotFrames frames in
// the last hotWindow defers flushes to its flusher (15k frames/s).
const (
	hotWindow = 200 * time.Microsecond
	hotFrames = 3
)

var epoch = time.Now()

func (c *Conn) combineFrame(frame []byte) error {
	c.queued.Add(1)
	c.wmu.Lock()
	c.queued.Add(-1)
	_, err := c.nc.Writer().WriteBinary(frame) // copies: frame is free again
	if now := time.Since(epoch); now-c.winStart > hotWindow {
		c.hot = c.winCount >= hotFrames
		c.winStart, c.winCount = now, 0
	}
	c.winCount++
	kick := false
	switch {
	case err != nil, c.queued.Load() > 0: // the last of the queue decides
	case c.hot:
		c.pending, kick = true, true
	default:
		err = c.nc.Writer().Flush()
	}
	c.wmu.Unlock()
	if kick {
		select {
		case c.kick <- struct{}{}:
		default: // the flusher is due already
		}
	}
	if err != nil {
		c.CloseWithError(fmt.Errorf("%w: %v", ErrWrite, err))
		return err
	}
	c.stats.FramesOut.Add(1)
	c.stats.BytesOut.Add(uint64(len(frame)))
	return nil
}

// flushLoop sends what hot writers left, until the connection closes.
func (c *Conn) flushLoop() {
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		runtime.Gosched() // let this poller round's writers append first
		c.wmu.Lock()
		var err error
		if c.pending {
			c.pending = false
			err = c.nc.Writer().Flush()
		}
		c.wmu.Unlock()
		if err != nil {
			c.CloseWithError(fmt.Errorf("%w: %v", ErrWrite, err))
			return
		}
	}
}

// Close closes the connection normally.
func (c *Conn) Close() { c.CloseWithError(nil) }

// CloseWithError closes the connection and records why; a protocol error is
// counted by its kind. Only the first reason is kept.
func (c *Conn) CloseWithError(reason error) {
	if c.reason.CompareAndSwap(nil, &reason) && reason != nil {
		c.stats.countError(reason)
	}
	_ = c.nc.Close()
}

// Active reports whether the connection is still open.
func (c *Conn) Active() bool { return c.nc.IsActive() }

func (c *Conn) onClose(netpoll.Connection) error {
	if !c.closedCB.CompareAndSwap(false, true) {
		return nil
	}
	c.stats.Closed.Add(1)
	if c.done != nil {
		close(c.done)
	}
	var reason error
	if p := c.reason.Load(); p != nil {
		reason = *p
	}
	c.handler.Closed(reason)
	return nil
}

// readLoop reads frames until the connection closes, on one goroutine per
// connection. netpoll's poller fills the input buffer and wakes this
// goroutine when enough bytes have arrived; nothing is allocated per frame
// (an OnRequest callback that returned after each frame would cost a task
// allocation per wake-up). A connection may wait for a frame's first byte
// forever; once a frame has started, FrameTimeout bounds the rest.
func (c *Conn) readLoop() {
	r := c.nc.Reader()
	for {
		if c.reason.Load() != nil || !c.nc.IsActive() {
			return // closed (maybe by the last handler): serve nothing more
		}
		_ = c.nc.SetReadTimeout(0)
		if _, err := r.Peek(1); err != nil {
			c.Close()
			return
		}
		_ = c.nc.SetReadTimeout(c.opts.FrameTimeout)
		meta, err := r.Peek(codec.MetaSize)
		if err != nil {
			c.readFailed(err)
			return
		}
		size, err := codec.FrameSize(meta, c.opts.MaxFrameSize)
		if err != nil {
			c.CloseWithError(err)
			return
		}
		frame, err := r.Next(size)
		if err != nil {
			c.readFailed(err)
			return
		}
		c.stats.FramesIn.Add(1)
		c.stats.BytesIn.Add(uint64(size))
		c.handler.ServeFrame(frame)
		_ = r.Release()
	}
}

// readFailed closes a connection whose frame did not arrive whole.
func (c *Conn) readFailed(err error) {
	if errors.Is(err, netpoll.ErrReadTimeout) {
		c.CloseWithError(fmt.Errorf("%w: %d bytes of a frame after %v", ErrFrameTimeout, c.nc.Reader().Len(), c.opts.FrameTimeout))
		return
	}
	// The peer went away, possibly mid-frame: not a protocol error.
	c.Close()
}

// Dial opens a framed connection; newHandler is called once, before any
// frame can arrive, to bind the connection's Handler.
func Dial(network, address string, timeout time.Duration, opts Options, stats *Stats, newHandler func(*Conn) Handler) (*Conn, error) {
	nc, err := netpoll.DialConnection(network, address, timeout)
	if err != nil {
		return nil, err
	}
	stats.Dialed.Add(1)
	c := newConn(nc, opts, stats, newHandler)
	// As for accepted connections, the read loop runs inside netpoll's
	// OnRequest task, started by the first bytes: netpoll then keeps the
	// input buffer until the task ends, so a Close from any goroutine,
	// ServeFrame's own included, cannot free a frame still in use (a bare
	// goroutine would let Close release the buffer under the reader).
	if err := nc.SetOnRequest(func(context.Context, netpoll.Connection) error {
		c.readLoop()
		return nil
	}); err != nil {
		c.CloseWithError(err)
		return nil, err
	}
	return c, nil
}
