package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/codec"
)

// TLSMode says whether a TCP listener or a cluster's connections speak
// TLS. Unix sockets (the local app) never do.
type TLSMode uint8

const (
	// TLSOff: plain TTHeader on the transport's poller.
	TLSOff TLSMode = iota
	// TLSPermissive (listeners only): a connection whose first byte is a
	// TLS handshake record (0x16) gets TLS, any other is served plain. A
	// TTHeader frame cannot start with 0x16: its length would exceed any
	// MaxFrameSize.
	TLSPermissive
	// TLSStrict: TLS only; a plain peer fails the handshake.
	TLSStrict
)

// TLS is mutual TLS 1.3 for a listener's or a cluster's connections. Both
// sides present a certificate and verify the peer's with Verify; nothing
// else (no host name, no session resumption) is trusted.
type TLS struct {
	Mode TLSMode
	// Certificate returns this side's current certificate. It is asked at
	// every handshake, so a rotated certificate serves new connections
	// while open ones keep theirs.
	Certificate func() (*tls.Certificate, error)
	// Verify checks the peer's chain (DER, leaf first, never empty) and
	// returns its identity. Errors from crypto/x509 are counted by their
	// kind (unknown_authority, expired), others as bad_certificate.
	Verify func(rawCerts [][]byte) (identity string, err error)
	// HandshakeTimeout bounds an accepted connection's first byte and
	// handshake (default 5s); a dial's is its connect timeout.
	HandshakeTimeout time.Duration

	server, client *tls.Config
}

// NewTLS checks t and builds its TLS configurations.
func NewTLS(t TLS) (*TLS, error) {
	if t.Mode == TLSOff {
		return &t, nil
	}
	if t.Certificate == nil || t.Verify == nil {
		return nil, errors.New("transport: TLS needs Certificate and Verify")
	}
	if t.HandshakeTimeout <= 0 {
		t.HandshakeTimeout = 5 * time.Second
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return ErrNoPeerCertificate
		}
		if _, err := t.Verify(raw); err != nil {
			return fmt.Errorf("%w: %w", errBadCertificate, err)
		}
		return nil
	}
	t.server = &tls.Config{
		MinVersion:             tls.VersionTLS13,
		ClientAuth:             tls.RequestClientCert, // verified by verify, which counts a missing one
		GetCertificate:         func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return t.Certificate() },
		VerifyPeerCertificate:  verify,
		SessionTicketsDisabled: true, // every connection verifies a full chain
	}
	t.client = &tls.Config{
		MinVersion:            tls.VersionTLS13,
		InsecureSkipVerify:    true, // no host names: verify checks the chain and the identity
		GetClientCertificate:  func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return t.Certificate() },
		VerifyPeerCertificate: verify,
	}
	return &t, nil
}

func (t *TLS) on() bool { return t != nil && t.Mode != TLSOff }

// ErrNoPeerCertificate: the peer presented no certificate.
var ErrNoPeerCertificate = errors.New("transport: the peer presented no certificate")

// errNotTLS: a strict listener's peer spoke something else.
var errNotTLS = errors.New("transport: the peer does not speak TLS")

// TLSReason indexes Stats.TLSHandshakeFailures.
type TLSReason int

const (
	ReasonNoCertificate TLSReason = iota
	ReasonUnknownAuthority
	ReasonExpired
	ReasonBadCertificate
	ReasonNotTLS
	ReasonTimeout
	ReasonClosed
	ReasonPeerRefused
	ReasonOther
	numReasons
)

var reasonNames = [numReasons]string{"no_certificate", "unknown_authority", "expired", "bad_certificate", "not_tls", "timeout", "closed", "peer_refused", "other"}

func (r TLSReason) String() string { return reasonNames[r] }

// HandshakeReason classifies a failed handshake.
func HandshakeReason(err error) TLSReason {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var ne net.Error
	var alert tls.AlertError
	switch {
	case errors.Is(err, ErrNoPeerCertificate):
		return ReasonNoCertificate
	case errors.As(err, &ua):
		return ReasonUnknownAuthority
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return ReasonExpired
	case errors.Is(err, errNotTLS), errors.As(err, &rh):
		return ReasonNotTLS
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return ReasonClosed
	case errors.As(err, &ci), errors.Is(err, errBadCertificate):
		return ReasonBadCertificate
	case errors.As(err, &alert):
		return ReasonPeerRefused
	}
	return ReasonOther
}

// errBadCertificate wraps Verify's own errors, so that they count as
// bad_certificate.
var errBadCertificate = errors.New("bad certificate")

// TLSCounts returns the handshake failures by reason name.
func (s *Stats) TLSCounts() map[string]uint64 {
	m := make(map[string]uint64, numReasons)
	for r := TLSReason(0); r < numReasons; r++ {
		m[r.String()] = s.TLSHandshakeFailures[r].Load()
	}
	return m
}

func (s *Stats) handshakeFailed(err error) { s.TLSHandshakeFailures[HandshakeReason(err)].Add(1) }

// secure is what a TLS connection has besides Conn's common fields. Its
// reads run on a goroutine of their own (netpoll has no TLS): the reader
// decrypts into buf and hands whole frames to the handler, one at a time,
// as the poller does for a plain connection; writes queue in Conn.backlog
// for the writer goroutine, so WriteFrame never blocks its caller (often a
// poller).
type secure struct {
	tc     *tls.Conn
	raw    net.Conn
	peer   string
	closed bool // under Conn.wmu: no more writes
}

// adoptSecure serves an accepted TCP connection of a TLS listener: in
// permissive mode a first byte other than a handshake record sends it to
// the plain path; otherwise the handshake, then the TLS reader and writer.
// It runs on a goroutine of its own, so that the accept loop never waits.
func (l *Listener) adoptSecure(gc net.Conn) {
	t := l.opts.TLS
	deadline := time.Now().Add(t.HandshakeTimeout)
	if t.Mode == TLSPermissive {
		first, err := peekByte(gc, deadline)
		if err != nil {
			_ = gc.Close()
			l.stats.handshakeFailed(err)
			return
		}
		if first != 0x16 {
			l.stats.TLSPlainAccepted.Add(1)
			if err := l.adoptPlain(gc); err != nil {
				l.stats.AcceptErrors.Add(1)
			}
			return
		}
	}
	tc := tls.Server(gc, t.server)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = gc.Close()
		if t.Mode == TLSStrict && isPlainStart(err) {
			err = errNotTLS
		}
		l.stats.handshakeFailed(err)
		return
	}
	l.stats.TLSHandshakes.Add(1)
	l.stats.Accepted.Add(1)
	remote := "@"
	if a := gc.RemoteAddr(); a != nil {
		remote = a.String()
	}
	c := newSecureConn(tc, gc, l.address, remote, l.opts, l.stats, l.newHandler)
	l.track(c)
	c.startSecure()
}

func isPlainStart(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh)
}

// peekByte reads the connection's first byte without taking it from the
// socket (MSG_PEEK), waiting at most until deadline.
func peekByte(gc net.Conn, deadline time.Time) (byte, error) {
	sc, ok := gc.(syscall.Conn)
	if !ok {
		return 0, fmt.Errorf("transport: %T has no socket", gc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	_ = gc.SetReadDeadline(deadline)
	defer gc.SetReadDeadline(time.Time{})
	var b [1]byte
	var n int
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, perr = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK)
		return perr != unix.EAGAIN
	})
	switch {
	case err != nil:
		return 0, err
	case perr != nil:
		return 0, perr
	case n == 0:
		return 0, io.EOF
	}
	return b[0], nil
}

// dialSecure opens a TLS connection (Dial with Options.TLS on).
func dialSecure(network, address string, timeout time.Duration, opts Options, stats *Stats, newHandler func(*Conn) Handler) (*Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, opts.TLS.client)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		stats.handshakeFailed(err)
		return nil, fmt.Errorf("transport: TLS handshake with %s: %w", address, err)
	}
	stats.TLSHandshakes.Add(1)
	stats.Dialed.Add(1)
	c := newSecureConn(tc, raw, raw.LocalAddr().String(), raw.RemoteAddr().String(), opts, stats, newHandler)
	c.startSecure()
	return c, nil
}

func newSecureConn(tc *tls.Conn, raw net.Conn, local, remote string, opts Options, stats *Stats, newHandler func(*Conn) Handler) *Conn {
	s := &secure{tc: tc, raw: raw}
	if cs := tc.ConnectionState(); len(cs.PeerCertificates) > 0 && len(cs.PeerCertificates[0].URIs) > 0 {
		s.peer = cs.PeerCertificates[0].URIs[0].String()
	}
	c := &Conn{sec: s, fd: -1, slot: -1, opts: opts, stats: stats, local: local, remote: remote, wfd: -1,
		kick: make(chan struct{}, 1), done: make(chan struct{}), quietSince: time.Since(epoch)}
	c.handler = newHandler(c)
	return c
}

// Peer is the identity the peer's certificate proved (its URI SAN), or ""
// on a plain connection. It never comes from anything the peer wrote
// after the handshake.
func (c *Conn) Peer() string {
	if c.sec == nil {
		return ""
	}
	return c.sec.peer
}

// Secure reports whether the connection is TLS.
func (c *Conn) Secure() bool { return c.sec != nil }

func (c *Conn) startSecure() {
	go c.readSecure()
	go c.writeSecure()
}

// readSecure hands the connection's frames to its handler until it
// closes, then closes it.
func (c *Conn) readSecure() {
	fb := frameBuf{buf: make([]byte, 0, 32<<10), max: c.opts.MaxFrameSize}
	var partStart time.Time // when the unfinished frame in fb began
	for {
		served, err := fb.serve(func(frame []byte) bool {
			c.serve(frame)
			return c.reason.Load() == nil
		})
		if err != nil {
			c.CloseWithError(err)
		}
		if c.reason.Load() != nil {
			break
		}
		if served > 0 {
			partStart = time.Time{}
		}
		// A frame begun must end within FrameTimeout.
		var deadline time.Time
		if len(fb.buf) > 0 && c.opts.FrameTimeout > 0 {
			if partStart.IsZero() {
				partStart = time.Now()
			}
			deadline = partStart.Add(c.opts.FrameTimeout)
		}
		_ = c.sec.raw.SetReadDeadline(deadline)
		n, err := c.sec.tc.Read(fb.free())
		fb.add(n)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.CloseWithError(fmt.Errorf("%w: a frame begun %v ago is unfinished", ErrFrameTimeout, c.opts.FrameTimeout))
			}
			break
		}
	}
	c.CloseWithError(nil) // EOF or a read error: a normal close
	c.finishSecure()
}

// frameBuf gathers a TLS connection's plaintext and cuts it into frames.
type frameBuf struct {
	buf []byte
	max int // MaxFrameSize
}

// serve hands every whole frame in the buffer to fn (a view, valid until
// fn returns) until fn returns false, then keeps the rest at the start of
// the buffer, grown to take a frame larger than it. A frame that
// codec.FrameSize refuses is an error.
func (b *frameBuf) serve(fn func(frame []byte) bool) (served int, err error) {
	off := 0
	for len(b.buf)-off >= codec.MetaSize {
		size, ferr := codec.FrameSize(b.buf[off:off+codec.MetaSize], b.max)
		if ferr != nil {
			err = ferr
			break
		}
		if len(b.buf)-off < size {
			if size > cap(b.buf) {
				nb := make([]byte, len(b.buf)-off, size)
				copy(nb, b.buf[off:])
				b.buf, off = nb, 0
			}
			break
		}
		served++
		frame := b.buf[off : off+size]
		off += size
		if !fn(frame) {
			break
		}
	}
	if off > 0 {
		b.buf = b.buf[:copy(b.buf, b.buf[off:])]
	}
	return served, err
}

// free is the buffer's room for the next read.
func (b *frameBuf) free() []byte { return b.buf[len(b.buf):cap(b.buf)] }

// add takes n bytes read into free().
func (b *frameBuf) add(n int) { b.buf = b.buf[:len(b.buf)+n] }

// writeSecure sends what WriteFrame queued, until the connection closes.
func (c *Conn) writeSecure() {
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		for {
			c.wmu.Lock()
			if c.sec.closed || len(c.backlog) == 0 {
				c.flushing = false
				c.wmu.Unlock()
				break
			}
			buf := c.backlog
			c.backlog, c.spare = c.spare[:0], nil
			c.wmu.Unlock()
			if c.opts.WriteTimeout > 0 {
				_ = c.sec.raw.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
			}
			if _, err := c.sec.tc.Write(buf); err != nil {
				_ = c.writeFailed(err)
				return
			}
			c.wmu.Lock()
			if cap(buf) <= 1<<20 {
				c.spare = buf[:0]
			}
			c.wmu.Unlock()
		}
	}
}

// writeFrameSecure queues frame for the writer goroutine.
func (c *Conn) writeFrameSecure(frame []byte) error {
	c.wmu.Lock()
	if c.sec.closed || c.reason.Load() != nil {
		c.wmu.Unlock()
		return fmt.Errorf("%w: %s is closed", ErrWrite, c)
	}
	if len(c.backlog)+len(frame) > maxBacklog {
		c.wmu.Unlock()
		return c.writeFailed(fmt.Errorf("the peer is not reading: %d bytes wait", len(c.backlog)+len(frame)))
	}
	c.backlog = append(c.backlog, frame...)
	kick := !c.flushing
	c.flushing = true
	c.wmu.Unlock()
	if kick {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.markUsed()
	c.stats.FramesOut.Add(1)
	c.stats.BytesOut.Add(uint64(len(frame)))
	return nil
}

// finishSecure is a TLS connection's onClose: once, after the last frame.
func (c *Conn) finishSecure() {
	if !c.closedCB.CompareAndSwap(false, true) {
		return
	}
	c.stats.Closed.Add(1)
	c.wmu.Lock()
	c.sec.closed = true
	c.backlog, c.spare = nil, nil
	c.wmu.Unlock()
	_ = c.sec.raw.Close()
	close(c.done)
	var reason error
	if p := c.reason.Load(); p != nil {
		reason = *p
	}
	if f := c.untrack.Load(); f != nil {
		(*f)()
	}
	c.handler.Closed(reason)
}
