package grpclite

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

const testPath = "/test.Echo/Bidi"

// rawCodec sends *[]byte as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

// echo is a Handler that sends back every message, and remembers what
// Open saw.
type echo struct {
	st     *Stream
	closed atomic.Bool
	msgs   atomic.Int64
	fail   error // returned by Message, once set
}

func (e *echo) Message(p []byte) error {
	e.msgs.Add(1)
	if e.fail != nil {
		return e.fail
	}
	return e.st.Send(append([]byte(nil), p...))
}

func (e *echo) Closed() { e.closed.Store(true) }

type harness struct {
	t       *testing.T
	srv     *Server
	addr    string
	mu      sync.Mutex
	streams []*echo
	ctxs    []context.Context
	refuse  error
	g       *grpc.Server
}

func startServer(t *testing.T, o Options, creds credentials.TransportCredentials) *harness {
	t.Helper()
	h := &harness{t: t}
	o.Path = testPath
	o.Open = func(st *Stream) (Handler, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.ctxs = append(h.ctxs, st.Context())
		if h.refuse != nil {
			return nil, h.refuse
		}
		e := &echo{st: st}
		h.streams = append(h.streams, e)
		return e, nil
	}
	h.srv = NewServer(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	h.g = grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(h.g, hs)
	go func() { _ = h.srv.Serve(ln) }()
	go func() { _ = h.g.Serve(h.srv.Fallback()) }()
	t.Cleanup(func() { h.srv.Close(); h.g.Stop() })
	return h
}

func (h *harness) stream(i int) *echo {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("stream %d open", i), func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.streams) > i
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[i]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func openStream(t *testing.T, ctx context.Context, cc *grpc.ClientConn) grpc.ClientStream {
	t.Helper()
	cs, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, testPath, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func roundTrip(t *testing.T, cs grpc.ClientStream, msg []byte) {
	t.Helper()
	if err := cs.SendMsg(&msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	var got []byte
	if err := cs.RecvMsg(&got); err != nil {
		t.Fatalf("recv: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes came back as %d bytes, different", len(msg), len(got))
	}
}

func TestEchoManyAndLarge(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cc := dial(t, h.addr)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-app", "web", "x-trace-bin", string([]byte{0, 1, 2}))
	cs := openStream(t, ctx, cc)
	for i := range 1000 {
		roundTrip(t, cs, []byte(fmt.Sprintf("message %d", i)))
	}
	// Beyond the 64 KiB windows, both ways, and beyond one frame.
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320,000 bytes
	for range 3 {
		roundTrip(t, cs, big)
	}
	roundTrip(t, cs, nil) // an empty message
	md, _ := metadata.FromIncomingContext(h.ctxs[0])
	if got := md.Get("x-app"); len(got) != 1 || got[0] != "web" {
		t.Errorf("metadata x-app = %q, want [web]", got)
	}
	if got := md.Get("x-trace-bin"); len(got) != 1 || got[0] != string([]byte{0, 1, 2}) {
		t.Errorf("metadata x-trace-bin = %q, want the 3 bytes decoded", got)
	}
	if p, ok := peer.FromContext(h.ctxs[0]); !ok || p.Addr == nil {
		t.Errorf("no peer in the stream's context")
	}
	// The client ends its side: the stream ends with OK.
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var m []byte
	if err := cs.RecvMsg(&m); err != io.EOF {
		t.Fatalf("after CloseSend: %v, want io.EOF (status OK)", err)
	}
	waitFor(t, "Closed", h.stream(0).closed.Load)
	// The next stream on the same connection.
	cs2 := openStream(t, context.Background(), cc)
	roundTrip(t, cs2, []byte("again"))
}

func TestClientCancel(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cc := dial(t, h.addr)
	ctx, cancel := context.WithCancel(context.Background())
	cs := openStream(t, ctx, cc)
	roundTrip(t, cs, []byte("hello"))
	cancel() // RST_STREAM
	e := h.stream(0)
	waitFor(t, "Closed after the client's cancel", e.closed.Load)
	if err := e.st.Send([]byte("late")); !errors.Is(err, ErrStreamDone) {
		t.Errorf("Send after the stream ended: %v, want ErrStreamDone", err)
	}
}

func TestServerEndsIdleStream(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cc := dial(t, h.addr)
	cs := openStream(t, context.Background(), cc)
	roundTrip(t, cs, []byte("hello"))
	e := h.stream(0)
	go e.st.End(status.Error(codes.Unavailable, "moved: go to p2 ✓ 100%"))
	var m []byte
	err := cs.RecvMsg(&m)
	if s, _ := status.FromError(err); s.Code() != codes.Unavailable || s.Message() != "moved: go to p2 ✓ 100%" {
		t.Fatalf("the stream ended with %v, want Unavailable with the message", err)
	}
	waitFor(t, "Closed after End", e.closed.Load)
	// A handler's error ends the stream the same way.
	cs2 := openStream(t, context.Background(), cc)
	roundTrip(t, cs2, []byte("x"))
	h.stream(1).fail = status.Error(codes.InvalidArgument, "bad request")
	msg := []byte("y")
	_ = cs2.SendMsg(&msg)
	if s, _ := status.FromError(cs2.RecvMsg(&m)); s.Code() != codes.InvalidArgument {
		t.Fatalf("handler error: %v, want InvalidArgument", s)
	}
}

func TestOpenRefused(t *testing.T) {
	h := startServer(t, Options{}, nil)
	h.refuse = status.Error(codes.PermissionDenied, "not you")
	cc := dial(t, h.addr)
	cs := openStream(t, context.Background(), cc)
	var m []byte
	if s, _ := status.FromError(cs.RecvMsg(&m)); s.Code() != codes.PermissionDenied || s.Message() != "not you" {
		t.Fatalf("refused stream: %v, want PermissionDenied: not you", s)
	}
}

// Another method on the same listener goes to the fallback grpc.Server;
// another method on a connection this server kept is refused.
func TestFallback(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cc := dial(t, h.addr)
	for range 3 {
		r, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health over the fallback: %v %v", r, err)
		}
	}
	// On that (handed over) connection, the lean method is the grpc.Server's: unknown there.
	cs := openStream(t, context.Background(), cc)
	var m []byte
	if s, _ := status.FromError(cs.RecvMsg(&m)); s.Code() != codes.Unimplemented {
		t.Fatalf("lean method on a handed-over connection: %v, want Unimplemented", s)
	}
	cc2 := dial(t, h.addr)
	roundTrip(t, openStream(t, context.Background(), cc2), []byte("hi"))
	if _, err := healthpb.NewHealthClient(cc2).Check(context.Background(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("another method on a lean connection: %v, want Unimplemented", err)
	}
}

// Several streams at once on one connection, each its own Handler, with
// large messages interleaved; a status's details reach the client.
func TestConcurrentStreamsAndDetails(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cc := dial(t, h.addr)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Go(func() {
			cs, err := cc.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, testPath, grpc.ForceCodec(rawCodec{}))
			if err != nil {
				errs <- err
				return
			}
			for j := range 20 {
				msg := bytes.Repeat([]byte{byte(i), byte(j)}, 20000)
				if err := cs.SendMsg(&msg); err != nil {
					errs <- err
					return
				}
				var got []byte
				if err := cs.RecvMsg(&got); err != nil || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("stream %d message %d: %d bytes, %v", i, j, len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cs := openStream(t, context.Background(), cc)
	roundTrip(t, cs, []byte("x"))
	st, err := status.New(codes.FailedPrecondition, "go elsewhere").WithDetails(&healthpb.HealthCheckRequest{Service: "p2"})
	if err != nil {
		t.Fatal(err)
	}
	h.stream(4).st.End(st.Err())
	var m []byte
	got := status.Convert(cs.RecvMsg(&m))
	if got.Code() != codes.FailedPrecondition || len(got.Details()) != 1 {
		t.Fatalf("ended with %v, details %v: want FailedPrecondition with one detail", got, got.Details())
	}
	if d, ok := got.Details()[0].(*healthpb.HealthCheckRequest); !ok || d.GetService() != "p2" {
		t.Fatalf("detail %v", got.Details()[0])
	}
}

// A client that does not read: Send never blocks, what does not fit the
// window is queued, and all of it arrives once the client reads.
func TestFlowControlQueue(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cc := dial(t, h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	cs := openStream(t, context.Background(), cc)
	roundTrip(t, cs, []byte("hello"))
	e := h.stream(0)
	msg := bytes.Repeat([]byte{7}, 50<<10)
	start := time.Now()
	for range 20 { // 1 MB to a client that reads nothing yet
		if err := e.st.Send(msg); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v for a client that does not read", d)
	}
	if e.st.Queued() == 0 {
		t.Error("nothing queued for a client that does not read")
	}
	for i := range 20 {
		var m []byte
		if err := cs.RecvMsg(&m); err != nil || !bytes.Equal(m, msg) {
			t.Fatalf("message %d: %d bytes, %v", i, len(m), err)
		}
	}
}

func TestKeepalive(t *testing.T) {
	h := startServer(t, Options{KeepaliveTime: 100 * time.Millisecond, KeepaliveTimeout: 200 * time.Millisecond}, nil)
	// A gRPC client answers the pings: its stream lives on.
	cc := dial(t, h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: time.Hour}))
	cs := openStream(t, context.Background(), cc)
	roundTrip(t, cs, []byte("hello"))
	// A raw client that opens a stream and then reads nothing: dropped.
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fr := http2.NewFramer(nc, nil)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", testPath}, {":authority", "x"}, {"content-type", "application/grpc"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	e := h.stream(1)
	waitFor(t, "the silent client dropped", e.closed.Load)
	time.Sleep(time.Second) // ten keepalive periods
	roundTrip(t, cs, []byte("still here"))
	if h.stream(0).closed.Load() {
		t.Error("the answering client's stream was closed")
	}
}

func TestTLS(t *testing.T) {
	serverCfg, clientCfg := testTLS(t)
	h := startServer(t, Options{TLS: serverCfg}, HandshakenTLS())
	cc := dial(t, h.addr, grpc.WithTransportCredentials(credentials.NewTLS(clientCfg)))
	cs := openStream(t, context.Background(), cc)
	roundTrip(t, cs, bytes.Repeat([]byte("tls"), 50000))
	p, ok := peer.FromContext(h.ctxs[0])
	if !ok {
		t.Fatal("no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 || info.State.PeerCertificates[0].Subject.CommonName != "client" {
		t.Fatalf("peer AuthInfo %#v: want TLSInfo with the client's certificate", p.AuthInfo)
	}
	// The fallback over TLS, on another connection.
	cc2 := dial(t, h.addr, grpc.WithTransportCredentials(credentials.NewTLS(clientCfg)))
	var pr peer.Peer
	if _, err := healthpb.NewHealthClient(cc2).Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Peer(&pr)); err != nil {
		t.Fatalf("health over TLS through the fallback: %v", err)
	}
}

// testTLS is a CA, a server certificate for 127.0.0.1 and a client
// certificate, as mutual TLS configurations.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	leaf := func(cn string, usage x509.ExtKeyUsage) tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	server = &tls.Config{Certificates: []tls.Certificate{leaf("server", x509.ExtKeyUsageServerAuth)}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}
	client = &tls.Config{Certificates: []tls.Certificate{leaf("client", x509.ExtKeyUsageClientAuth)}, RootCAs: pool, MinVersion: tls.VersionTLS13}
	return server, client
}

func TestCloseEndsStreams(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cc := dial(t, h.addr)
	cs := openStream(t, context.Background(), cc)
	roundTrip(t, cs, []byte("hello"))
	h.srv.Close()
	waitFor(t, "Closed after the server's Close", h.stream(0).closed.Load)
	var m []byte
	if err := cs.RecvMsg(&m); status.Code(err) != codes.Unavailable {
		t.Fatalf("after Close the client saw %v, want Unavailable", err)
	}
}
