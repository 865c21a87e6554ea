package dispatcher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
)

var quiet = slog.New(slog.DiscardHandler)

// testLog is quiet unless OM_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("OM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return quiet
}

// startEtcd starts an embedded etcd the test owns (so that restarting a
// dispatcher does not restart the registry).
func startEtcd(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{DataDir: t.TempDir(), Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func startDispatcher(t *testing.T, o dispatcher.Options) *dispatcher.Dispatcher {
	t.Helper()
	if o.APIAddress == "" {
		o.APIAddress = "127.0.0.1:0"
	}
	if o.NATSAddress == "" && o.NATSURL == "" {
		o.NATSAddress = "127.0.0.1:0"
	}
	if o.Log == nil {
		o.Log = testLog()
	}
	d, err := dispatcher.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func startPilot(t *testing.T, st *store.Store, natsURL, id string) *pilot.Pilot {
	t.Helper()
	o := pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{st.Endpoints()}, NATSURL: natsURL, Log: testLog()}
	if id != "" {
		o.Shard = &pilot.ShardOptions{ID: id, LeaseTTL: 2 * time.Second}
	}
	p, err := pilot.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// writeRoutes is putRoutes for a goroutine of the test's own.
func writeRoutes(st *store.Store, app, cluster string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.PutRoutes(ctx, app, []byte(fmt.Sprintf(`{"routes":[{"service":"echo","cluster":%q}]}`, cluster))); err != nil {
		return 0, err
	}
	v, err := st.Read(ctx, store.RoutesKey(app))
	return v.ModRevision, err
}

// putRoutes stores app's rules: every call to echo goes to cluster, and
// returns the write's revision.
func putRoutes(t *testing.T, st *store.Store, app, cluster string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.PutRoutes(ctx, app, []byte(fmt.Sprintf(`{"routes":[{"service":"echo","cluster":%q}]}`, cluster))); err != nil {
		t.Fatal(err)
	}
	v, err := st.Read(ctx, store.RoutesKey(app))
	if err != nil {
		t.Fatal(err)
	}
	return v.ModRevision
}

func addApp(t testing.TB, st *store.Store, app string, services ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := st.Modify(ctx, shardmap.AppKey(app), func(old []byte) ([]byte, bool) { return shardmap.AddServices(old, services) }); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sidecar is a fake sidecar of one app: a delta ADS stream subscribed to
// the app's RouteConfiguration, following redirects, reconnecting, and
// recording the cluster of the app's first rule as last received.
type sidecar struct {
	app     string
	mu      sync.Mutex
	addr    string // the pilot it talks to (host:port)
	pilots  []string
	conns   int
	cluster string
	cancel  context.CancelFunc
	done    chan struct{}
}

func startSidecar(t *testing.T, app, addr string) *sidecar {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sidecar{app: app, addr: strings.TrimPrefix(addr, "tcp://"), cancel: cancel, done: make(chan struct{})}
	go s.run(ctx)
	t.Cleanup(func() { cancel(); <-s.done })
	return s
}

func (s *sidecar) state() (cluster, addr string, conns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cluster, s.addr, s.conns
}

func (s *sidecar) run(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		s.mu.Lock()
		addr := s.addr
		s.mu.Unlock()
		err := s.stream(ctx, addr)
		if owner, ok := meta.RedirectOf(err); ok {
			s.mu.Lock()
			s.addr = strings.TrimPrefix(owner.XDS, "tcp://")
			s.mu.Unlock()
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *sidecar) stream(ctx context.Context, addr string) error {
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	sctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx, meta.AppHeader, s.app))
	defer cancel()
	st, err := discovery.NewAggregatedDiscoveryServiceClient(cc).DeltaAggregatedResources(sctx)
	if err != nil {
		return err
	}
	if err := st.Send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: "sc-" + s.app, Cluster: s.app},
		TypeUrl: resource.RouteType, ResourceNamesSubscribe: []string{s.app}}); err != nil {
		return err
	}
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		for _, r := range resp.Resources {
			var rc route.RouteConfiguration
			if err := r.Resource.UnmarshalTo(&rc); err != nil {
				return err
			}
			cluster := ""
			if vh := rc.GetVirtualHosts(); len(vh) > 0 && len(vh[0].GetRoutes()) > 0 {
				cluster = vh[0].GetRoutes()[0].GetRoute().GetCluster()
			}
			s.mu.Lock()
			s.cluster = cluster
			s.mu.Unlock()
		}
		if err := st.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: resp.TypeUrl, ResponseNonce: resp.Nonce}); err != nil {
			return err
		}
	}
}

// held asks pilot subject what it holds (the back-check's question).
func held(t *testing.T, natsURL, subject string) rules.Held {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return rules.Held{}
	}
	defer nc.Close()
	var h rules.Held
	m, err := nc.Request(rules.RevisionsSubject(subject), nil, 2*time.Second)
	if err != nil || json.Unmarshal(m.Data, &h) != nil {
		return rules.Held{}
	}
	return h
}

func httpDo(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
