package pilot

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/cp/ca/catest"
)

// With XDSTLS, a sidecar's stream serves only the app its certificate
// names: a node that names another app is refused and counted, and a
// client without a certificate does not get a stream at all.
func TestXDSOverMutualTLSServesOnlyTheCertificatesApp(t *testing.T) {
	for _, transport := range []string{TransportLean, TransportGRPC} {
		t.Run(transport, func(t *testing.T) { testXDSOverMutualTLS(t, transport) })
	}
}

func testXDSOverMutualTLS(t *testing.T, transport string) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	bundle := pki.Bundle
	pc, pk := pki.Issue(PilotApp)
	cfg, err := XDSTLS(pc, pk, bundle, "mesh.local")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := NewServer(ctx, newFakeSource(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.RequireIdentity()
	addr := serveXDS(t, srv, transport, cfg)

	open := func(certs []tls.Certificate, nodeApp string) (discoverygrpc.AggregatedDiscoveryService_DeltaAggregatedResourcesClient, error) {
		conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			MinVersion: tls.VersionTLS13, Certificates: certs, InsecureSkipVerify: true})))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		t.Cleanup(scancel)
		stream, err := discoverygrpc.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(sctx)
		if err != nil {
			return nil, err
		}
		return stream, stream.Send(&discoverygrpc.DeltaDiscoveryRequest{Node: &core.Node{Id: "n-" + nodeApp, Cluster: nodeApp}, TypeUrl: resource.ClusterType})
	}
	wc, wk := pki.Issue("web")
	web, err := tls.LoadX509KeyPair(wc, wk)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := open([]tls.Certificate{web}, "web"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !hasSession(srv, "web") {
		if time.Now().After(deadline) {
			t.Fatal("the web sidecar's stream was not served")
		}
		time.Sleep(10 * time.Millisecond)
	}

	stream, err := open([]tls.Certificate{web}, "billing")
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("web's certificate naming app billing: %v, want PermissionDenied", err)
	}
	if srv.Stats.IdentityRefused.Load() != 1 || hasSession(srv, "billing") {
		t.Errorf("identity_refused %d", srv.Stats.IdentityRefused.Load())
	}

	stream, err = open(nil, "web")
	if err == nil {
		_, err = stream.Recv()
	}
	if err == nil || status.Code(err) == codes.OK {
		t.Fatal("a client without a certificate got a stream")
	}
}

func hasSession(s *Server, app string) bool {
	for _, si := range s.Sessions() {
		if si.App == app {
			return true
		}
	}
	return false
}
