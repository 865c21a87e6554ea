package xds

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/registry"
	metaserver "github.com/octomesh/octomesh/cp/meta"
	"github.com/octomesh/octomesh/cp/pilot"
)

// The sidecar with Meta: it asks Meta for its app's pilot, moves to the
// successor when that pilot drains (redirect) or dies (Meta, once it finds
// the pilot refusing connections: long before the 30s lease runs out), and
// back when it returns; it never uses a pilot that neither Meta nor a
// redirect named, and keeps its last good configuration while it moves.
func TestMetaDiscoveryFailoverAndReturn(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "omxm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m, err := metaserver.Start(metaserver.Options{HTTPAddress: "127.0.0.1:0", DataDir: dir, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	start := func(id string) *pilot.Pilot {
		p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{m.Addrs().Etcd},
			Shard: &pilot.ShardOptions{ID: id, LeaseTTL: 30 * time.Second}, Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pilots := map[string]*pilot.Pilot{"p1": start("p1"), "p2": start("p2")}
	defer func() {
		for _, p := range pilots {
			p.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pilots["p1"].Store.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	ft := &fakeTarget{}
	c, err := New(Options{Meta: m.Addrs().HTTP, NodeID: "web-1", App: "web", Listener: "outbound", Services: []string{"echo"},
		SubscribeWait: time.Second, MaxSubscriptions: 10, ReconnectMax: time.Second}, ft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Start()
	waitUntil := func(what string, cond func(Status) bool) Status {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st := c.Status()
			if st.Connected && cond(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	hasEcho := func(st Status) bool { return len(st.Applied.Clusters["echo"]) == 1 }
	st := waitUntil("echo from the owner", hasEcho)
	owner := m.View.Current().Owner["web"]
	other := map[string]string{"p1": "p2", "p2": "p1"}[owner]
	if st.PilotID != owner || st.Pilot != pilots[owner].Addrs().XDS {
		t.Fatalf("connected to %s at %s; Meta says %s", st.PilotID, st.Pilot, owner)
	}

	// Drain: the owner redirects the sidecar to the successor.
	if err := pilots[owner].Drain(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil("the successor after the drain", func(st Status) bool { return st.PilotID == other && hasEcho(st) })
	if c.Stats.Redirects.Load() == 0 {
		t.Error("moved without a redirect")
	}
	pilots[owner].Close()

	// Return: the app moves back, the successor redirects.
	pilots[owner] = start(owner)
	waitUntil("the returned owner", func(st Status) bool { return st.PilotID == owner && hasEcho(st) })

	// Death (no drain): the sidecar reports the pilot to Meta (avoid=),
	// Meta finds it refusing connections and evicts it, and the sidecar,
	// waiting on Meta, follows. waitUntil gives up after 20s, before the
	// lease (30s) and its grace could have moved the app: only the
	// eviction can.
	died := time.Now()
	pilots[owner].Close()
	deadline := time.Now().Add(20 * time.Second)
	for c.Status().Connected && c.Status().PilotID == owner {
		if time.Now().After(deadline) {
			t.Fatal("the sidecar did not notice its pilot's death")
		}
		time.Sleep(time.Millisecond)
	}
	ft.mu.Lock()
	kept := len(ft.clusters["echo"].Endpoints)
	ft.mu.Unlock()
	if kept != 1 {
		t.Fatalf("without a pilot, the sidecar dropped echo's endpoints: %d", kept)
	}
	waitUntil("the successor after a death", func(st Status) bool { return st.PilotID == other && hasEcho(st) })
	t.Logf("moved %v after the pilot died (lease ttl 30s); %d lookups, %d redirects", time.Since(died).Round(time.Millisecond),
		c.Stats.Lookups.Load(), c.Stats.Redirects.Load())
	for m.Deaths.Evictions.Load() == 0 { // counted once the revoke returns
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("the app moved without Meta evicting the dead pilot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if len(ft.clusters["echo"].Endpoints) != 1 {
		t.Errorf("echo lost its endpoints during the moves: %+v", ft.clusters["echo"])
	}
}

// A pilot that does not serve the app redirects its sidecar: the client
// goes straight to the pilot named, without asking Meta again.
func TestRedirectIsFollowed(t *testing.T) {
	wrong, wrongAddr := startFakeADS(t)
	right, rightAddr := startFakeADS(t)
	lookups := make(chan string, 4)
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lookups <- r.URL.RawQuery
		_ = json.NewEncoder(w).Encode(meta.OwnerResponse{App: "web", Pilot: meta.PilotInfo{ID: "p1", XDS: wrongAddr}})
	}))
	defer m.Close()
	c, err := New(Options{Meta: strings.TrimPrefix(m.URL, "http://"), NodeID: "web-1", App: "web", Listener: "outbound",
		SubscribeWait: time.Second, MaxSubscriptions: 10, ReconnectMax: 100 * time.Millisecond}, &fakeTarget{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Start()
	if q := recv(t, lookups); q != "app=web" {
		t.Fatalf("asked Meta %q", q)
	}
	recv(t, wrong.apps)
	wrong.end <- meta.Redirect("p1", "web", meta.PilotInfo{ID: "p2", XDS: rightAddr})
	if app := recv(t, right.apps); len(app) != 1 || app[0] != "web" {
		t.Fatalf("app header at the pilot redirected to %v", app)
	}
	if st := c.Status(); st.PilotID != "p2" || st.Pilot != rightAddr || c.Stats.Redirects.Load() != 1 || c.Stats.Lookups.Load() != 1 {
		t.Fatalf("after the redirect: %+v, %d redirects, %d look-ups", st, c.Stats.Redirects.Load(), c.Stats.Lookups.Load())
	}
}

// redirectAtOnce is a pilot that redirects every stream as soon as it
// opens, before it reads a request: the way a pilot that does not serve
// the app answers.
type redirectAtOnce struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
	to meta.PilotInfo
}

func (r redirectAtOnce) DeltaAggregatedResources(discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	return meta.Redirect("p1", "web", r.to)
}

// A redirect that ends the stream while the client still sends its first
// requests is followed too: gRPC's Send then says only EOF, and the
// redirect is in the stream's status.
func TestRedirectAtStreamOpenIsFollowed(t *testing.T) {
	right, rightAddr := startFakeADS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(srv, redirectAtOnce{to: meta.PilotInfo{ID: "p2", XDS: rightAddr}})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(meta.OwnerResponse{App: "web", Pilot: meta.PilotInfo{ID: "p1", XDS: ln.Addr().String()}})
	}))
	defer m.Close()
	for i := range 30 {
		c, err := New(Options{Meta: strings.TrimPrefix(m.URL, "http://"), NodeID: "web-1", App: "web", Listener: "outbound",
			SubscribeWait: time.Second, MaxSubscriptions: 10, ReconnectMax: 100 * time.Millisecond}, &fakeTarget{})
		if err != nil {
			t.Fatal(err)
		}
		c.Start()
		recv(t, right.apps)
		lookups := c.Stats.Lookups.Load()
		c.Close()
		if lookups != 1 {
			t.Fatalf("client %d asked Meta %d times: it lost the redirect", i, lookups)
		}
	}
}

// A working stream that breaks is retried on the same pilot without
// asking Meta; a pilot that then refuses twice is reported to Meta
// (avoid=), the report that lets Meta evict it.
func TestBrokenStreamRetriesThePilotThenReportsIt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeADS{apps: make(chan []string, 4), reqs: make(chan *discovery.DeltaDiscoveryRequest, 64),
		resps: make(chan *discovery.DeltaDiscoveryResponse), end: make(chan error)}
	srv := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	addr := ln.Addr().String()
	lookups := make(chan string, 16)
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lookups <- r.URL.RawQuery
		if r.URL.Query().Get("avoid") != "" {
			<-r.Context().Done() // a long poll, until the client gives up
			return
		}
		_ = json.NewEncoder(w).Encode(meta.OwnerResponse{App: "web", Pilot: meta.PilotInfo{ID: "p1", XDS: addr}})
	}))
	defer m.Close()
	c, err := New(Options{Meta: strings.TrimPrefix(m.URL, "http://"), NodeID: "web-1", App: "web", Listener: "outbound",
		SubscribeWait: time.Second, MaxSubscriptions: 10, ReconnectMax: 100 * time.Millisecond}, &fakeTarget{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Start()
	if q := recv(t, lookups); q != "app=web" {
		t.Fatalf("asked Meta %q", q)
	}
	recv(t, f.apps)
	f.resps <- &discovery.DeltaDiscoveryResponse{TypeUrl: typeURLs[kCluster], Nonce: "1", SystemVersionInfo: "v1"}
	deadline := time.Now().Add(30 * time.Second)
	for !c.Status().Connected {
		if time.Now().After(deadline) {
			t.Fatal("never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The stream breaks; the pilot is alive: the client comes back to it
	// without a look-up.
	f.end <- grpcstatus.Error(codes.Unavailable, "stream reset")
	recv(t, f.apps)
	if n := c.Stats.Lookups.Load(); n != 1 {
		t.Fatalf("%d look-ups after a broken stream to a live pilot, want 1", n)
	}

	// The pilot dies: refused twice, then the client asks Meta to avoid it.
	srv.Stop()
	if q := recv(t, lookups); q != "app=web&avoid=p1&wait=15s" {
		t.Fatalf("after the pilot died, asked Meta %q; want the report avoid=p1", q)
	}
	if n := c.Stats.Lookups.Load(); n != 2 {
		t.Fatalf("%d look-ups before the report, want 2", n)
	}
}
