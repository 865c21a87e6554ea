package transport

import (
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/internal/rawpoll"
	"github.com/octomesh/octomesh/internal/uring"
)

// The poller reads every plain connection of the process. It is one epoll
// instance of ours, itself registered with the Go runtime's poller, and one
// goroutine that takes ready connections from it without waiting
// (epoll_wait with a zero timeout), reads each into a buffer shared by all
// connections, and runs the connections' handlers on the frames there.
// When nothing is ready the goroutine parks in the runtime's poller, like
// any goroutine that reads a socket.
//
// Why not wait in epoll_wait ourselves, as netpoll's poller does: a
// goroutine blocked in a system call holds its P, and with GOMAXPROCS=1 (a
// sidecar pinned to one core) the runtime's monitor (sysmon) takes that P
// back from every wait longer than its tick, and a retaken P keeps its tick
// at 20 µs: the "retake storm", 2-3x the CPU per request at 1k-5k req/s in
// a third of the benchmark's runs. A goroutine parked in the runtime holds
// no P, and the thread that then waits in the runtime's epoll_wait holds
// none either, so there is nothing to retake. Every system call on this
// path is raw (epoll_wait with a zero timeout, read, write: none of them
// waits), because the runtime wakes its monitor at each system call that
// goes through it, and a monitor woken from its idle sleep by a system
// call ticks at 20 µs again.
//
// Writes made while the poller handles ready connections (ServeFrame
// answering, or any goroutine writing then) to a connection with
// CoalesceWrites wait for the end of that batch, and each connection's
// frames then leave in one write: under load one write per batch instead
// of one per frame, at low rates no delay (a batch of one).
type poller struct {
	ep *rawpoll.Epoll

	mu    sync.Mutex
	conns []*Conn // by slot; nil where free
	free  []int32

	// The poller goroutine's own, between rounds too.
	events [128]unix.EpollEvent
	ready  [128]*Conn
	again  []*Conn // connections whose input was not drained in their turn
	again2 []*Conn // again's spare
	buf    []byte  // the read buffer every connection shares

	// Writes deferred to the end of the current batch (CoalesceWrites).
	dmu     sync.Mutex
	inBatch bool
	dirty   []*Conn
	flush   []*Conn // the poller's spare for dirty

	// ring reads the connections an epoll_wait found ready, and writes
	// what a batch deferred, through one io_uring submission each
	// (internal/uring), not one read(2) or write(2) per connection: a
	// sidecar serving many connections that each carry one call at a time
	// (an app's pooled connections) makes one system call per batch for
	// all their requests and one for all their answers. nil where io_uring
	// is unavailable or OCTOMESH_IO_URING=off: read(2) and write(2) as
	// before. Only the poller goroutine uses it. The rest is its scratch.
	ring    *uring.Ring
	ringOn  atomic.Bool // ring != nil, for writers on other goroutines
	sending []*Conn
	fds     []int
	bufs    [][]byte
	res     []int32
	rings   int // ring submissions that read (tests)
}

const (
	readBufSize = 64 << 10
	// yieldEvery: batches served in a row before the poller yields.
	yieldEvery = 8
)

// readTurn bounds the reads one connection gets per turn, so that one
// peer sending without pause cannot keep the others waiting (4; tests
// change it).
var readTurn atomic.Int32

func init() { readTurn.Store(4) }

var (
	pollerOnce sync.Once
	thePoller  atomic.Pointer[poller]
	errPoller  error
)

// getPoller returns the process's poller, started on first use.
func getPoller() (*poller, error) {
	pollerOnce.Do(func() {
		p, err := newPoller()
		if err != nil {
			errPoller = err
			return
		}
		thePoller.Store(p)
		go p.run()
	})
	return thePoller.Load(), errPoller
}

func newPoller() (*poller, error) {
	ep, err := rawpoll.New("transport-poller")
	if err != nil {
		return nil, err
	}
	p := &poller{ep: ep, buf: make([]byte, readBufSize), ring: uring.New()}
	p.ringOn.Store(p.ring != nil)
	return p, nil
}

// add registers c's socket; its input then reaches its handler.
func (p *poller) add(c *Conn) error {
	p.mu.Lock()
	var slot int32
	if n := len(p.free); n > 0 {
		slot = p.free[n-1]
		p.free = p.free[:n-1]
		p.conns[slot] = c
	} else {
		slot = int32(len(p.conns))
		p.conns = append(p.conns, c)
	}
	c.slot = slot
	p.mu.Unlock()
	if err := p.ep.Add(c.fd, slot); err != nil {
		p.release(c)
		return err
	}
	return nil
}

// release frees c's slot; events of its batch that name the slot find it
// empty (or taken by a connection added since, which then reads nothing:
// an edge-triggered read that finds nothing is harmless).
func (p *poller) release(c *Conn) {
	p.mu.Lock()
	p.conns[c.slot] = nil
	p.free = append(p.free, c.slot)
	p.mu.Unlock()
	c.slot = -1
}

// run is the poller goroutine.
func (p *poller) run() {
	// round returns false only when nothing is ready: Run then parks until
	// the epoll instance is readable, and calls round again.
	p.ep.Run(p.round)
}

// round serves ready connections until none is, then reports false. A
// batch shorter than the events array took every ready connection, so the
// poller parks without asking again: whatever becomes ready after the
// epoll_wait that took it makes the epoll instance readable anew, and
// wakes the poller.
func (p *poller) round(uintptr) bool {
	for batches := 1; ; batches++ {
		if batches%yieldEvery == 0 {
			// Busy without a pause: let timers and the goroutines this
			// work readied (flushers, callers on goroutines) run.
			runtime.Gosched()
		}
		n := p.ep.Take(p.events[:])
		if n == 0 && len(p.again) == 0 {
			return false
		}
		p.beginBatch()
		p.mu.Lock()
		for i := range n {
			p.ready[i] = p.conns[p.events[i].Fd]
		}
		p.mu.Unlock()
		if p.ring != nil && n > 1 {
			p.serveRing(n)
		} else {
			for i := range n {
				c := p.ready[i]
				p.ready[i] = nil
				if c == nil || c.slot != p.events[i].Fd {
					continue // closed earlier in this batch
				}
				p.serve(c, p.events[i].Events)
			}
		}
		if len(p.again) > 0 {
			list := p.again
			p.again = p.again2[:0]
			for i, c := range list {
				list[i] = nil
				if c.slot >= 0 { // still open
					p.serve(c, 0)
				}
			}
			p.again2 = list[:0]
		}
		p.endBatch()
		if n < len(p.events) && len(p.again) == 0 {
			return false
		}
	}
}

// serve reads c's socket until it is drained (edge-triggered: nothing more
// will be signalled until new input arrives) or c's turn is over, handing
// the frames read to its handler.
func (p *poller) serve(c *Conn, ev uint32) {
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.hup = true // signalled once: read to the end, over as many turns as it takes
	}
	drain := c.hup
	for range readTurn.Load() {
		n, errno := rawpoll.Read(c.fd, p.buf)
		switch {
		case n > 0:
			c.consume(p.buf[:n])
			if n < len(p.buf) && !drain {
				return // the socket had no more
			}
		case errno == unix.EAGAIN:
			return
		default: // end of input, or the socket failed
			p.hangUp(c)
			return
		}
	}
	p.again = append(p.again, c)
}

// ringGroup: the most connections read by one submission, each into its
// share of the read buffer (at least 4 KiB).
const ringGroup = readBufSize / (4 << 10)

// serveRing serves the n ready connections of a batch as serve does, but
// reads those with plain input through the ring: one submission for up
// to ringGroup of them, each into its share of the read buffer. One whose
// share came back full may have more, and waits behind the others (the
// again list), as after its turn of reads. Hang-ups and errors take
// serve's way.
func (p *poller) serveRing(n int) {
	conns, fds, bufs := p.sending[:0], p.fds[:0], p.bufs[:0]
	defer func() { p.sending, p.fds, p.bufs = conns[:0], fds[:0], bufs[:0] }()
	for i := range n {
		c := p.ready[i]
		p.ready[i] = nil
		if c == nil || c.slot != p.events[i].Fd {
			continue // closed earlier in this batch
		}
		if ev := p.events[i].Events; c.hup || ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			p.serve(c, ev)
			continue
		}
		conns, fds = append(conns, c), append(fds, c.fd)
	}
	if len(p.res) < ringGroup {
		p.res = make([]int32, max(ringGroup, p.ring.Capacity()))
	}
	for len(conns) > 0 {
		g := min(len(conns), ringGroup, p.ring.Capacity())
		share := len(p.buf) / g
		bufs = bufs[:0]
		for k := range g {
			bufs = append(bufs, p.buf[k*share:(k+1)*share])
		}
		group, rest := conns[:g], conns[g:]
		res := p.res[:g]
		p.rings++
		got := p.ring.RecvAll(fds[:g], bufs[:g], res)
		if got < g {
			p.ring = nil // it failed: read(2) from now on
			p.ringOn.Store(false)
		}
		for k, c := range group {
			switch {
			case k >= got:
				p.serve(c, 0)
			case res[k] > 0:
				c.consume(bufs[k][:res[k]])
				if int(res[k]) == share {
					p.again = append(p.again, c)
				}
			case res[k] == -int32(unix.EAGAIN) || res[k] == -int32(unix.EINTR):
			default: // end of input, or the socket failed
				p.hangUp(c)
			}
		}
		if p.ring == nil {
			for _, c := range rest {
				p.serve(c, 0)
			}
			break
		}
		// The next group reads into the same buffer: shift the rest
		// down in place (the scratch keeps its start).
		conns = conns[:copy(conns, rest)]
		fds = fds[:copy(fds, fds[g:])]
	}
	clear(conns[:cap(conns)])
	clear(bufs[:cap(bufs)])
}

// hangUp ends c once its peer or CloseWithError has ended the socket: it
// leaves the poller here, and is closed on a goroutine of its own (Closed
// may take its time).
func (p *poller) hangUp(c *Conn) {
	p.ep.Del(c.fd)
	p.release(c)
	c.gone.Store(true)
	go c.finish()
}

func (p *poller) beginBatch() {
	p.dmu.Lock()
	p.inBatch = true
	p.dmu.Unlock()
}

// deferWrite queues c's backlog to be written at the end of the batch;
// false when no batch runs or c writes at once (the caller writes
// itself). A connection with CoalesceWrites always waits for the batch's
// end; any other only where the batch's writes leave in one submission.
func (p *poller) deferWrite(c *Conn) bool {
	if p == nil || !c.opts.CoalesceWrites && !p.ringOn.Load() {
		return false
	}
	p.dmu.Lock()
	ok := p.inBatch
	if ok {
		p.dirty = append(p.dirty, c)
	}
	p.dmu.Unlock()
	return ok
}

// endBatch writes what the batch left for each connection: with io_uring
// in one submission for all, else one write each.
func (p *poller) endBatch() {
	p.dmu.Lock()
	p.inBatch = false
	list := p.dirty
	p.dirty, p.flush = p.flush[:0], nil
	p.dmu.Unlock()
	if p.ring != nil && len(list) > 1 {
		for rest := list; len(rest) > 0; {
			k := min(len(rest), p.ring.Capacity())
			p.sendRing(rest[:k])
			rest = rest[k:]
		}
	} else {
		for _, c := range list {
			c.flushDeferred()
		}
	}
	clear(list)
	p.flush = list[:0]
}

// sendRing sends the backlogs of list (at most the ring's capacity) in one
// submission. Each connection's write lock is held from taking its backlog
// to noting what was sent, so its socket stays open and its bytes in order.
func (p *poller) sendRing(list []*Conn) {
	conns, fds, bufs := p.sending[:0], p.fds[:0], p.bufs[:0]
	for _, c := range list {
		c.wmu.Lock()
		c.deferred = false
		if c.flushing || c.wfd < 0 || len(c.backlog) == 0 {
			c.wmu.Unlock()
			continue
		}
		conns, fds, bufs = append(conns, c), append(fds, c.wfd), append(bufs, c.backlog)
	}
	if len(p.res) < len(conns) {
		p.res = make([]int32, p.ring.Capacity())
	}
	res := p.res[:len(conns)]
	sent := 0
	if len(conns) > 0 {
		sent = p.ring.SendAll(fds, bufs, res)
	}
	if sent < len(conns) {
		p.ring = nil // it failed: write(2) from now on
		p.ringOn.Store(false)
	}
	for i, c := range conns {
		var n int
		var err error
		switch {
		case i >= sent:
			n, err = write(c.wfd, c.backlog)
		case res[i] >= 0:
			n = int(res[i])
		case res[i] != -int32(unix.EAGAIN) && res[i] != -int32(unix.EINTR):
			err = unix.Errno(-res[i])
		}
		c.sentDeferred(n, err)
		c.wmu.Unlock()
		conns[i], bufs[i] = nil, nil
	}
	p.sending, p.fds, p.bufs = conns[:0], fds[:0], bufs[:0]
}
