package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cloudwego/netpoll"
)

// Listener accepts framed connections on one address with its own netpoll
// event loop.
type Listener struct {
	network, address string
	ln               netpoll.Listener
	loop             netpoll.EventLoop
	served           chan error

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
	ln, err := netpoll.CreateListener(network, address)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s %s: %w", network, address, err)
	}
	l := &Listener{network: network, address: address, ln: ln, served: make(chan error, 1), conns: map[*Conn]struct{}{}}
	if network == "tcp" {
		l.address = ln.Addr().String() // resolve port 0
	}
	// No OnRequest: each connection's own goroutine reads (see readLoop).
	connect := func(ctx context.Context, nc netpoll.Connection) context.Context {
		stats.Accepted.Add(1)
		c := newConn(nc, opts, stats, newHandler)
		l.track(c)
		go c.readLoop()
		return ctx
	}
	l.loop, err = netpoll.NewEventLoop(nil, netpoll.WithOnConnect(connect))
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("transport: event loop for %s: %w", address, err)
	}
	go func() { l.served <- l.loop.Serve(ln) }()
	return l, nil
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

// Conns returns the number of open accepted connections.
func (l *Listener) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Close stops accepting and closes every accepted connection.
func (l *Listener) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.loop.Shutdown(ctx) // closes the listening socket and idle conns
	l.mu.Lock()
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	if l.network == "unix" {
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
