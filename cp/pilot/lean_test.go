package pilot

import (
	"crypto/tls"
	"net"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

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

// ackSeeds are requests decodeAck takes, and some it leaves to
// proto.Unmarshal.
func ackSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, r := range []*discovery.DeltaDiscoveryRequest{
		{TypeUrl: typeURLs[kindEndpoint], ResponseNonce: "42"},
		{TypeUrl: typeURLs[kindCluster]},
		{TypeUrl: "type.googleapis.com/unknown", ResponseNonce: "1"},
		{TypeUrl: typeURLs[kindEndpoint], ResponseNonce: "7", ResourceNamesSubscribe: []string{"echo"}},
		{TypeUrl: typeURLs[kindEndpoint], ResponseNonce: "7", ErrorDetail: &rpcstatus.Status{Message: "bad"}},
		{Node: &core.Node{Id: "n"}, TypeUrl: typeURLs[kindRoute]},
		{},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out, []byte{0x12, 0x05, 'a'}, []byte{0x32, 0x02, 0xff, 0xfe})
}

// checkAck: what decodeAck takes, it decodes as proto.Unmarshal does.
func checkAck(t testing.TB, b []byte) {
	k, nonce, ok := decodeAck(b)
	if !ok {
		return
	}
	got := &discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[k], ResponseNonce: string(nonce)}
	want := &discovery.DeltaDiscoveryRequest{}
	if err := proto.Unmarshal(b, want); err != nil {
		t.Fatalf("decodeAck took %x, which proto.Unmarshal refuses: %v", b, err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("decodeAck(%x) = %v, proto.Unmarshal %v", b, got, want)
	}
}

func TestDecodeAck(t *testing.T) {
	took := 0
	for _, b := range ackSeeds(t) {
		if _, _, ok := decodeAck(b); ok {
			took++
		}
		checkAck(t, b)
	}
	if took != 2 {
		t.Errorf("decodeAck took %d of the seeds, want 2 (the ACK and the first request of a kind)", took)
	}
	ack, _ := proto.Marshal(&discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[kindEndpoint], ResponseNonce: "42"})
	if n := testing.AllocsPerRun(100, func() { _, _, _ = decodeAck(ack) }); n != 0 {
		t.Errorf("decodeAck allocates %v times, want none", n)
	}
}

func FuzzDecodeAck(f *testing.F) {
	for _, b := range ackSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAck(t, b) })
}
