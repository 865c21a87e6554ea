package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/octomesh/octomesh/codec"
)

// testCA is a root that signs leaves for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

var serials sync.Map

func (ca *testCA) leaf(t testing.TB, uri string, notBefore, notAfter time.Time) *tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse(uri)
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: sn, NotBefore: notBefore, NotAfter: notAfter, URIs: []*url.URL{u},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// verifier checks a chain against ca, as proxy/identity does.
func (ca *testCA) verify(raw [][]byte) (string, error) {
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return "", err
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return "", err
	}
	if len(leaf.URIs) != 1 {
		return "", errors.New("want one URI SAN")
	}
	return leaf.URIs[0].String(), nil
}

func mustTLS(t testing.TB, mode TLSMode, ca *testCA, cert *tls.Certificate) *TLS {
	t.Helper()
	var get func() (*tls.Certificate, error)
	if cert != nil {
		get = func() (*tls.Certificate, error) { return cert, nil }
	} else {
		get = func() (*tls.Certificate, error) { return &tls.Certificate{}, nil } // presents none
	}
	x, err := NewTLS(TLS{Mode: mode, Certificate: get, Verify: ca.verify, HandshakeTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// peerHandler echoes every frame, and records the peer of its connection.
type peerHandler struct {
	c *Conn
}

func (h *peerHandler) ServeFrame(frame []byte) { _ = h.c.WriteFrame(frame) }
func (h *peerHandler) Closed(error)            {}

func startTLSEcho(t *testing.T, mode TLSMode, ca *testCA, uri string) (*Listener, *Stats, chan string) {
	t.Helper()
	stats := &Stats{}
	peers := make(chan string, 64)
	opts := Options{MaxFrameSize: 64 << 10, FrameTimeout: time.Second, WriteTimeout: time.Second,
		TLS: mustTLS(t, mode, ca, ca.leaf(t, uri, time.Now().Add(-time.Minute), time.Now().Add(time.Hour)))}
	l, err := Listen("tcp", "127.0.0.1:0", opts, stats, func(c *Conn) Handler {
		peers <- c.Peer()
		return &peerHandler{c: c}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, stats, peers
}

// collector gathers a dialled connection's frames.
type collector struct {
	frames chan []byte
	closed chan error
}

func (h *collector) ServeFrame(f []byte) { h.frames <- append([]byte(nil), f...) }
func (h *collector) Closed(err error)    { h.closed <- err }

func dialTLS(t *testing.T, addr string, x *TLS, stats *Stats) (*Conn, *collector, error) {
	h := &collector{frames: make(chan []byte, 1024), closed: make(chan error, 1)}
	c, err := Dial("tcp", addr, 2*time.Second, Options{MaxFrameSize: 64 << 10, FrameTimeout: time.Second, WriteTimeout: time.Second, TLS: x}, stats,
		func(*Conn) Handler { return h })
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, h, err
}

func roundTrip(t *testing.T, c *Conn, h *collector, seq int32, size int) {
	t.Helper()
	f := frameOf(t, seq, size)
	if err := c.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-h.frames:
		if string(got) != string(f) {
			t.Fatalf("frame %d came back changed", seq)
		}
	case err := <-h.closed:
		t.Fatalf("connection closed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("frame %d: no answer", seq)
	}
}

func TestMutualTLSCarriesFramesAndNamesThePeer(t *testing.T) {
	ca := newTestCA(t)
	l, stats, peers := startTLSEcho(t, TLSStrict, ca, "spiffe://mesh.local/app/server")
	cstats := &Stats{}
	c, h, err := dialTLS(t, l.Addr(), mustTLS(t, TLSStrict, ca, ca.leaf(t, "spiffe://mesh.local/app/client", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))), cstats)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-peers; got != "spiffe://mesh.local/app/client" {
		t.Errorf("the server sees peer %q", got)
	}
	if c.Peer() != "spiffe://mesh.local/app/server" || !c.Secure() {
		t.Errorf("the client sees peer %q", c.Peer())
	}
	// Small, large (several TLS records) and many at once.
	for i, size := range []int{16, 40 << 10} {
		roundTrip(t, c, h, int32(i), size)
	}
	const n = 500
	for i := range n {
		if err := c.WriteFrame(frameOf(t, int32(100+i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case <-h.frames:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d frames came back", i, n)
		}
	}
	if stats.TLSHandshakes.Load() != 1 || cstats.TLSHandshakes.Load() != 1 {
		t.Errorf("handshakes: server %d, client %d", stats.TLSHandshakes.Load(), cstats.TLSHandshakes.Load())
	}
	if stats.FramesIn.Load() != n+2 {
		t.Errorf("server frames in %d", stats.FramesIn.Load())
	}
}

// A peer with a certificate from another CA, an expired one, or none is
// refused at the handshake and counted by reason; so is a plain peer of a
// strict listener.
func TestHandshakeRefusals(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	l, stats, _ := startTLSEcho(t, TLSStrict, ca, "spiffe://mesh.local/app/server")
	now := time.Now()
	cases := []struct {
		name   string
		cert   *tls.Certificate
		reason TLSReason
	}{
		{"other CA", other.leaf(t, "spiffe://mesh.local/app/client", now.Add(-time.Minute), now.Add(time.Hour)), ReasonUnknownAuthority},
		{"expired", ca.leaf(t, "spiffe://mesh.local/app/client", now.Add(-time.Hour), now.Add(-time.Minute)), ReasonExpired},
		{"no certificate", nil, ReasonNoCertificate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := stats.TLSHandshakeFailures[tc.reason].Load()
			c, h, err := dialTLS(t, l.Addr(), mustTLS(t, TLSStrict, ca, tc.cert), &Stats{})
			if err == nil {
				// TLS 1.3: the client's side of the handshake ends before
				// the server has checked its certificate; the refusal
				// closes the connection before any frame is served.
				_ = c.WriteFrame(frameOf(t, 1, 10))
				select {
				case f := <-h.frames:
					t.Fatalf("a refused peer got an answer (%d bytes)", len(f))
				case <-h.closed:
				case <-time.After(10 * time.Second):
					t.Fatal("a refused peer's connection stayed open")
				}
			}
			waitFor(t, "the refusal counted as "+tc.reason.String(), func() bool { return stats.TLSHandshakeFailures[tc.reason].Load() == before+1 })
		})
	}
	t.Run("plain peer", func(t *testing.T) {
		before := stats.TLSHandshakeFailures[ReasonNotTLS].Load()
		nc, err := net.Dial("tcp", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_, _ = nc.Write(frameOf(t, 1, 10))
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(nc); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("a plain peer of a strict listener was not closed")
			}
		}
		waitFor(t, "not_tls counted", func() bool { return stats.TLSHandshakeFailures[ReasonNotTLS].Load() == before+1 })
	})
	if stats.Accepted.Load() != 0 {
		t.Errorf("accepted %d connections that failed their handshake", stats.Accepted.Load())
	}
	// The client side counts a server it does not trust.
	cstats := &Stats{}
	otherServer, _, _ := startTLSEcho(t, TLSStrict, other, "spiffe://mesh.local/app/server")
	if _, _, err := dialTLS(t, otherServer.Addr(), mustTLS(t, TLSStrict, ca, ca.leaf(t, "spiffe://mesh.local/app/client", now.Add(-time.Minute), now.Add(time.Hour))), cstats); err == nil {
		t.Fatal("dialled a server of another CA")
	}
	if cstats.TLSHandshakeFailures[ReasonUnknownAuthority].Load() != 1 {
		t.Errorf("client failures %v", cstats.TLSCounts())
	}
}

// A permissive listener serves plain and TLS peers at once, counted apart.
func TestPermissiveServesPlainAndTLSAtOnce(t *testing.T) {
	ca := newTestCA(t)
	l, stats, peers := startTLSEcho(t, TLSPermissive, ca, "spiffe://mesh.local/app/server")
	c, h, err := dialTLS(t, l.Addr(), mustTLS(t, TLSStrict, ca, ca.leaf(t, "spiffe://mesh.local/app/client", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))), &Stats{})
	if err != nil {
		t.Fatal(err)
	}
	if p := <-peers; p != "spiffe://mesh.local/app/client" {
		t.Errorf("TLS peer %q", p)
	}
	plain, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for i := range 20 {
		roundTrip(t, c, h, int32(i), 64)
		echoOnce(t, plain, int32(i))
	}
	if p := <-peers; p != "" {
		t.Errorf("plain peer %q", p)
	}
	if stats.TLSHandshakes.Load() != 1 || stats.TLSPlainAccepted.Load() != 1 {
		t.Errorf("handshakes %d, plain %d", stats.TLSHandshakes.Load(), stats.TLSPlainAccepted.Load())
	}
}

// BenchmarkHandshake measures one mutual TLS handshake (both sides, ECDSA
// P-256, on this machine's two ends of a loopback connection).
func BenchmarkHandshake(b *testing.B) {
	ca := newTestCA(b)
	now := time.Now()
	srv := mustTLS(b, TLSStrict, ca, ca.leaf(b, "spiffe://mesh.local/app/server", now.Add(-time.Minute), now.Add(time.Hour)))
	cli := mustTLS(b, TLSStrict, ca, ca.leaf(b, "spiffe://mesh.local/app/client", now.Add(-time.Minute), now.Add(time.Hour)))
	defer reportCPU(b)()
	for b.Loop() {
		a, z := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- tls.Server(a, srv.server).Handshake() }()
		if err := tls.Client(z, cli.client).Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		a.Close()
		z.Close()
	}
}

// FuzzFrameBuf: a TLS connection's plaintext is the peer's to choose, and
// arrives cut anywhere. Whatever the bytes and the cuts, frameBuf serves
// the frames a whole read of the input would, in order, and fails where it
// would.
func FuzzFrameBuf(f *testing.F) {
	f.Add(append(frameOf(f, 1, 10), frameOf(f, 2, 300)...), []byte{3, 14, 1, 200})
	f.Add(frameOf(f, 1, 5000), []byte{255, 255})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), []byte{1})
	f.Add(append(frameOf(f, 1, 0)[:14], 0xff, 0xff), []byte{7})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		const max = 2048
		// What a whole read gives.
		var want [][]byte
		wantErr := false
		for rest := data; len(rest) >= 14; {
			size, err := codecFrameSize(rest, max)
			if err != nil {
				wantErr = true
				break
			}
			if len(rest) < size {
				break
			}
			want = append(want, rest[:size])
			rest = rest[size:]
		}
		// What reads cut at cuts give.
		fb := frameBuf{buf: make([]byte, 0, 64), max: max}
		var got [][]byte
		gotErr := false
		rest := data
		for i := 0; len(rest) > 0 && !gotErr; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(n, int(cuts[i%len(cuts)])+1)
			}
			n = copy(fb.free(), rest[:n])
			if n == 0 {
				t.Fatalf("no room to read into (buffered %d, cap %d)", len(fb.buf), cap(fb.buf))
			}
			fb.add(n)
			rest = rest[n:]
			_, err := fb.serve(func(frame []byte) bool {
				got = append(got, append([]byte(nil), frame...))
				return true
			})
			gotErr = err != nil
		}
		if gotErr != wantErr {
			t.Fatalf("error %v, a whole read: %v", gotErr, wantErr)
		}
		if len(got) != len(want) {
			t.Fatalf("%d frames, a whole read gives %d", len(got), len(want))
		}
		for i := range got {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	})
}

func codecFrameSize(b []byte, max int) (int, error) { return codec.FrameSize(b[:codec.MetaSize], max) }

// BenchmarkRoundTrip is one frame out and back over loopback TCP between
// two Conns, one at a time: plain (both on netpoll) against mutual TLS
// (both on goroutines of their own). The difference is what TLS adds per
// request and hop pair.
func BenchmarkRoundTrip(b *testing.B) {
	ca := newTestCA(b)
	now := time.Now()
	for _, mode := range []TLSMode{TLSOff, TLSStrict} {
		for _, size := range []int{128, 1024} {
			b.Run(fmt.Sprintf("tls=%v/payload=%d", mode == TLSStrict, size), func(b *testing.B) {
				opts := Options{MaxFrameSize: 64 << 10, FrameTimeout: time.Second, WriteTimeout: time.Second}
				srvOpts, cliOpts := opts, opts
				if mode == TLSStrict {
					srvOpts.TLS = mustTLS(b, TLSStrict, ca, ca.leaf(b, "spiffe://mesh.local/app/server", now.Add(-time.Minute), now.Add(time.Hour)))
					cliOpts.TLS = mustTLS(b, TLSStrict, ca, ca.leaf(b, "spiffe://mesh.local/app/client", now.Add(-time.Minute), now.Add(time.Hour)))
				}
				l, err := Listen("tcp", "127.0.0.1:0", srvOpts, &Stats{}, func(c *Conn) Handler { return &peerHandler{c: c} })
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				got := make(chan struct{}, 1)
				c, err := Dial("tcp", l.Addr(), 2*time.Second, cliOpts, &Stats{}, func(*Conn) Handler { return signalHandler(got) })
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				f := frameOf(b, 1, size)
				b.SetBytes(int64(len(f)))
				b.ResetTimer()
				defer reportCPU(b)()
				for b.Loop() {
					if err := c.WriteFrame(f); err != nil {
						b.Fatal(err)
					}
					<-got
				}
			})
		}
	}
}

type signalHandler chan struct{}

func (h signalHandler) ServeFrame([]byte) { h <- struct{}{} }
func (h signalHandler) Closed(error)      {}

// reportCPU reports the process's CPU time (user and system, every
// goroutine: both ends) per operation as cpu-ns/op, which a busy machine
// disturbs less than the wall time.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op") }
}

// Silent peers of a TLS listener count toward MaxConns while they hold a
// handshake open, and are closed after HandshakeTimeout.
func TestSilentPeersAreBoundedAndTimedOut(t *testing.T) {
	ca := newTestCA(t)
	stats := &Stats{}
	x, err := NewTLS(TLS{Mode: TLSPermissive, Certificate: func() (*tls.Certificate, error) {
		return ca.leaf(t, "spiffe://mesh.local/app/server", time.Now().Add(-time.Minute), time.Now().Add(time.Hour)), nil
	}, Verify: ca.verify, HandshakeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen("tcp", "127.0.0.1:0", Options{MaxFrameSize: 64 << 10, MaxConns: 2, TLS: x}, stats, func(c *Conn) Handler { return &peerHandler{c: c} })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var silent []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
	}
	waitFor(t, "the third silent peer refused", func() bool { return stats.Refused.Load() == 1 })
	waitFor(t, "the other two timed out", func() bool { return stats.TLSHandshakeFailures[ReasonTimeout].Load() == 2 })
	for _, c := range silent[:2] {
		if !readsEOF(t, c) {
			t.Error("a timed-out peer's connection is open")
		}
	}
	// The room is free again: a plain peer is served.
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoOnce(t, c, 1)
}
