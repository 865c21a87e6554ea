package mocksidecar

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"golang.org/x/net/http2"
	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/internal/rawpoll"
	"github.com/octomesh/octomesh/internal/uring"
)

// Event loops for the lean streams. Each mock process runs GOMAXPROCS
// loops; each has an epoll instance of its own, registered with the Go
// runtime's poller (the loop goroutine parks there when nothing is
// ready, as proxy/transport's poller does), and serves the lean streams
// dealt to it: it takes the ready sockets without waiting (epoll_wait
// with a zero timeout), reads them all with one io_uring submission
// (internal/uring's RecvAll), handles the whole frames read, hands each
// response to its sidecar's handler (receive: the checks, the state, the
// auto-ACK) on the loop's goroutine, and at the end of the batch sends
// what the batch's streams have to say (ACKs, WINDOW_UPDATEs, PING and
// SETTINGS ACKs) with one SendAll submission. A push to a thousand
// sidecars costs a few system calls per hundred of them, not a read, a
// read that finds nothing and a write each, and no goroutine wakes up
// for it but those the script waits in.
//
// The sidecar's session goroutine stays (it opens the stream, sends the
// first requests, and waits for the stream's end); the script's steps
// still send from their goroutines, writing inline. What the loop may
// not do is wait: a deferred send that finds the stream's send lock
// taken or too little send window goes to a goroutine (sendFromLoop),
// and a send the socket takes only part of, or none of, is finished by a
// goroutine that waits for the socket (a blocking write with a deadline).
//
// A loop's socket is out of the runtime's poller (rawpoll.Detach): the
// stream's connection is then an fdConn, whose writes go to the
// descriptor, and wait (rawpoll.WriteWait) when the socket takes only part.
//
// Without io_uring (OCTOMESH_IO_URING=off, or where the kernel refuses
// it) the loop reads and writes each socket with read(2) and write(2).
// OCTOMESH_MOCK_LEAN_LOOP=off turns the loops off: each stream is read
// by its session goroutine (Recv), as before the loops.

const (
	// leanLoopShare: each ready socket of a submission reads into this
	// much of the loop's buffer; one that fills its share is read again.
	leanLoopShare = 4 << 10
	// leanSlowWrite bounds a write the socket could not take at once.
	leanSlowWrite  = 20 * time.Second
	leanYieldEvery = 8
)

var (
	loopsOnce sync.Once
	loops     []*leanLoop
	loopNext  atomic.Uint32
)

// pickLoop deals a new stream to a loop: nil when the loops are off or
// could not start (the stream is then read by Recv).
func pickLoop() *leanLoop {
	loopsOnce.Do(func() {
		if os.Getenv("OCTOMESH_MOCK_LEAN_LOOP") == "off" {
			return
		}
		for range runtime.GOMAXPROCS(0) {
			lp, err := newLeanLoop()
			if err != nil {
				break
			}
			loops = append(loops, lp)
			go lp.run()
		}
	})
	if len(loops) == 0 {
		return nil
	}
	return loops[int(loopNext.Add(1))%len(loops)]
}

type leanLoop struct {
	ep *rawpoll.Epoll

	mu      sync.Mutex
	streams []*leanStream // by slot; nil where free
	free    []int32

	// The loop goroutine's own.
	events [128]unix.EpollEvent
	ready  []*leanStream
	again  []*leanStream // streams whose share came back full
	dirty  []*leanStream // streams the batch may have left frames to send
	buf    []byte
	ring   *uring.Ring
	fds    []int
	bufs   [][]byte
	res    []int32
	group  []*leanStream
	// responses is shared by the sidecars whose streams it reads.
	responses responseCache

	// Counters, for tests.
	recvSubmits, sendSubmits, sent atomic.Int64
}

func newLeanLoop() (*leanLoop, error) {
	ep, err := rawpoll.New("mocksidecar-loop")
	if err != nil {
		return nil, err
	}
	lp := &leanLoop{ep: ep, ring: uring.New()}
	n := len(lp.events)
	if lp.ring != nil {
		n = lp.ring.Capacity()
	}
	lp.buf = make([]byte, n*leanLoopShare)
	lp.res = make([]int32, n)
	return lp, nil
}

// add registers ls's socket with the loop.
func (lp *leanLoop) add(ls *leanStream) error {
	ls.done = make(chan struct{})
	ls.queued = make(chan struct{}, 1)
	ls.wmu.Lock()
	defer ls.wmu.Unlock()
	ls.fdmu.Lock()
	defer ls.fdmu.Unlock()
	// The socket leaves the runtime's poller (rawpoll.Detach): the loop's
	// epoll instance is the only one it wakes.
	local, remote := ls.conn.LocalAddr(), ls.conn.RemoteAddr()
	fd, err := rawpoll.Detach(ls.conn)
	if err != nil {
		return err
	}
	ls.fd = fd
	ls.conn = &fdConn{fd: fd, local: local, remote: remote}
	lp.mu.Lock()
	if n := len(lp.free); n > 0 {
		ls.slot = lp.free[n-1]
		lp.free = lp.free[:n-1]
		lp.streams[ls.slot] = ls
	} else {
		ls.slot = int32(len(lp.streams))
		lp.streams = append(lp.streams, ls)
	}
	lp.mu.Unlock()
	ls.lp = lp
	if err := lp.ep.Add(ls.fd, ls.slot); err != nil {
		lp.remove(ls)
		ls.lp = nil
		return err
	}
	return nil
}

// remove takes ls out of the loop; ls.fdmu is held. Events of the
// current batch that name its slot find it empty, or taken by a stream
// added since, which then reads nothing (harmless: its socket is
// non-blocking).
func (lp *leanLoop) remove(ls *leanStream) {
	lp.ep.Del(ls.fd)
	lp.mu.Lock()
	if ls.slot >= 0 && lp.streams[ls.slot] == ls {
		lp.streams[ls.slot] = nil
		lp.free = append(lp.free, ls.slot)
	}
	lp.mu.Unlock()
	ls.slot = -1
}

func (lp *leanLoop) run() { lp.ep.Run(lp.round) }

// round serves ready streams until none is, then reports false (the
// loop parks until the epoll instance is readable).
func (lp *leanLoop) round(uintptr) bool {
	for batches := 1; ; batches++ {
		if batches%leanYieldEvery == 0 {
			runtime.Gosched()
		}
		n := lp.ep.Take(lp.events[:])
		if n == 0 && len(lp.again) == 0 {
			return false
		}
		ready := lp.ready[:0]
		lp.mu.Lock()
		for i := range n {
			if ls := lp.streams[lp.events[i].Fd]; ls != nil && !ls.reading {
				ls.reading = true
				ready = append(ready, ls)
			}
		}
		lp.mu.Unlock()
		for _, ls := range lp.again {
			if !ls.reading {
				ls.reading = true
				ready = append(ready, ls)
			}
		}
		clear(lp.again)
		lp.again = lp.again[:0]
		for _, ls := range ready {
			ls.reading = false
		}
		lp.read(ready)
		clear(ready)
		lp.ready = ready[:0]
		lp.flush()
		if n < len(lp.events) && len(lp.again) == 0 {
			return false
		}
	}
}

// read reads the ready streams, a submission (or a read(2) each) per
// group that fits the buffer, and handles what each read.
func (lp *leanLoop) read(ready []*leanStream) {
	per := len(lp.buf) / leanLoopShare
	for len(ready) > 0 {
		g := min(len(ready), per)
		group := ready[:g]
		ready = ready[g:]
		fds, bufs := lp.fds[:0], lp.bufs[:0]
		live := lp.group[:0]
		for k, ls := range group {
			ls.fdmu.Lock()
			if ls.closed {
				ls.fdmu.Unlock()
				continue
			}
			live = append(live, ls)
			fds = append(fds, ls.fd)
			bufs = append(bufs, lp.buf[k*leanLoopShare:(k+1)*leanLoopShare])
		}
		res := lp.res[:len(live)]
		got := 0
		if lp.ring != nil && len(live) > 1 {
			lp.recvSubmits.Add(1)
			got = lp.ring.RecvAll(fds, bufs, res)
			if got < len(live) {
				lp.ring = nil // it failed: read(2) from now on
			}
		}
		for k := got; k < len(live); k++ {
			res[k] = loopRead(fds[k], bufs[k])
		}
		for _, ls := range live {
			ls.fdmu.Unlock()
		}
		for k, ls := range live {
			lp.input(ls, bufs[k], res[k])
			live[k], bufs[k] = nil, nil
		}
		lp.group, lp.fds, lp.bufs = live[:0], fds[:0], bufs[:0]
	}
}

// input handles one read's result for ls.
func (lp *leanLoop) input(ls *leanStream, buf []byte, res int32) {
	switch {
	case res > 0:
		ls.rmu.Lock()
		ls.input(buf[:res], false)
		ls.rmu.Unlock()
		if int(res) == len(buf) {
			lp.again = append(lp.again, ls)
		}
	case res == 0:
		ls.rmu.Lock()
		ls.input(nil, true)
		ls.rmu.Unlock()
	case res == -int32(unix.EAGAIN) || res == -int32(unix.EINTR):
		return
	default:
		ls.end(ls.connError(ls.opError("read", unix.Errno(-res))))
		return
	}
	if !ls.dirty {
		ls.dirty = true
		lp.dirty = append(lp.dirty, ls)
	}
}

// flush sends what the batch's streams have buffered: one submission
// per ring's capacity of them, else a write(2) each. A socket that takes
// only part (or none) leaves the rest to a goroutine that waits for it.
func (lp *leanLoop) flush() {
	dirty := lp.dirty
	for len(dirty) > 0 {
		g := len(dirty)
		if lp.ring != nil {
			g = min(g, lp.ring.Capacity())
		}
		group := dirty[:g]
		dirty = dirty[g:]
		live, fds, bufs := lp.group[:0], lp.fds[:0], lp.bufs[:0]
		for _, ls := range group {
			ls.dirty = false
			if !ls.wmu.TryLock() {
				// A sender is writing (it takes what the loop buffered),
				// and may wait for the socket: the loop does not.
				go ls.writeSlow()
				continue
			}
			ls.fdmu.Lock()
			if ls.closed || len(ls.wbuf) == 0 {
				ls.fdmu.Unlock()
				ls.wmu.Unlock()
				continue
			}
			live, fds, bufs = append(live, ls), append(fds, ls.fd), append(bufs, ls.wbuf)
		}
		res := lp.res[:len(live)]
		got := 0
		if lp.ring != nil && len(live) > 1 {
			lp.sendSubmits.Add(1)
			got = lp.ring.SendAll(fds, bufs, res)
			if got < len(live) {
				lp.ring = nil // it failed: write(2) from now on
			}
		}
		for k := got; k < len(live); k++ {
			res[k] = loopWrite(fds[k], bufs[k])
		}
		lp.sent.Add(int64(len(live)))
		var failed []*leanStream
		var errs []error
		for k, ls := range live {
			r := res[k]
			switch {
			case int(r) == len(ls.wbuf):
				if cap(ls.wbuf) > leanKeepBuffer {
					ls.wbuf = nil
				} else {
					ls.wbuf = ls.wbuf[:0]
				}
			case r >= 0 || r == -int32(unix.EAGAIN) || r == -int32(unix.EINTR):
				if r > 0 {
					ls.wbuf = ls.wbuf[:copy(ls.wbuf, ls.wbuf[r:])]
				}
				go ls.writeSlow()
			default:
				failed = append(failed, ls)
				errs = append(errs, ls.opError("write", unix.Errno(-r)))
			}
			ls.fdmu.Unlock()
			ls.wmu.Unlock()
			live[k], bufs[k] = nil, nil
		}
		for k, ls := range failed {
			ls.end(ls.connError(errs[k]))
		}
		lp.group, lp.fds, lp.bufs = live[:0], fds[:0], bufs[:0]
	}
	clear(lp.dirty)
	lp.dirty = lp.dirty[:0]
}

// writeSlow writes what the loop could not, waiting for the socket.
func (ls *leanStream) writeSlow() {
	ls.wmu.Lock()
	defer ls.wmu.Unlock()
	if len(ls.wbuf) == 0 {
		return
	}
	_ = ls.conn.SetWriteDeadline(time.Now().Add(leanSlowWrite))
	_, err := ls.conn.Write(ls.wbuf)
	_ = ls.conn.SetWriteDeadline(time.Time{})
	ls.wbuf = ls.wbuf[:0]
	if err != nil {
		ls.end(ls.connError(err))
	}
}

func (ls *leanStream) opError(op string, errno unix.Errno) error {
	return &net.OpError{Op: op, Net: ls.conn.LocalAddr().Network(), Source: ls.conn.LocalAddr(),
		Addr: ls.conn.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// input handles bytes the loop read from ls's socket (eof: the end of
// its input): each whole frame (a header block with its CONTINUATIONs)
// goes to the framer and is handled, and each response it completes to
// the handler; the start of a frame still arriving is kept. rmu is held.
func (ls *leanStream) input(p []byte, eof bool) {
	if ls.ended() != nil {
		return
	}
	ls.readBytes += int64(len(p))
	b := p
	if len(ls.pending) > 0 {
		ls.pending = append(ls.pending, p...)
		b = ls.pending
	}
	for {
		n := frameUnit(b)
		if n == 0 {
			break
		}
		// The usual frame, DATA without padding on a stream (frameUnit
		// found it whole), is read without the framer, which would find
		// it valid; the framer reads and judges the others.
		id, flags := binary.BigEndian.Uint32(b[5:9])&(1<<31-1), http2.Flags(b[4])
		if http2.FrameType(b[3]) == http2.FrameData && !flags.Has(http2.FlagDataPadded) && id != 0 {
			ls.frames.Add(1)
			ls.dataOf(id, flags.Has(http2.FlagDataEndStream), n-9, b[9:n])
		} else {
			ls.src.b = b[:n]
			f, err := ls.fr.ReadFrame()
			ls.frame(f, err)
		}
		b = b[n:]
		ls.deliver()
		if ls.ended() != nil {
			return
		}
	}
	switch {
	case len(b) == 0:
		ls.pending = ls.pending[:0]
		if cap(ls.pending) > leanKeepBuffer {
			ls.pending = nil
		}
	case len(ls.pending) > 0:
		ls.pending = ls.pending[:copy(ls.pending, b)]
	default:
		ls.pending = append(ls.pending[:0], b...)
	}
	if eof {
		// The framer reads what is left as Recv's framer would have,
		// and says how the input ended.
		ls.src.b, ls.src.eof = ls.pending, true
		f, err := ls.fr.ReadFrame()
		if err == nil {
			err = io.ErrUnexpectedEOF // never: a whole frame would have been handled
		}
		ls.frame(f, err)
	}
}

// frameUnit is the length of the whole frame at the start of b (with a
// HEADERS frame, of its header block: the CONTINUATION frames up to the
// one that ends it, which the framer reads with it), or 0 if not all of
// it is there yet.
func frameUnit(b []byte) int {
	off := 0
	for {
		if len(b)-off < 9 {
			return 0
		}
		length := int(b[off])<<16 | int(b[off+1])<<8 | int(b[off+2])
		t, flags := http2.FrameType(b[off+3]), http2.Flags(b[off+4])
		if len(b)-off < 9+length {
			return 0
		}
		first := off == 0
		off += 9 + length
		if (first && t == http2.FrameHeaders || !first && t == http2.FrameContinuation) && flags&http2.FlagHeadersEndHeaders == 0 {
			continue
		}
		return off
	}
}

// deliver hands the decoded responses to the handler, in order; rmu is
// held. A handler's error ends the stream, and is what wait returns.
func (ls *leanStream) deliver() {
	if ls.handler == nil && len(ls.queue) > 0 {
		select {
		case ls.queued <- struct{}{}:
		default:
		}
	}
	for len(ls.queue) > 0 && ls.handler != nil {
		r := ls.queue[0]
		n := copy(ls.queue, ls.queue[1:])
		ls.queue[n] = nil
		ls.queue = ls.queue[:n]
		if err := ls.handler(r); err != nil {
			ls.herr = err
			ls.end(err)
			return
		}
	}
}

// Serve makes h the handler of ls's responses, on the loop's goroutine
// (those that arrived before it are handed to it now).
func (ls *leanStream) Serve(h func(*discovery.DeltaDiscoveryResponse) error) {
	ls.rmu.Lock()
	ls.handler = h
	ls.deliver()
	ls.rmu.Unlock()
}

// Wait waits for the end of a loop's stream, and returns it (the
// handler's error if one ended it) once the loop has handed over every
// response read before it.
func (ls *leanStream) Wait() error {
	<-ls.done
	ls.rmu.Lock()
	defer ls.rmu.Unlock()
	if ls.herr != nil {
		return ls.herr
	}
	return ls.ended()
}

// recvLoop is Recv on a loop's stream without a handler (tests): it
// takes the responses the loop queued.
func (ls *leanStream) recvLoop() (*discovery.DeltaDiscoveryResponse, error) {
	for {
		ls.rmu.Lock()
		if len(ls.queue) > 0 {
			r := ls.queue[0]
			n := copy(ls.queue, ls.queue[1:])
			ls.queue[n] = nil
			ls.queue = ls.queue[:n]
			ls.rmu.Unlock()
			return r, nil
		}
		ls.rmu.Unlock()
		if err := ls.ended(); err != nil {
			return nil, err
		}
		select {
		case <-ls.queued:
		case <-ls.done:
		}
	}
}

// sendFromLoop is SendDeferred on a loop's stream: the request joins the
// stream's write buffer, to leave with the batch's submission, unless
// that would wait (another sender holds the stream, or the send window
// is short), or earlier ones wait: then a goroutine sends it in order.
func (ls *leanStream) sendFromLoop(r *discovery.DeltaDiscoveryRequest) error {
	ls.mu.Lock()
	if ls.err != nil {
		ls.mu.Unlock()
		return io.EOF
	}
	if len(ls.later) > 0 {
		ls.later = append(ls.later, r)
		ls.mu.Unlock()
		return nil
	}
	ls.mu.Unlock()
	if ls.smu.TryLock() {
		ok, err := ls.sendNow(r)
		ls.smu.Unlock()
		if ok || err != nil {
			return err
		}
	}
	ls.mu.Lock()
	ls.later = append(ls.later, r)
	start := len(ls.later) == 1
	ls.mu.Unlock()
	if start {
		go ls.sendLater()
	}
	return nil
}

// sendNow buffers r if the send window takes it whole; smu is held.
func (ls *leanStream) sendNow(r *discovery.DeltaDiscoveryRequest) (bool, error) {
	size := 5 + requestSize(r)
	ls.mu.Lock()
	ok := size <= min(ls.sendConn, ls.sendStream, ls.maxFrame)
	ls.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, ls.sendHeld(false, r)
}

// sendLater sends the requests the loop handed over, in order.
func (ls *leanStream) sendLater() {
	for {
		ls.mu.Lock()
		if len(ls.later) == 0 || ls.err != nil {
			ls.later = nil
			ls.mu.Unlock()
			return
		}
		r := ls.later[0]
		ls.mu.Unlock()
		err := ls.send(true, r)
		ls.mu.Lock()
		ls.later = ls.later[1:]
		if len(ls.later) == 0 {
			ls.later = nil
		}
		ls.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// fdConn is a loop's stream's connection: its socket's own descriptor,
// out of the runtime's poller. The loop reads it; a write it does not
// take at once waits for it (rawpoll.WriteWait) up to the write deadline.
type fdConn struct {
	fd            int
	local, remote net.Addr
	deadline      atomic.Int64 // the write deadline, Unix ns; 0: none
	closed        atomic.Bool
}

func (c *fdConn) Read([]byte) (int, error) {
	return 0, errors.New("mocksidecar: a loop reads this connection")
}

func (c *fdConn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	var deadline time.Time
	if d := c.deadline.Load(); d != 0 {
		deadline = time.Unix(0, d)
	}
	return rawpoll.WriteWait(c.fd, p, deadline)
}

// Close closes the descriptor, once; the loop no longer watches it.
func (c *fdConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	return unix.Close(c.fd)
}

func (c *fdConn) LocalAddr() net.Addr             { return c.local }
func (c *fdConn) RemoteAddr() net.Addr            { return c.remote }
func (c *fdConn) SetDeadline(t time.Time) error   { return c.SetWriteDeadline(t) }
func (c *fdConn) SetReadDeadline(time.Time) error { return nil }
func (c *fdConn) SetWriteDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
	}
	c.deadline.Store(d)
	return nil
}

// loopRead is one non-blocking read(2), with its result as the ring
// gives it (bytes, or a negative errno).
func loopRead(fd int, p []byte) int32 { return ringResult(rawpoll.Read(fd, p)) }

// loopWrite is one non-blocking send (a closed peer is EPIPE, not a
// signal), with its result as the ring gives it.
func loopWrite(fd int, p []byte) int32 { return ringResult(rawpoll.Send(fd, p)) }

func ringResult(n int, errno unix.Errno) int32 {
	if errno != 0 {
		return -int32(errno)
	}
	return int32(n)
}
