package inspecttest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/pilot"
)

// Pilot is a pilot started for a test, and its registry client.
type Pilot struct {
	*pilot.Pilot
	// HTTP and XDS are its addresses as host:port.
	HTTP, XDS string
	API       *registry.Client
}

// StartPilot starts a pilot on loopback ports with an embedded etcd in a
// test directory; the test's end stops it.
func StartPilot(t testing.TB) *Pilot {
	t.Helper()
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: t.TempDir(),
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	_, httpAddr, err := config.ParseAddress(p.Addrs().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	_, xdsAddr, err := config.ParseAddress(p.Addrs().XDS)
	if err != nil {
		t.Fatal(err)
	}
	api, err := registry.NewClient(httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return &Pilot{Pilot: p, HTTP: httpAddr, XDS: xdsAddr, API: api}
}

// Sidecar is a fake sidecar on one delta ADS stream: it subscribes, and
// ACKs or NACKs only when the test says.
type Sidecar struct {
	t      testing.TB
	stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	node   *core.Node
	resps  chan *discovery.DeltaDiscoveryResponse
	errs   chan error
}

// Type URLs of the kinds a sidecar subscribes to.
const (
	Clusters  = resource.ClusterType
	Endpoints = resource.EndpointType
	Routes    = resource.RouteType
)

// Connect opens a stream to xds (host:port) as node of app; admin, if not
// empty, goes in the node metadata (scanner.NodeAdminKey) as a sidecar
// sends it.
func Connect(t testing.TB, xds, node, app, admin string) *Sidecar {
	t.Helper()
	conn, err := grpc.NewClient(xds, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := &core.Node{Id: node, Cluster: app}
	if admin != "" {
		n.Metadata = &structpb.Struct{Fields: map[string]*structpb.Value{scanner.NodeAdminKey: structpb.NewStringValue(admin)}}
	}
	s := &Sidecar{t: t, stream: stream, node: n, resps: make(chan *discovery.DeltaDiscoveryResponse, 16), errs: make(chan error, 1)}
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				s.errs <- err
				return
			}
			s.resps <- r
		}
	}()
	return s
}

// Subscribe subscribes to names of typeURL (the first request carries the
// node).
func (s *Sidecar) Subscribe(typeURL string, names ...string) {
	s.t.Helper()
	req := &discovery.DeltaDiscoveryRequest{TypeUrl: typeURL, ResourceNamesSubscribe: names}
	if s.node != nil {
		req.Node, s.node = s.node, nil
	}
	if err := s.stream.Send(req); err != nil {
		s.t.Fatal(err)
	}
}

// Recv waits (at most 30s) for the pilot's next response.
func (s *Sidecar) Recv() *discovery.DeltaDiscoveryResponse {
	s.t.Helper()
	select {
	case r := <-s.resps:
		return r
	case err := <-s.errs:
		s.t.Fatalf("stream ended: %v", err)
	case <-time.After(30 * time.Second):
		s.t.Fatal("no response from the pilot in 30s")
	}
	return nil
}

// RecvType waits for the next response of typeURL, ACKing any other.
func (s *Sidecar) RecvType(typeURL string) *discovery.DeltaDiscoveryResponse {
	s.t.Helper()
	for {
		r := s.Recv()
		if r.GetTypeUrl() == typeURL {
			return r
		}
		s.Ack(r)
	}
}

// Ack acknowledges r.
func (s *Sidecar) Ack(r *discovery.DeltaDiscoveryResponse) {
	s.t.Helper()
	if err := s.stream.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()}); err != nil {
		s.t.Fatal(err)
	}
}

// Nack refuses r with msg.
func (s *Sidecar) Nack(r *discovery.DeltaDiscoveryResponse, msg string) {
	s.t.Helper()
	if err := s.stream.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce(),
		ErrorDetail: &status.Status{Code: 3, Message: msg}}); err != nil {
		s.t.Fatal(err)
	}
}

// Eventually polls cond every 20ms for at most 30s.
func Eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within 30s; last: %s", what, last)
}

// Admin is a fake sidecar admin endpoint serving GET /xds (the JSON of
// proxy/xds.Status that the test sets) and GET /config_dump.
type Admin struct {
	Addr string
	mu   sync.Mutex
	xds  any
}

// StartAdmin serves a fake admin endpoint on a loopback port.
func StartAdmin(t testing.TB) *Admin {
	t.Helper()
	a := &Admin{xds: map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /xds", func(w http.ResponseWriter, _ *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		_ = json.NewEncoder(w).Encode(a.xds)
	})
	mux.HandleFunc("GET /config_dump", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"version":"static-test","config":{"clusters":[]}}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.Addr = strings.TrimPrefix(srv.URL, "http://")
	return a
}

// SetXDS sets what GET /xds answers.
func (a *Admin) SetXDS(v any) {
	a.mu.Lock()
	a.xds = v
	a.mu.Unlock()
}

// Silent is an address that accepts connections and never answers: a
// pilot or sidecar that hangs.
func Silent(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}
