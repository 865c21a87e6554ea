package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
)

type connKey struct{}

// Listener accepts framed connections on one address with its own netpoll
// event loop.
type Listener struct {
	network, address string
	goln             net.Listener // the socket, for File
	ln               netpoll.Listener
	newLoop          func() (netpoll.EventLoop, error)
	loopMu           sync.Mutex // loop and stopped change together
	loop             netpoll.EventLoop
	stopped          bool
	served           chan error // Serve's last error, once serving ended
	stats            *Stats
	// ownsPath: Close removes a Unix socket's path. True when this process
	// bound it; false while inherited (until Own) or once handed over.
	ownsPath atomic.Bool

	mu    sync.Mutex
	conns map[*Conn]struct{}
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
		return nil, fmt.Errorf("transport: listen %s %s: %w", network, address, err)
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
	l := &Listener{network: network, address: address, goln: ln, served: make(chan error, 1), stats: stats, conns: map[*Conn]struct{}{}}
	nl, err := netpoll.ConvertListener(ln)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("transport: listener %s: %w", address, err)
	}
	l.ln = nl
	prepare := func(nc netpoll.Connection) context.Context {
		// netpoll accepts without SOCK_CLOEXEC: a program this process
		// starts (a hot-restart successor) would inherit the connection and
		// keep it open, half alive, after we close it.
		if f, ok := nc.(interface{ Fd() int }); ok {
			syscall.CloseOnExec(f.Fd())
		}
		stats.Accepted.Add(1)
		c := newConn(nc, opts, stats, newHandler)
		l.track(c)
		return context.WithValue(context.Background(), connKey{}, c)
	}
	// OnRequest runs once, on a connection's first bytes, and returns only
	// when the connection closes (see readLoop). netpoll thus considers the
	// connection busy for its whole life, so Shutdown, which closes every
	// connection it deems idle, stops accepting without cutting off
	// connections that carry requests.
	onRequest := func(ctx context.Context, _ netpoll.Connection) error {
		ctx.Value(connKey{}).(*Conn).readLoop()
		return nil
	}
	l.newLoop = func() (netpoll.EventLoop, error) {
		return netpoll.NewEventLoop(onRequest, netpoll.WithOnPrepare(prepare))
	}
	if l.loop, err = l.newLoop(); err != nil {
		_ = nl.Close()
		return nil, fmt.Errorf("transport: event loop for %s: %w", address, err)
	}
	go l.keepServing()
	return l, nil
}

// keepServing runs the event loop until StopAccepting. A loop that quits
// by itself while the socket still listens is replaced: netpoll ends it on
// any hang-up its poller attributes to the listener, and a race-detector
// build of netpoll (which finds operators by fd number) attributes to it
// a stale hang-up of a just-closed connection whose number the listener
// reused. Accepted connections are not the loop's: they carry on.
func (l *Listener) keepServing() {
	l.loopMu.Lock()
	loop := l.loop
	l.loopMu.Unlock()
	for {
		err := loop.Serve(l.ln)
		l.loopMu.Lock()
		if l.stopped || !listening(l.ln) {
			l.loopMu.Unlock()
			l.served <- err
			return
		}
		next, nerr := l.newLoop()
		if nerr != nil {
			l.loopMu.Unlock()
			l.served <- fmt.Errorf("transport: event loop for %s quit (%v) and could not be replaced: %w", l.address, err, nerr)
			return
		}
		l.loop, loop = next, next
		l.stats.LoopRestarts.Add(1)
		l.loopMu.Unlock()
	}
}

// listening reports whether ln's socket still accepts connections.
func listening(ln netpoll.Listener) bool {
	v, err := syscall.GetsockoptInt(ln.Fd(), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	return err == nil && v == 1
}

// Addr is the listening address (with the port chosen, for port 0).
func (l *Listener) Addr() string { return l.address }

// Network is "tcp" or "unix".
func (l *Listener) Network() string { return l.network }

func (l *Listener) track(c *Conn) {
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	_ = c.nc.AddCloseCallback(func(netpoll.Connection) error {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		return nil
	})
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
	l.loopMu.Lock()
	if l.stopped {
		l.loopMu.Unlock()
		return
	}
	l.stopped = true
	loop := l.loop
	l.loopMu.Unlock()
	// Shutdown detaches and closes this process's copy of the socket, and
	// closes connections netpoll deems idle: only those that never sent a
	// byte, since a serving connection stays inside its OnRequest.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = loop.Shutdown(ctx)
}

// Close stops accepting and closes every accepted connection.
func (l *Listener) Close() error {
	l.StopAccepting(false)
	l.Each((*Conn).Close)
	if l.network == "unix" && l.ownsPath.Load() {
		_ = os.Remove(l.address)
	}
	return nil
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
