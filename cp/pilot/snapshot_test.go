package pilot

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

func inst(addr string, weight uint32) registry.Instance {
	return registry.Instance{Service: "echo", App: "echo", Address: addr, Weight: weight, Zone: "z1"}
}

func assignment(t *testing.T, r *discovery.DeltaDiscoveryResponse) *endpoint.ClusterLoadAssignment {
	t.Helper()
	if len(r.Resources) != 1 {
		t.Fatalf("want one assignment, got %v", names(r))
	}
	var cla endpoint.ClusterLoadAssignment
	if err := r.Resources[0].Resource.UnmarshalTo(&cla); err != nil {
		t.Fatal(err)
	}
	return &cla
}

func weights(cla *endpoint.ClusterLoadAssignment) string {
	var b strings.Builder
	for _, g := range cla.Endpoints {
		for _, e := range g.LbEndpoints {
			fmt.Fprintf(&b, "%s=%d/%s ", hostPort(e.GetEndpoint().GetAddress().GetSocketAddress()), e.GetLoadBalancingWeight().GetValue(), e.HealthStatus)
		}
	}
	return strings.TrimSpace(b.String())
}

func TestSubscribePushAndKindsAreIndependent(t *testing.T) {
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	c := newClient(t, srv, "a-1", "web")
	c.subscribe(kindCluster, "echo")
	c.subscribe(kindEndpoint, "echo")
	c.subscribe(kindRoute, "web")
	cl := c.recvKind(kindCluster)
	if n := names(cl); len(n) != 1 || !strings.HasPrefix(n[0], "echo@") {
		t.Fatalf("clusters %v", n)
	}
	c.ack(cl)
	eds := c.recvKind(kindEndpoint)
	if w := weights(assignment(t, eds)); w != "10.0.0.1:7000=1/HEALTHY" {
		t.Fatalf("endpoints %s", w)
	}
	c.ack(eds)
	rt := c.recvKind(kindRoute)
	if len(rt.Resources) != 0 || fmt.Sprint(rt.RemovedResources) != "[web]" {
		t.Fatalf("routes of an app without rules: %v removed %v, want web removed (it does not exist)", names(rt), rt.RemovedResources)
	}
	c.ack(rt)

	// A weight change and a new instance: only the assignment moves.
	src.setService("echo", inst("10.0.0.1:7000", 5), inst("10.0.0.2:7000", 0))
	eds = c.recvKind(kindEndpoint)
	if w := weights(assignment(t, eds)); w != "10.0.0.1:7000=5/HEALTHY 10.0.0.2:7000=0/DRAINING" {
		t.Fatalf("endpoints %s", w)
	}
	c.ack(eds)
	c.quiet(100 * time.Millisecond)
	// That push is timed (first sends are not pushes).
	if pd := srv.Stats.PushDelay.Snapshot(); pd.Count() != 1 || pd.Quantile(1) > 5*time.Second {
		t.Errorf("push delay: %d recorded, max %s; want 1", pd.Count(), pd.Quantile(1))
	}

	// Route rules: only the route configuration moves.
	src.setRoutes("web", &registry.AppRoutes{Routes: []registry.RouteRule{
		{Service: "echo", Method: "*", Cluster: "echo"},
		{Service: "echo", Method: "Slow", Cluster: "echo", Timeout: config.Duration(10 * time.Second)},
	}})
	rt = c.recvKind(kindRoute)
	var rc route.RouteConfiguration
	if err := rt.Resources[0].Resource.UnmarshalTo(&rc); err != nil {
		t.Fatal(err)
	}
	vh := rc.VirtualHosts[0]
	if rc.Name != "web" || vh.Domains[0] != "echo" || vh.Routes[0].Match.GetPath() != "/Slow" ||
		vh.Routes[0].GetRoute().Timeout.AsDuration() != 10*time.Second || vh.Routes[1].Match.GetPrefix() != "/" {
		t.Fatalf("route configuration %v", &rc)
	}
	c.ack(rt)
	c.quiet(100 * time.Millisecond)
	if got := srv.Stats.Acks.Load(); got != 5 {
		t.Errorf("acks %d, want 5", got)
	}
}

func TestOneRegistryWatchPerServiceSharedBySessions(t *testing.T) {
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	var clients []*client
	for i := range 3 {
		c := newClient(t, srv, fmt.Sprintf("n-%d", i), "web")
		c.subscribe(kindEndpoint, "echo")
		c.ack(c.recvKind(kindEndpoint))
		clients = append(clients, c)
	}
	if opened, now := src.open("s/echo"); opened != 1 || now != 1 {
		t.Fatalf("watches on echo: %d opened, %d open; want one shared", opened, now)
	}
	src.setService("echo", inst("10.0.0.1:7000", 2))
	for _, c := range clients {
		if w := weights(assignment(t, c.recvKind(kindEndpoint))); w != "10.0.0.1:7000=2/HEALTHY" {
			t.Fatalf("endpoints %s", w)
		}
	}
	for _, c := range clients {
		c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[kindEndpoint], ResourceNamesUnsubscribe: []string{"echo"}})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, now := src.open("s/echo"); now == 0 && srv.Stats.Watches.Load() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch on echo stayed open after every session unsubscribed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServiceThatDoesNotExistYet(t *testing.T) {
	srv, src := newTestServer(t)
	c := newClient(t, srv, "a-1", "web")
	c.subscribe(kindCluster, "ghost")
	r := c.recvKind(kindCluster)
	if len(r.Resources) != 0 || fmt.Sprint(r.RemovedResources) != "[ghost]" {
		t.Fatalf("got %v removed %v; want ghost removed", names(r), r.RemovedResources)
	}
	c.ack(r)
	c.quiet(50 * time.Millisecond)
	src.setService("ghost", registry.Instance{Service: "ghost", App: "g", Address: "10.0.0.9:1", Weight: 1})
	if r := c.recvKind(kindCluster); len(r.Resources) != 1 {
		t.Fatalf("after registration %v", names(r))
	} else {
		c.ack(r)
	}
	src.setService("ghost")
	if r := c.recvKind(kindCluster); fmt.Sprint(r.RemovedResources) != "[ghost]" {
		t.Fatalf("after the last instance left: removed %v", r.RemovedResources)
	}
	_ = srv
}

func TestNackKeepsTheSessionOnItsLastAckedVersion(t *testing.T) {
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	c := newClient(t, srv, "a-1", "web")
	c.subscribe(kindEndpoint, "echo")
	v1 := c.recvKind(kindEndpoint)
	c.ack(v1)

	src.setService("echo", inst("10.0.0.1:7000", 2))
	v2 := c.recvKind(kindEndpoint)
	c.nack(v2, "endpoints[0]: no thanks")
	c.quiet(150 * time.Millisecond) // the rejected version is not sent again

	waitFor(t, func() bool { return srv.Stats.Nacks.Load() == 1 })
	info := srv.Sessions()[0]
	if info.Node != "a-1" || info.Nacks != 1 || info.LastNack != "endpoints[0]: no thanks" ||
		info.Acked["endpoint"]["echo"] != v1.Resources[0].Version {
		t.Fatalf("session after NACK: %+v (want acked %s)", info, v1.Resources[0].Version)
	}

	src.setService("echo", inst("10.0.0.1:7000", 3))
	v3 := c.recvKind(kindEndpoint)
	if w := weights(assignment(t, v3)); w != "10.0.0.1:7000=3/HEALTHY" {
		t.Fatalf("after the NACK, the next change: %s", w)
	}
	c.ack(v3)
	waitFor(t, func() bool { return srv.Sessions()[0].Acked["endpoint"]["echo"] == v3.Resources[0].Version })
}

func TestReconnectSendsOnlyWhatChanged(t *testing.T) {
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	src.setService("user", registry.Instance{Service: "user", App: "u", Address: "10.0.0.5:1", Weight: 1})
	c := newClient(t, srv, "a-1", "web")
	c.subscribe(kindEndpoint, "echo", "user", "gone")
	held := map[string]string{}
	for held["echo"] == "" || held["user"] == "" { // the data loads in any order
		r := c.recvKind(kindEndpoint)
		for _, res := range r.Resources {
			held[res.Name] = res.Version
		}
		c.ack(r)
	}
	c.close()
	waitFor(t, func() bool { return srv.Stats.Sessions.Load() == 0 })

	// While "away": user changes, echo does not, gone never existed.
	src.setService("user", registry.Instance{Service: "user", App: "u", Address: "10.0.0.6:1", Weight: 1})
	c2 := newClient(t, srv, "a-1", "web")
	c2.send(&discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[kindEndpoint], ResourceNamesSubscribe: []string{"echo", "user", "gone"},
		InitialResourceVersions: held})
	var sent, removed []string
	for len(sent) == 0 || len(removed) == 0 { // again, the data loads in any order
		r := c2.recvKind(kindEndpoint)
		sent = append(sent, names(r)...)
		removed = append(removed, r.RemovedResources...)
		c2.ack(r)
	}
	if len(sent) != 1 || !strings.HasPrefix(sent[0], "user@") || fmt.Sprint(removed) != "[gone]" {
		t.Fatalf("resync sent %v removed %v; want only user, and gone removed", sent, removed)
	}
	c2.quiet(100 * time.Millisecond) // echo is not sent: the client holds its version

	// The version it said it holds counts as ACKed: the session shows it,
	// and a change of echo is timed as a push.
	if got := srv.Sessions()[0].Acked[kindEndpoint.String()]["echo"]; got != held["echo"] {
		t.Errorf("the session's ACKed echo: %q, want the version it said it holds, %q", got, held["echo"])
	}
	pushAcked := func() uint64 { pa := srv.Stats.PushAcked.Snapshot(); return pa.Count() }
	pushes := pushAcked()
	src.setService("echo", inst("10.0.0.1:7000", 2))
	c2.ack(c2.recvKind(kindEndpoint))
	waitFor(t, func() bool { return pushAcked() == pushes+1 })
	if lp := srv.LastPush(); lp.Acked != 1 {
		t.Errorf("the last push counted %d ACKs, want 1", lp.Acked)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // generous: a busy machine under -race
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func hostPort(sa *core.SocketAddress) string {
	return net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
}
