package pilot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/xds"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/pilot"
)

// echoServer is a gRPC TestService whose UnaryCall answers with its id.
type echoServer struct {
	testgrpc.UnimplementedTestServiceServer
	id string
}

func (s *echoServer) UnaryCall(_ context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{ServerId: s.id, Payload: req.GetPayload()}, nil
}

func startEcho(t *testing.T, id string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(g, &echoServer{id: id})
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	return ln.Addr().String()
}

// TestProxylessGRPCResolvesThroughThePilot proves the pilot speaks standard
// xDS: grpc-go's own xDS client (target xds:///echo-grpc) resolves a service
// registered in our registry through the pilot (state-of-the-world ADS:
// Listener, Cluster, ClusterLoadAssignment) and calls its instances, and
// follows an instance leaving.
func TestProxylessGRPCResolvesThroughThePilot(t *testing.T) {
	p, api := startPilotForGRPC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	leases := map[string]registry.LeaseID{}
	for _, id := range []string{"g1", "g2"} {
		addr := startEcho(t, id)
		lease, _, err := api.Register(ctx, registry.Instance{Service: "echo-grpc", App: "echo-grpc", Address: addr, Weight: 1}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		leases[id] = lease
	}

	conn := dialXDS(t, p, "echo-grpc", "grpc-client-1")
	client := testgrpc.NewTestServiceClient(conn)

	// Round robin spreads calls over the subchannels that are ready; the
	// second connects a moment after the first.
	seen := map[string]int{}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; seen["g1"] == 0 || seen["g2"] == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("calls reached %v; want both instances", seen)
		}
		resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte{byte(i)}}}, grpc.WaitForReady(true))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		seen[resp.GetServerId()]++
	}

	if err := api.Revoke(ctx, leases["g2"]); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for only := 0; only < 10; {
		resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetServerId() == "g1" {
			only++
		} else {
			only = 0
		}
		if time.Now().After(deadline) {
			t.Fatal("calls still reach g2 after it left the registry")
		}
	}
	var sotw bool
	for _, s := range p.XDS.Sessions() {
		if s.Node == "grpc-client-1" && !s.Delta && len(s.Subscriptions["listener"]) == 1 {
			sotw = true
		}
	}
	if !sotw {
		t.Errorf("no state-of-the-world session of grpc-client-1 in %+v", p.XDS.Sessions())
	}
	// Its status: every kind SYNCED, the whole response's version ACKed.
	deadline = time.Now().Add(30 * time.Second)
	for synced := false; !synced; {
		var last []pilot.SessionStatus
		for _, s := range p.XDS.Status() {
			if s.Node != "grpc-client-1" {
				continue
			}
			last = append(last, s)
			synced = len(s.Kinds) == 3 && s.Kinds["listener"].Resources[0].Name == "*"
			for _, k := range s.Kinds {
				synced = synced && k.State == pilot.StateSynced && k.Resources[0].Acked != ""
			}
		}
		if !synced && time.Now().After(deadline) {
			t.Fatalf("grpc-client-1 not SYNCED in 30s: %+v", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startPilotForGRPC starts a pilot with an embedded etcd in a temporary
// directory, on ports chosen by the system, and a client of its API.
func startPilotForGRPC(t *testing.T) (*pilot.Pilot, *registry.Client) {
	t.Helper()
	dir, err := os.MkdirTemp("", "omg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	api, err := registry.NewClient(p.Addrs().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return p, api
}

// dialXDS opens a grpc-go channel to xds:///service with grpc-go's own xDS
// client, bootstrapped to the pilot as node id.
func dialXDS(t *testing.T, p *pilot.Pilot, service, id string) *grpc.ClientConn {
	t.Helper()
	bootstrap := fmt.Sprintf(`{
  "xds_servers": [{"server_uri": %q, "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
  "node": {"id": %q, "cluster": "grpc-client"}
}`, strings.TrimPrefix(p.Addrs().XDS, "tcp://"), id)
	resolver, err := xds.NewXDSResolverWithConfigForTesting([]byte(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("xds:///"+service, grpc.WithResolvers(resolver), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
