package grpclite

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Handler is one stream's receiver. The connection's goroutine calls
// Message for each complete message in order, and never concurrently;
// p is valid only during the call. An error ends the stream with its
// status (status.FromError). Closed is called once when the stream has
// ended, whoever ended it (the peer, Stream.End, a broken connection, the
// server's Close); it may run in the connection's goroutine or in the
// goroutine that called End, never under a lock of the Server's.
type Handler interface {
	Message(p []byte) error
	Closed()
}

// OpenFunc accepts a new stream (in the connection's goroutine) and
// returns its Handler; an error refuses it with its status. The stream may
// be ended (Stream.End) from any goroutine as soon as OpenFunc was called.
type OpenFunc func(s *Stream) (Handler, error)

// Options configure a Server.
type Options struct {
	// Path is the method served: "/package.Service/Method".
	Path string
	// Open accepts streams of Path.
	Open OpenFunc
	// TLS, when set, makes every connection TLS (h2 is added to its
	// NextProtos); streams' contexts then carry the peer's TLSInfo.
	TLS *tls.Config
	// KeepaliveTime: a connection that sent nothing for this long is
	// pinged; KeepaliveTimeout: one that then sends nothing for this long
	// is dropped. Defaults 30 s and 20 s.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// WriteTimeout bounds each write to a connection; one the kernel does
	// not take in time is dropped. Default 5 s.
	WriteTimeout time.Duration
	// MaxRecvMsgSize bounds a message from a peer; default 4 MiB (gRPC's).
	MaxRecvMsgSize int
	// MaxQueued bounds what a stream may have waiting for the peer's flow
	// control window; past it the connection is dropped. Default 4 MiB.
	MaxQueued int
}

// Server serves Options.Path on the connections of its listeners, and
// hands any other connection to Fallback.
type Server struct {
	o        Options
	fallback *fallbackListener
	// clock is a coarse time (Unix ns), advanced by the keepalive sweep:
	// a connection's reader stamps its last frame with it.
	clock atomic.Int64

	mu     sync.Mutex
	conns  map[*conn]struct{}
	lns    []net.Listener
	closed bool
	sweep  sync.Once
	done   chan struct{}
}

// NewServer returns a Server; Serve starts it.
func NewServer(o Options) *Server {
	if o.KeepaliveTime <= 0 {
		o.KeepaliveTime = 30 * time.Second
	}
	if o.KeepaliveTimeout <= 0 {
		o.KeepaliveTimeout = 20 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.MaxRecvMsgSize <= 0 {
		o.MaxRecvMsgSize = 4 << 20
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 4 << 20
	}
	if o.TLS != nil {
		o.TLS = o.TLS.Clone()
		if !slices.Contains(o.TLS.NextProtos, "h2") {
			o.TLS.NextProtos = append(o.TLS.NextProtos, "h2")
		}
	}
	s := &Server{o: o, conns: map[*conn]struct{}{}, done: make(chan struct{})}
	s.fallback = &fallbackListener{conns: make(chan net.Conn), done: s.done, closed: make(chan struct{})}
	s.clock.Store(time.Now().UnixNano())
	return s
}

// ErrServerClosed is Serve's answer after Close.
var ErrServerClosed = errors.New("grpclite: server closed")

// Serve accepts connections on ln until Close (ErrServerClosed) or ln
// fails.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	s.sweep.Do(func() { go s.keepalive() })
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return ErrServerClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() { // too many open files and the like
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		go s.serveConn(nc)
	}
}

// Fallback is a listener of the connections whose first stream is not
// Options.Path, with what was read of them replayed: serve it with a
// grpc.Server (with HandshakenTLS as its credentials when Options.TLS is
// set). It ends with Close.
func (s *Server) Fallback() net.Listener { return s.fallback }

// Close stops the listeners and drops every connection; each open
// stream's Handler is told (Closed).
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	lns := s.lns
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close()
	}
	for _, c := range conns {
		c.drop() // its reader ends its stream
	}
}

// Conns is the number of connections open now.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// keepalive is the one goroutine that pings idle connections and drops
// those that do not answer: every connection's reader stamps its last
// frame with s.clock, which this advances (a quarter of the shortest of
// the keepalive times and the write timeout at a time), and writes set
// their deadlines by it.
func (s *Server) keepalive() {
	tick := min(s.o.KeepaliveTime, s.o.KeepaliveTimeout, s.o.WriteTimeout) / 4
	t := time.NewTicker(tick)
	defer t.Stop()
	var list []*conn
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			n := now.UnixNano()
			s.clock.Store(n)
			s.mu.Lock()
			list = list[:0]
			for c := range s.conns {
				list = append(list, c)
			}
			s.mu.Unlock()
			for _, c := range list {
				c.keepalive(n)
			}
			clear(list)
		}
	}
}

// fallbackListener hands connections to another server (Server.Fallback).
// It ends when it is closed or the Server is.
type fallbackListener struct {
	conns     chan net.Conn
	done      chan struct{} // the Server's
	closed    chan struct{}
	closeOnce sync.Once
	addr      atomic.Pointer[net.Addr]
}

func (l *fallbackListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close ends Accept; connections handed over later are closed.
func (l *fallbackListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *fallbackListener) Addr() net.Addr {
	if a := l.addr.Load(); a != nil {
		return *a
	}
	return &net.TCPAddr{}
}

// handOver gives c to the fallback server; false if the server closed.
func (l *fallbackListener) handOver(c net.Conn) bool {
	a := c.LocalAddr()
	l.addr.CompareAndSwap(nil, &a)
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	case <-l.closed:
		return false
	}
}

// replayConn is a connection handed over: reads return the bytes read
// so far first.
type replayConn struct {
	net.Conn
	replay []byte
	tls    *tls.ConnectionState
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.replay) > 0 {
		n := copy(p, c.replay)
		c.replay = c.replay[n:]
		if len(c.replay) == 0 {
			c.replay = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// streamContext is what a stream's context starts from.
var streamContext = context.Background()
