package grpclite

import (
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/internal/rawpoll"
	"github.com/octomesh/octomesh/internal/uring"
)

// The loop reads every established plain-TCP connection of the process
// whose streams have all had their first message handled: one epoll
// instance of ours, itself registered with the Go runtime's poller, and
// one goroutine that takes ready connections from it without waiting
// (epoll_wait with a zero timeout), reads each into a buffer shared by all
// connections, and runs the per-frame logic (conn.step) on each complete
// frame there. When nothing is ready the goroutine parks in the runtime's
// poller, like a goroutine reading a socket; every system call on the path
// is raw and non-blocking (epoll_wait with a zero timeout, read, or one
// io_uring submission reading every ready socket), so no thread blocks in
// a system call holding a P (proxy/transport's poller, whose model this
// is, says why that matters).
//
// A connection is the loop's from conn.handToLoop, called by its goroutine
// between frames once nothing of the socket is buffered and every open
// stream had its first message handled (the pilot's handler may block on
// a stream's first message: that blocks the connection's own goroutine,
// never the loop); the goroutine then exits, with its stack and its read
// buffer. A frame starting a new stream (HEADERS) gives the connection
// back to a goroutine of its own (handBack), with the bytes read after
// it. A frame split across reads is kept in the connection's partial
// buffer until it is whole; the buffer is let go once it is empty.
//
// While the loop has a connection its socket is out of the runtime's
// poller: handToLoop closes the net.Conn, the socket living on through the
// connection's own duplicate of its descriptor (rawpoll.Detach, conn.ownFD),
// so that each arrival wakes the loop's epoll instance only, not the
// runtime's too; a write the socket does not take at once waits on a
// goroutine of its own (finishWrite, rawpoll.WriteWait), and a connection given back to a goroutine gets a new
// net.Conn (conn.attach).
//
// Only the loop closes a looped connection's socket: a close elsewhere
// (a failed write, keepalive, Server.Close) shuts the socket down, and
// the loop, seeing the hang-up, takes it out of the epoll instance, and
// only then is it closed (on a goroutine of its own, which also tells the
// handlers): its number cannot be reused under the loop.
type loop struct {
	ep *rawpoll.Epoll

	mu    sync.Mutex
	conns []*conn // by slot; nil where free
	free  []int32

	// The loop goroutine's own, between rounds too.
	events [128]unix.EpollEvent
	ready  [128]*conn
	again  []*conn // connections whose input was not drained in their turn
	again2 []*conn
	buf    []byte // the read buffer every connection shares

	// ring reads the sockets one epoll_wait found ready with one
	// submission (internal/uring); nil where io_uring is unavailable or
	// OCTOMESH_IO_URING=off: read(2) each. The rest is its scratch.
	ring  *uring.Ring
	group []*conn
	fds   []int
	bufs  [][]byte
	res   []int32
}

const (
	loopBufSize = 64 << 10
	// loopYieldEvery: batches served in a row before the loop yields.
	loopYieldEvery = 8
	// loopTurn bounds the reads one connection gets per turn.
	loopTurn = 4
	// loopRingGroup: the most sockets read by one submission, each into
	// its share of the read buffer (at least 4 KiB).
	loopRingGroup  = loopBufSize / (4 << 10)
	frameHeaderLen = 9
)

// loopStats count what the loop did, for tests.
var loopStats struct {
	handedOver, handedBack, hangUps, ringReads atomic.Int64
}

var (
	loopOnce sync.Once
	theLoop  *loop
)

// getLoop returns the process's loop, started on first use; nil if it
// could not be set up (the connections then keep their goroutines).
func getLoop() *loop {
	loopOnce.Do(func() {
		l, err := newLoop()
		if err != nil {
			return
		}
		theLoop = l
		go l.run()
	})
	return theLoop
}

func newLoop() (*loop, error) {
	ep, err := rawpoll.New("grpclite-loop")
	if err != nil {
		return nil, err
	}
	return &loop{ep: ep, buf: make([]byte, loopBufSize), ring: uring.New()}, nil
}

// add registers c's socket (c.mu held, c.looped set): its input is the
// loop's from now on.
func (l *loop) add(c *conn) error {
	l.mu.Lock()
	var slot int32
	if n := len(l.free); n > 0 {
		slot = l.free[n-1]
		l.free = l.free[:n-1]
		l.conns[slot] = c
	} else {
		slot = int32(len(l.conns))
		l.conns = append(l.conns, c)
	}
	c.slot = slot
	l.mu.Unlock()
	if err := l.ep.Add(c.fd, slot); err != nil {
		l.release(c)
		return err
	}
	return nil
}

// leave takes c out of the loop (the loop goroutine's): no event names it
// after, and the slot is free.
func (l *loop) leave(c *conn) {
	l.ep.Del(c.fd)
	l.release(c)
	c.partial = nil
	c.hup = false
	c.mu.Lock()
	c.looped = false
	c.mu.Unlock()
}

// release frees c's slot. Slots are only freed by the loop goroutine, for
// the connection it is serving, so the events of a batch, mapped to
// connections at the batch's start, stay right for the rest of it: an
// epoll_wait reports each socket at most once, and one that left was
// taken out of the epoll instance before its slot was freed.
func (l *loop) release(c *conn) {
	l.mu.Lock()
	l.conns[c.slot] = nil
	l.free = append(l.free, c.slot)
	c.slot = -1
	l.mu.Unlock()
}

// run is the loop goroutine.
func (l *loop) run() {
	// round returns false only when nothing is ready: Run then parks until
	// the epoll instance is readable, and calls round again.
	l.ep.Run(l.round)
}

// round serves ready connections until none is, then reports false.
func (l *loop) round(uintptr) bool {
	for batches := 1; ; batches++ {
		if batches%loopYieldEvery == 0 {
			runtime.Gosched()
		}
		n := l.ep.Take(l.events[:])
		if n == 0 && len(l.again) == 0 {
			return false
		}
		l.mu.Lock()
		for i := range n {
			l.ready[i] = l.conns[l.events[i].Fd]
		}
		l.mu.Unlock()
		if l.ring != nil && n > 1 {
			l.serveRing(n)
		} else {
			for i := range n {
				c := l.ready[i]
				l.ready[i] = nil
				if c != nil {
					l.serve(c, l.events[i].Events)
				}
			}
		}
		if len(l.again) > 0 {
			list := l.again
			l.again = l.again2[:0]
			for i, c := range list {
				list[i] = nil
				// One that left in this batch's events (given back to
				// a goroutine, or ended) is not the loop's to read,
				// unless it came back since.
				l.mu.Lock()
				in := c.slot >= 0
				l.mu.Unlock()
				if in {
					l.serve(c, 0)
				}
			}
			l.again2 = list[:0]
		}
		if n < len(l.events) && len(l.again) == 0 {
			return false
		}
	}
}

// serve reads c's socket until it is drained (edge-triggered) or its turn
// is over, handing what was read to c.
func (l *loop) serve(c *conn, ev uint32) {
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.hup = true // signalled once: read to the end, over as many turns as it takes
	}
	for range loopTurn {
		n, errno := rawpoll.Read(c.fd, l.buf)
		switch {
		case n > 0:
			acquireIO()
			if !l.feed(c, l.buf[:n]) {
				return
			}
			if n < len(l.buf) && !c.hup {
				return // the socket had no more
			}
		case errno == unix.EAGAIN:
			return
		default: // end of input, or the socket failed
			l.hangUp(c)
			return
		}
	}
	l.again = append(l.again, c)
}

// feed hands b to c; false once c left the loop.
func (l *loop) feed(c *conn, b []byte) bool {
	switch c.feed(b) {
	case feedBack:
		l.leave(c)
		if !c.attach() {
			loopStats.hangUps.Add(1)
			go c.close()
			return false
		}
		loopStats.handedBack.Add(1)
		go c.resume()
		return false
	case feedEnd:
		l.hangUp(c)
		return false
	}
	return true
}

// serveRing serves the n ready connections of a batch as serve does, but
// reads them through the ring: one submission for up to loopRingGroup of
// them, each into its share of the read buffer. One whose share came back
// full may have more and waits behind the others (the again list).
// Hang-ups take serve's way.
func (l *loop) serveRing(n int) {
	conns, fds, bufs := l.group[:0], l.fds[:0], l.bufs[:0]
	for i := range n {
		c := l.ready[i]
		l.ready[i] = nil
		if c == nil {
			continue
		}
		if ev := l.events[i].Events; c.hup || ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			l.serve(c, ev)
			continue
		}
		conns, fds = append(conns, c), append(fds, c.fd)
	}
	if len(l.res) < loopRingGroup {
		l.res = make([]int32, max(loopRingGroup, l.ring.Capacity()))
	}
	for len(conns) > 0 {
		g := min(len(conns), loopRingGroup, l.ring.Capacity())
		share := len(l.buf) / g
		bufs = bufs[:0]
		for k := range g {
			bufs = append(bufs, l.buf[k*share:(k+1)*share])
		}
		group, rest := conns[:g], conns[g:]
		res := l.res[:g]
		loopStats.ringReads.Add(1)
		got := l.ring.RecvAll(fds[:g], bufs[:g], res)
		acquireIO()
		if got < g {
			l.ring = nil // it failed: read(2) from now on
		}
		for k, c := range group {
			switch {
			case k >= got:
				l.serve(c, 0)
			case res[k] > 0:
				if l.feed(c, bufs[k][:res[k]]) && int(res[k]) == share {
					l.again = append(l.again, c)
				}
			case res[k] == -int32(unix.EAGAIN) || res[k] == -int32(unix.EINTR):
			default: // end of input, or the socket failed
				l.hangUp(c)
			}
		}
		if l.ring == nil {
			for _, c := range rest {
				l.serve(c, 0)
			}
			break
		}
		conns = conns[:copy(conns, rest)]
		fds = fds[:copy(fds, fds[g:])]
	}
	clear(conns[:cap(conns)])
	clear(bufs[:cap(bufs)])
	l.group, l.fds, l.bufs = conns[:0], fds[:0], bufs[:0]
}

// hangUp ends c once its socket ended or c failed: it leaves the loop
// here, and is closed (its streams ended, its handlers told) on a
// goroutine of its own.
func (l *loop) hangUp(c *conn) {
	l.leave(c)
	loopStats.hangUps.Add(1)
	go c.close()
}

const (
	feedOK = iota
	feedBack
	feedEnd
)

// feed takes b, bytes the loop read of c's socket: each complete frame is
// handled as the connection's goroutine handles it (step); a HEADERS
// frame (a new stream, or trailers) gives c back to a goroutine, which
// reads from there (rd.src holds the rest of b); an incomplete frame waits
// in c.partial for the rest.
func (c *conn) feed(b []byte) int {
	data, fromPartial := b, false
	if len(c.partial) > 0 {
		c.partial = append(c.partial, b...)
		data, fromPartial = c.partial, true
	}
	for len(data) >= frameHeaderLen {
		if http2.FrameType(data[3]) == http2.FrameHeaders {
			c.rd.src = append([]byte(nil), data...)
			c.partial = nil
			return feedBack
		}
		n := frameHeaderLen + (int(data[0])<<16 | int(data[1])<<8 | int(data[2]))
		if n > frameHeaderLen+maxFrameSize {
			n = frameHeaderLen // the Framer refuses it from its header
		}
		if len(data) < n {
			break
		}
		var ok bool
		if plainData(data[:n]) {
			ok = c.stepData(data[:n])
		} else {
			c.rd.src = data[:n]
			f, err := c.fr.ReadFrame()
			c.rd.src = nil
			ok = c.step(f, err)
		}
		if !ok {
			c.partial = nil
			return feedEnd
		}
		data = data[n:]
		c.mu.Lock()
		dead := c.dead
		c.mu.Unlock()
		if dead {
			c.partial = nil
			return feedEnd
		}
	}
	switch {
	case len(data) == 0:
		c.partial = nil
	case fromPartial:
		c.partial = c.partial[:copy(c.partial, data)]
	default: // room for the whole frame, once its header is here
		size := 2 * frameHeaderLen
		if len(data) >= frameHeaderLen {
			size = frameHeaderLen + min(maxFrameSize, int(data[0])<<16|int(data[1])<<8|int(data[2]))
		}
		c.partial = append(make([]byte, 0, max(len(data), size)), data...)
	}
	return feedOK
}
