package pilot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	metaserver "github.com/octomesh/octomesh/cp/meta"
)

type shardEnv struct {
	t    *testing.T
	meta *metaserver.Server
	etcd string
}

func startShardEnv(t *testing.T) *shardEnv {
	dir, err := os.MkdirTemp("", "om-shard")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m, err := metaserver.Start(metaserver.Options{HTTPAddress: "127.0.0.1:0", DataDir: dir, Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &shardEnv{t: t, meta: m, etcd: m.Addrs().Etcd}
}

func (e *shardEnv) pilot(id string) *Pilot {
	p, err := Start(Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{e.etcd},
		Shard: &ShardOptions{ID: id, LeaseTTL: 2 * time.Second}, Log: quietLog})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// eventually polls cond for up to 15s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openADS opens a delta stream to a pilot as a sidecar of app.
func openADS(t *testing.T, addr, app string) discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient {
	_, a, err := config.ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("passthrough:///"+a, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	if app != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, meta.AppHeader, app)
	}
	t.Cleanup(cancel)
	s, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// redirectTo returns the pilot a stream's error redirects to.
func redirectTo(err error) (string, bool) {
	p, ok := meta.RedirectOf(err)
	return p.ID, ok
}

func TestShardRedirectPreloadDrainAndReturn(t *testing.T) {
	e := startShardEnv(t)
	p1, p2 := e.pilot("p1"), e.pilot("p2")
	defer p2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p1.Store.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	mc, err := meta.NewClient(e.meta.Addrs().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "both pilots in Meta's view", func() bool { return len(e.meta.View.Current().Pilots) == 2 })
	owner, err := mc.Owner(ctx, "web", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	pilots := map[string]*Pilot{"p1": p1, "p2": p2}
	other := map[string]string{"p1": "p2", "p2": "p1"}
	own, notOwn := pilots[owner.ID], pilots[other[owner.ID]]
	if owner.XDS != own.Addrs().XDS {
		t.Fatalf("meta says %s is at %s; it serves at %s", owner.ID, owner.XDS, own.Addrs().XDS)
	}

	// The pilot that does not own web redirects at once, before any request.
	s := openADS(t, notOwn.Addrs().XDS, "web")
	if _, err := s.Recv(); err == nil {
		t.Fatal("the other pilot served web")
	} else if to, ok := redirectTo(err); !ok || to != owner.ID {
		t.Fatalf("want a redirect to %s, got %v", owner.ID, err)
	}

	// The owner serves it, and learns that web calls echo.
	s = openADS(t, own.Addrs().XDS, "web")
	node := &core.Node{Id: "web-1", Cluster: "web"}
	for _, k := range []kind{kindCluster, kindEndpoint} {
		if err := s.Send(&discovery.DeltaDiscoveryRequest{Node: node, TypeUrl: typeURLs[k], ResourceNamesSubscribe: []string{"echo"}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		r, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Resources) != 1 {
			t.Fatalf("response %v", r)
		}
		_ = s.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce})
	}
	eventually(t, "web's record lists echo", func() bool {
		svcs := e.meta.View.Current().Apps["web"].Services
		return len(svcs) == 1 && svcs[0] == "echo"
	})
	if n := notOwn.XDS.Stats.ServiceWatches.Load(); n != 0 && len(e.meta.View.Current().Owned(other[owner.ID])) == 0 {
		t.Fatalf("the other pilot watches %d services for no app", n)
	}

	// The owner drains: the stream ends with a redirect to the other
	// pilot, which has preloaded echo before the sidecar arrives.
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	if err := own.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	dcancel()
	_, err = s.Recv()
	if to, ok := redirectTo(err); !ok || to != other[owner.ID] {
		t.Fatalf("after the drain: want a redirect to %s, got %v", other[owner.ID], err)
	}
	eventually(t, "the successor preloads echo", func() bool { return notOwn.XDS.Subscribers("echo") == 0 && notOwn.XDS.Stats.ServiceWatches.Load() >= 1 })
	own.Close()

	// It returns under the same id: web moves back, and the successor
	// redirects its session there.
	s = openADS(t, notOwn.Addrs().XDS, "web")
	if err := s.Send(&discovery.DeltaDiscoveryRequest{Node: node, TypeUrl: typeURLs[kindEndpoint], ResourceNamesSubscribe: []string{"echo"}}); err != nil {
		t.Fatal(err)
	}
	back := e.pilot(owner.ID)
	defer back.Close()
	for { // ACK everything until the stream ends
		var r *discovery.DeltaDiscoveryResponse
		if r, err = s.Recv(); err != nil {
			break
		}
		_ = s.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce})
	}
	if to, ok := redirectTo(err); !ok || to != owner.ID {
		t.Fatalf("after the return: want a redirect to %s, got %v", owner.ID, err)
	}
	if errors.Is(err, io.EOF) {
		t.Fatal("EOF")
	}
	eventually(t, "the successor releases echo", func() bool { return notOwn.XDS.Stats.ServiceWatches.Load() == 0 })
}

// TestBadAppNamesAreRefused: a stream naming a bad app, in its
// x-octomesh-app header or its node.cluster, is refused with
// InvalidArgument naming the field, and nothing is written to etcd for it.
func TestBadAppNamesAreRefused(t *testing.T) {
	e := startShardEnv(t)
	p := e.pilot("p1")
	defer p.Close()
	bad := []string{"", ".", "..", "a/b", "../../etc", "apps/x", strings.Repeat("a", config.MaxNameLength+1), "a\x00b", "a\nb", "a\x1bb", "a b"}
	for _, app := range bad {
		s := openADS(t, p.Addrs().XDS, "") // an empty header is not checked: the node is
		if err := s.Send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: "x-1", Cluster: app}, TypeUrl: typeURLs[kindCluster]}); err != nil {
			t.Fatal(err)
		}
		err := recvErr(s)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "node.cluster") {
			t.Errorf("node.cluster %q: want InvalidArgument naming node.cluster, got %v", app, err)
		}
	}
	// Header values gRPC can carry.
	for _, app := range []string{".", "..", "a/b", "../../etc", strings.Repeat("a", config.MaxNameLength+1), "a b"} {
		s := openADS(t, p.Addrs().XDS, app)
		err := recvErr(s)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), meta.AppHeader) {
			t.Errorf("header %q: want InvalidArgument naming %s, got %v", app, meta.AppHeader, err)
		}
	}
	// A good app is written; once Meta's view has it, it has every app
	// written before it: none of the bad ones.
	s := openADS(t, p.Addrs().XDS, "web")
	if err := s.Send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: "web-1", Cluster: "web"}, TypeUrl: typeURLs[kindCluster]}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web in Meta's view", func() bool { _, ok := e.meta.View.Current().Apps["web"]; return ok })
	for app := range e.meta.View.Current().Apps {
		if app != "web" {
			t.Errorf("app %q was recorded", app)
		}
	}
}

// recvErr waits (up to 30s) for the stream's next message and returns the
// error it ended with, or a note of what came instead.
func recvErr(s discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient) error {
	ch := make(chan error, 1)
	go func() {
		r, err := s.Recv()
		if err == nil {
			err = fmt.Errorf("a %s response", r.GetTypeUrl())
		}
		ch <- err
	}()
	select {
	case err := <-ch:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("no answer in 30s")
	}
}
