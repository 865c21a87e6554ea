package xds

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/pilot"
)

func TestRejectedUpdateKeepsTheLastGood(t *testing.T) {
	ft := &fakeTarget{}
	c := newTestClient(t, ft)
	_ = c.Subscribe("echo")
	_ = c.handle(response(typeURLs[kCluster], nil, edsCluster("echo")))
	_ = c.handle(response(typeURLs[kEndpoint], nil, assignment("echo", lbEndpoint("10.0.0.1", 7000))))
	ft.takeCalls()
	before := c.Status()

	// Does not translate: nothing reaches the target.
	bad := edsCluster("echo")
	bad.LbPolicy = cluster.Cluster_RANDOM
	if err := c.handle(response(typeURLs[kCluster], nil, bad)); err == nil {
		t.Fatal("RANDOM accepted")
	}
	if got := ft.takeCalls(); got != "" {
		t.Fatalf("a rejected update reached the target: %q", got)
	}
	// Translates but the target refuses the routes: clusters are put back.
	ft.failNext = errors.New("no")
	if err := c.handle(response(typeURLs[kRoute], nil, &route.RouteConfiguration{Name: "web", VirtualHosts: []*route.VirtualHost{routeTo("echo", "Slow", "echo")}})); err == nil {
		t.Fatal("refused routes accepted")
	}
	if got := ft.takeCalls(); got != "clusters local-app,echo | outbound local/*>local-app,echo/Slow>echo | clusters local-app,echo" {
		t.Fatalf("calls %q", got)
	}
	after := c.Status()
	if fmt.Sprint(after.Applied) != fmt.Sprint(before.Applied) || fmt.Sprint(after.Clusters) != fmt.Sprint(before.Clusters) || len(after.Routes) != 0 {
		t.Fatalf("state changed by rejected updates:\n%+v\n%+v", before, after)
	}
	// A route configuration for another app is refused too.
	if err := c.handle(response(typeURLs[kRoute], nil, &route.RouteConfiguration{Name: "other"})); err == nil || !strings.Contains(err.Error(), "not subscribed") {
		t.Fatalf("other app's routes: %v", err)
	}
}

// fakeADS is a pilot's ADS endpoint that a test drives: it hands over each
// stream's app header and requests, sends what the test gives it, and ends
// the stream with the error it is given.
type fakeADS struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
	apps  chan []string
	reqs  chan *discovery.DeltaDiscoveryRequest
	resps chan *discovery.DeltaDiscoveryResponse
	end   chan error
}

func (f *fakeADS) DeltaAggregatedResources(s discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	md, _ := metadata.FromIncomingContext(s.Context())
	f.apps <- md.Get(meta.AppHeader)
	go func() {
		for {
			r, err := s.Recv()
			if err != nil {
				return
			}
			f.reqs <- r
		}
	}()
	for {
		select {
		case r := <-f.resps:
			if err := s.Send(r); err != nil {
				return err
			}
		case err := <-f.end:
			return err
		case <-s.Context().Done():
			return nil
		}
	}
}

func startFakeADS(t *testing.T) (*fakeADS, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeADS{apps: make(chan []string, 4), reqs: make(chan *discovery.DeltaDiscoveryRequest, 64),
		resps: make(chan *discovery.DeltaDiscoveryResponse), end: make(chan error)}
	srv := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return f, ln.Addr().String()
}

// recv returns what ch carries next; the bound only ends a test that hangs.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatal("nothing came in a minute")
	}
	var zero T
	return zero
}

// A stream: the app in its header, initial requests with the node, the
// subscriptions and the versions held; each response ACKed or NACKed by
// nonce; a new subscription sent on the open stream; after a break, the
// versions held sent again.
func TestSessionRequestsAndAcks(t *testing.T) {
	f, addr := startFakeADS(t)
	c, err := New(Options{Pilot: addr, NodeID: "web-1", App: "web", Zone: "z1", Listener: "outbound", Services: []string{"echo"},
		SubscribeWait: time.Second, MaxSubscriptions: 10, ReconnectMax: 100 * time.Millisecond}, &fakeTarget{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Start()
	if app := recv(t, f.apps); len(app) != 1 || app[0] != "web" {
		t.Fatalf("app header %v", app)
	}
	initial := func() [numKinds]*discovery.DeltaDiscoveryRequest {
		var reqs [numKinds]*discovery.DeltaDiscoveryRequest
		for k := range kListener { // no Listener without authorization_from_pilot
			reqs[k] = recv(t, f.reqs)
			if reqs[k].GetTypeUrl() != typeURLs[k] {
				t.Fatalf("initial request %d is for %s", k, reqs[k].GetTypeUrl())
			}
		}
		return reqs
	}
	reqs := initial()
	if n := reqs[kCluster].GetNode(); n.GetId() != "web-1" || n.GetCluster() != "web" || n.GetLocality().GetZone() != "z1" {
		t.Errorf("node %v", n)
	}
	if fmt.Sprint(reqs[kCluster].ResourceNamesSubscribe, reqs[kEndpoint].ResourceNamesSubscribe, reqs[kRoute].ResourceNamesSubscribe) != "[echo] [echo] [web]" {
		t.Errorf("subscriptions %v %v %v", reqs[kCluster].ResourceNamesSubscribe, reqs[kEndpoint].ResourceNamesSubscribe, reqs[kRoute].ResourceNamesSubscribe)
	}

	good := response(typeURLs[kCluster], nil, edsCluster("echo"))
	good.Nonce = "n1"
	f.resps <- good
	if ack := recv(t, f.reqs); ack.GetResponseNonce() != "n1" || ack.GetErrorDetail() != nil || ack.GetTypeUrl() != typeURLs[kCluster] {
		t.Fatalf("ACK %v", ack)
	}
	bad := edsCluster("echo")
	bad.LbPolicy = cluster.Cluster_RANDOM
	nack := response(typeURLs[kCluster], nil, bad)
	nack.Nonce = "n2"
	f.resps <- nack
	if r := recv(t, f.reqs); r.GetResponseNonce() != "n2" || !strings.Contains(r.GetErrorDetail().GetMessage(), "RANDOM") {
		t.Fatalf("NACK %v", r)
	}
	if err := c.Subscribe("user"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{kCluster, kEndpoint} {
		if r := recv(t, f.reqs); r.GetTypeUrl() != typeURLs[k] || fmt.Sprint(r.ResourceNamesSubscribe) != "[user]" {
			t.Fatalf("subscription on the open stream %v", r)
		}
	}

	f.end <- grpcstatus.Error(codes.Unavailable, "the test ends the stream")
	recv(t, f.apps)
	reqs = initial()
	if v := reqs[kCluster].GetInitialResourceVersions(); len(v) != 1 || v["echo"] != "v0" {
		t.Errorf("versions held after a break %v", v)
	}
	if fmt.Sprint(reqs[kCluster].ResourceNamesSubscribe) != "[echo user]" {
		t.Errorf("subscriptions after a break %v", reqs[kCluster].ResourceNamesSubscribe)
	}
	if s := &c.Stats; s.Connects.Load() != 2 || s.Acks.Load() != 1 || s.Nacks.Load() != 1 {
		t.Errorf("connects %d, acks %d, nacks %d", s.Connects.Load(), s.Acks.Load(), s.Nacks.Load())
	}
}

// With listeners[].authorization_from_pilot the initial requests also ask
// for the served services' Listeners, by name (never a wildcard), with the
// versions held after a break; an ACK follows a Listener response.
func TestSessionSubscribesToServedListeners(t *testing.T) {
	f, addr := startFakeADS(t)
	ft := &fakeTarget{}
	c, err := New(Options{Pilot: addr, NodeID: "echo-1", App: "echo", Listener: "outbound",
		Authorization: map[string][]string{"inbound": {"user", "echo"}},
		SubscribeWait: time.Second, MaxSubscriptions: 10, ReconnectMax: 100 * time.Millisecond}, ft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Start()
	initial := func() *discovery.DeltaDiscoveryRequest {
		recv(t, f.apps)
		var lds *discovery.DeltaDiscoveryRequest
		for k := range numKinds {
			r := recv(t, f.reqs)
			if r.GetTypeUrl() != typeURLs[k] {
				t.Fatalf("initial request %d is for %s", k, r.GetTypeUrl())
			}
			lds = r
		}
		return lds
	}
	lds := initial()
	if fmt.Sprint(lds.ResourceNamesSubscribe) != "[echo user]" {
		t.Errorf("listeners subscribed %v", lds.ResourceNamesSubscribe)
	}
	l, err := pilot.BuildListener("echo", &registry.ServicePolicy{Authorization: authzForms()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	resp := response(typeURLs[kListener], nil, l)
	resp.Nonce = "l1"
	f.resps <- resp
	if ack := recv(t, f.reqs); ack.GetResponseNonce() != "l1" || ack.GetErrorDetail() != nil {
		t.Fatalf("ACK %v", ack)
	}
	f.end <- grpcstatus.Error(codes.Unavailable, "the test ends the stream")
	lds = initial()
	if v := lds.GetInitialResourceVersions(); len(v) != 1 || v["echo"] != "v0" {
		t.Errorf("listener versions held after a break %v", v)
	}
}
