package transport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Listener accepts framed connections on one address. Accepting runs on a
// goroutine of the Go runtime's poller; each accepted socket then joins
// the transport's poller, which reads it.
type Listener struct {
	network, address string
	goln             net.Listener  // the socket: accepted on, and handed over with File
	accepting        chan struct{} // closed once the accept loop has ended
	stopOnce         sync.Once
	closed           chan struct{} // closed by Close: ends the idle sweeper
	closeOnce        sync.Once
	opts             Options
	stats            *Stats
	newHandler       func(*Conn) Handler
	// ownsPath: Close removes a Unix socket's path. True when this process
	// bound it; false while inherited (until Own) or once handed over.
	ownsPath atomic.Bool

	mu    sync.Mutex
	conns map[*Conn]struct{}
	// handshaking counts accepted TLS connections not yet served (first
	// byte, handshake): they count toward MaxConns, so that a flood of
	// silent peers cannot hold unbounded goroutines.
	handshaking atomic.Int32
}

// Listen starts accepting on network ("tcp" or "unix") and address.
// newHandler binds a Handler to each accepted connection before it can
// deliver a frame. A Unix socket file left behind by a dead process is
// replaced; one that a live process still accepts on is an error.
func Listen(network, address string, opts Options, stats *Stats, newHandler func(*Conn) Handler) (*Listener, error) {
	if network == "unix" {
		if err := removeStaleSocket(address); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err) // "listen tcp host:port: ..." already
	}
	l, err := serve(ln, opts, stats, newHandler)
	if err == nil {
		l.ownsPath.Store(true)
	}
	return l, err
}

// ListenFile serves on a listening socket inherited as f (from a process
// handing over, see File). f is not closed; the Listener holds a duplicate.
// Until Own is called, Close leaves a Unix socket's path in place: the
// process that bound it may still be serving (a failed hand-over).
func ListenFile(f *os.File, opts Options, stats *Stats, newHandler func(*Conn) Handler) (*Listener, error) {
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("transport: inherited listener %s: %w", f.Name(), err)
	}
	return serve(ln, opts, stats, newHandler)
}

func serve(ln net.Listener, opts Options, stats *Stats, newHandler func(*Conn) Handler) (*Listener, error) {
	network, address := ln.Addr().Network(), ln.Addr().String()
	if ul, ok := ln.(*net.UnixListener); ok {
		// The path must outlive this listener when it is handed over;
		// Close removes it otherwise.
		ul.SetUnlinkOnClose(false)
	}
	l := &Listener{network: network, address: address, goln: ln, accepting: make(chan struct{}),
		closed: make(chan struct{}), opts: opts, stats: stats, newHandler: newHandler, conns: map[*Conn]struct{}{}}
	go l.accept()
	if opts.IdleTimeout > 0 {
		go l.sweepIdle()
	}
	return l, nil
}

// accept takes connections until the socket is closed (StopAccepting).
func (l *Listener) accept() {
	defer close(l.accepting)
	for {
		gc, err := l.goln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of descriptors or memory: wait, as net/http does
			l.stats.AcceptErrors.Add(1)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err := l.adopt(gc); err != nil {
			l.stats.AcceptErrors.Add(1)
		}
	}
}

// adopt serves an accepted socket: on netpoll (adoptPlain), or, on a TLS
// listener, from a goroutine that first handshakes (adoptSecure).
func (l *Listener) adopt(gc net.Conn) error {
	if l.opts.MaxConns > 0 && l.Conns()+int(l.handshaking.Load()) >= l.opts.MaxConns {
		// Counted, then closed before netpoll sees it: the peer reads EOF
		// at once, and this process spends nothing more on it. Counting
		// first means whoever sees the EOF also sees the count.
		l.stats.Refused.Add(1)
		_ = gc.Close()
		return nil
	}
	if l.opts.TLS.on() && l.network == "tcp" {
		l.handshaking.Add(1)
		go func() {
			defer l.handshaking.Add(-1)
			l.adoptSecure(gc)
		}()
		return nil
	}
	return l.adoptPlain(gc)
}

// adoptPlain moves an accepted socket from the Go runtime's poller to the
// transport's (poller.go) and binds its handler.
func (l *Listener) adoptPlain(gc net.Conn) error {
	remote := "@"
	if a := gc.RemoteAddr(); a != nil && a.String() != "" {
		remote = a.String()
	}
	fd, err := socketOf(gc)
	if err != nil {
		return err
	}
	l.stats.Accepted.Add(1)
	c := newConn(fd, l.address, remote, l.opts, l.stats, l.newHandler)
	l.track(c)
	return c.start()
}

// Addr is the listening address (with the port chosen, for port 0).
func (l *Listener) Addr() string { return l.address }

// Network is "tcp" or "unix".
func (l *Listener) Network() string { return l.network }

// track adds c to the listener's connections until it closes (its close
// calls untrack). A connection whose handshake ended after Close is closed.
func (l *Listener) track(c *Conn) {
	untrack := func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}
	c.untrack.Store(&untrack)
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	select {
	case <-l.closed:
		c.Close()
	default:
	}
}

// Each calls fn for every open accepted connection.
func (l *Listener) Each(fn func(*Conn)) {
	l.mu.Lock()
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		fn(c)
	}
}

// Conns returns the number of open accepted connections.
func (l *Listener) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// File returns a duplicate of the listening socket, to hand to another
// process (which serves it with ListenFile). The caller closes it.
func (l *Listener) File() (*os.File, error) {
	type filer interface{ File() (*os.File, error) }
	f, ok := l.goln.(filer)
	if !ok {
		return nil, fmt.Errorf("transport: listener %s cannot be handed over", l.address)
	}
	return f.File()
}

// Own makes an inherited listener this process's: Close removes its path.
func (l *Listener) Own() { l.ownsPath.Store(true) }

// StopAccepting stops taking new connections and keeps the open ones.
// With handedOver, another process now accepts on the same socket, so a
// Unix socket's path is left in place by Close.
func (l *Listener) StopAccepting(handedOver bool) {
	if handedOver {
		l.ownsPath.Store(false)
	}
	l.stopOnce.Do(func() {
		_ = l.goln.Close() // this process's copy: a successor keeps its own
		<-l.accepting
	})
}

// Close stops accepting and closes every accepted connection.
func (l *Listener) Close() error {
	l.StopAccepting(false)
	l.closeOnce.Do(func() { close(l.closed) })
	l.Each((*Conn).Close)
	if l.network == "unix" && l.ownsPath.Load() {
		_ = os.Remove(l.address)
	}
	return nil
}

// sweepIdle closes connections idle for IdleTimeout until Close, looking
// every IdleTimeout/4 (so a connection goes between IdleTimeout and 1.25
// IdleTimeout after its last frame). A connection is idle when no frame
// went either way and its handler (a Busier) has no call in flight. A
// request a client sends just as its connection is closed is lost with
// it, as with any idle timeout: clients should close idle connections
// first (the sdk's pool does after 30 s, clusters after their idle_timeout).
func (l *Listener) sweepIdle() {
	t := time.NewTicker(l.opts.IdleTimeout / 4)
	defer t.Stop()
	for {
		select {
		case <-l.closed:
			return
		case <-t.C:
			l.Each(l.sweepConn)
		}
	}
}

// sweepConn is sweepIdle's look at one connection.
func (l *Listener) sweepConn(c *Conn) {
	if c.IdleFor() < l.opts.IdleTimeout || !c.Active() {
		return
	}
	if b, ok := c.handler.(Busier); ok && b.Busy() {
		return
	}
	l.stats.IdleClosed.Add(1)
	c.Close()
}

// removeStaleSocket removes a Unix socket file nobody accepts on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("transport: %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("transport: %s exists and is not a Unix socket", path)
	}
	if c, err := net.DialTimeout("unix", path, 100*time.Millisecond); err == nil {
		_ = c.Close()
		return fmt.Errorf("transport: %s: another process is accepting on this socket", path)
	}
	return os.Remove(path)
}
