package xds

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/octomesh/octomesh/config"
)

// fakeTarget checks the orders the real server enforces: no cluster a
// route uses may leave, no route may name a cluster that is not live.
type fakeTarget struct {
	mu       sync.Mutex
	clusters map[string]config.Cluster
	routes   []config.Route
	calls    []string
	version  string
	failNext error
	authz    map[string][]config.AuthzPolicy
}

func (f *fakeTarget) ApplyClusters(cs []config.Cluster) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := []string{}
	next := map[string]config.Cluster{}
	for _, c := range cs {
		next[c.Name] = c
		names = append(names, c.Name)
	}
	f.calls = append(f.calls, "clusters "+strings.Join(names, ","))
	for _, r := range f.routes {
		for _, name := range r.Clusters() {
			if _, ok := next[name]; !ok {
				return fmt.Errorf("cluster %q is still used", name)
			}
		}
	}
	f.clusters = next
	return nil
}

func (f *fakeTarget) ApplyRoutes(listener string, rs []config.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, r := range rs {
		names = append(names, r.Service+"/"+r.Method+">"+r.Cluster)
	}
	f.calls = append(f.calls, listener+" "+strings.Join(names, ","))
	if f.failNext != nil {
		err := f.failNext
		f.failNext = nil
		return err
	}
	for _, r := range rs {
		for _, name := range r.Clusters() {
			if _, ok := f.clusters[name]; !ok {
				return fmt.Errorf("unknown cluster %q", name)
			}
		}
	}
	f.routes = rs
	return nil
}

func (f *fakeTarget) SetConfigVersion(v string) { f.version = v }

func (f *fakeTarget) takeCalls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := strings.Join(f.calls, " | ")
	f.calls = nil
	return s
}

func response(typeURL string, removed []string, msgs ...proto.Message) *discovery.DeltaDiscoveryResponse {
	r := &discovery.DeltaDiscoveryResponse{TypeUrl: typeURL, RemovedResources: removed}
	for i, m := range msgs {
		a, err := anypb.New(m)
		if err != nil {
			panic(err)
		}
		name := ""
		switch m := m.(type) {
		case *cluster.Cluster:
			name = m.Name
		case *endpoint.ClusterLoadAssignment:
			name = m.ClusterName
		case *route.RouteConfiguration:
			name = m.Name
		case *listener.Listener:
			name = m.Name
		}
		r.Resources = append(r.Resources, &discovery.Resource{Name: name, Version: fmt.Sprint("v", i), Resource: a})
	}
	return r
}

func newTestClient(t *testing.T, target Target) *Client {
	t.Helper()
	static := config.NewCluster("local-app")
	static.Endpoints = []config.Endpoint{config.NewEndpoint("unix:///tmp/app.sock")}
	c, err := New(Options{Pilot: "127.0.0.1:1", NodeID: "n", App: "web", Listener: "outbound", SubscribeWait: 50 * time.Millisecond,
		MaxSubscriptions: 3, ReconnectMax: time.Second, StaticClusters: []config.Cluster{static},
		StaticRoutes: []config.Route{{Service: "local", Method: "*", Cluster: "local-app"}}}, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (f *fakeTarget) ApplyAuthorization(listener string, ps []config.AuthzPolicy) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.authz == nil {
		f.authz = map[string][]config.AuthzPolicy{}
	}
	f.calls = append(f.calls, fmt.Sprintf("authz %s %d", listener, len(ps)))
	f.authz[listener] = ps
	return nil
}
