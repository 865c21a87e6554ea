package pilot

import (
	"crypto/tls"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/octomesh/octomesh/internal/grpclite"
)

// serveXDS serves srv's ADS on a new loopback listener as Start does with
// transport (and tlsCfg, if set), until the test ends; it returns the
// address.
func serveXDS(t *testing.T, srv *Server, transport string, tlsCfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := XDSServerOptions()
	switch transport {
	case TransportLean:
		lean := srv.LeanServer(tlsCfg)
		if tlsCfg != nil {
			opts = append(opts, grpc.Creds(grpclite.HandshakenTLS()))
		}
		g := grpc.NewServer(opts...)
		srv.Register(g)
		go func() { _ = lean.Serve(ln) }()
		go func() { _ = g.Serve(lean.Fallback()) }()
		t.Cleanup(func() { g.Stop(); lean.Close() })
	case TransportGRPC:
		if tlsCfg != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
		}
		g := grpc.NewServer(opts...)
		srv.Register(g)
		go func() { _ = g.Serve(ln) }()
		t.Cleanup(g.Stop)
	default:
		t.Fatalf("transport %q", transport)
	}
	return ln.Addr().String()
}

func TestCheckTransport(t *testing.T) {
	for in, want := range map[string]string{"": TransportLean, "lean": TransportLean, "grpc": TransportGRPC, "quic": ""} {
		got, err := checkTransport(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("checkTransport(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
