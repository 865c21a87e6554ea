package xds

import (
	"fmt"
	"strings"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func edsCluster(name string) *cluster.Cluster {
	return &cluster.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig:     &cluster.Cluster_EdsClusterConfig{EdsConfig: &core.ConfigSource{ConfigSourceSpecifier: &core.ConfigSource_Ads{Ads: &core.AggregatedConfigSource{}}}},
		ConnectTimeout:       durationpb.New(250 * time.Millisecond),
		CommonLbConfig: &cluster.Cluster_CommonLbConfig{
			HealthyPanicThreshold:   &typev3.Percent{Value: 50},
			LocalityConfigSpecifier: &cluster.Cluster_CommonLbConfig_ZoneAwareLbConfig_{ZoneAwareLbConfig: &cluster.Cluster_CommonLbConfig_ZoneAwareLbConfig{}},
		},
	}
}

func lbEndpoint(host string, port uint32) *endpoint.LbEndpoint {
	return &endpoint.LbEndpoint{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Address: &core.Address{
		Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{Address: host, PortSpecifier: &core.SocketAddress_PortValue{PortValue: port}}}}}}}
}

func assignment(name string, eps ...*endpoint.LbEndpoint) *endpoint.ClusterLoadAssignment {
	return &endpoint.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpoint.LocalityLbEndpoints{{
		Locality: &core.Locality{Zone: "z1", SubZone: "set-a"}, LbEndpoints: eps}}}
}

func routeTo(domain, method, clusterName string) *route.VirtualHost {
	m := &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}}
	if method != "*" {
		m.PathSpecifier = &route.RouteMatch_Path{Path: "/" + method}
	}
	return &route.VirtualHost{Name: domain, Domains: []string{domain}, Routes: []*route.Route{{Match: m,
		Action: &route.Route_Route{Route: &route.RouteAction{ClusterSpecifier: &route.RouteAction_Cluster{Cluster: clusterName}}}}}}
}

func TestTranslateCluster(t *testing.T) {
	cc, err := translateCluster(edsCluster("echo"))
	if err != nil {
		t.Fatal(err)
	}
	if cc.Name != "echo" || cc.Balancer != "round_robin" || cc.ConnectTimeout.Std() != 250*time.Millisecond ||
		cc.Locality == nil || cc.Locality.PanicThreshold != 0.5 || cc.ConnectionsPerEndpoint != 2 {
		t.Fatalf("%+v", cc)
	}
	hashed := edsCluster("echo")
	hashed.LbPolicy = cluster.Cluster_MAGLEV
	hashed.Metadata = &core.Metadata{FilterMetadata: map[string]*structpb.Struct{"octomesh": {Fields: map[string]*structpb.Value{"hash_key": structpb.NewStringValue("user")}}}}
	if cc, err := translateCluster(hashed); err != nil || cc.Balancer != "maglev" || cc.HashKey != "user" {
		t.Fatalf("maglev: %+v %v", cc, err)
	}
	bad := []struct {
		change func(*cluster.Cluster)
		want   string
	}{
		{func(c *cluster.Cluster) { c.ClusterDiscoveryType = &cluster.Cluster_Type{Type: cluster.Cluster_STATIC} }, "only EDS clusters"},
		{func(c *cluster.Cluster) { c.EdsClusterConfig = nil }, "endpoints must come over ADS"},
		{func(c *cluster.Cluster) { c.LbPolicy = cluster.Cluster_RANDOM }, "lb_policy RANDOM is not supported"},
		{func(c *cluster.Cluster) { c.Name = "a/b" }, `cluster "a/b": name "a/b" has '/'`},
		{func(c *cluster.Cluster) { c.Name = "" }, "Name: value length must be at least 1"},
	}
	for _, tc := range bad {
		c := edsCluster("echo")
		tc.change(c)
		if _, err := translateCluster(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestTranslateEndpoints(t *testing.T) {
	drained := lbEndpoint("10.0.0.2", 7000)
	drained.HealthStatus = core.HealthStatus_DRAINING
	drained.LoadBalancingWeight = wrapperspb.UInt32(4)
	weighted := lbEndpoint("::1", 7000)
	weighted.LoadBalancingWeight = wrapperspb.UInt32(3)
	weighted.Metadata = &core.Metadata{FilterMetadata: map[string]*structpb.Struct{"octomesh": {Fields: map[string]*structpb.Value{"v": structpb.NewStringValue("2")}}}}
	down := lbEndpoint("10.0.0.3", 7000)
	down.HealthStatus = core.HealthStatus_UNHEALTHY
	down.LoadBalancingWeight = wrapperspb.UInt32(2)
	eps, err := translateEndpoints(assignment("echo", lbEndpoint("10.0.0.1", 7000), drained, weighted, down))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(eps)
	// UNHEALTHY (a scanner's mark) keeps its weight for the panic
	// threshold; DRAINING has none.
	want := "[{10.0.0.1:7000 1 z1 set-a map[] false} {10.0.0.2:7000 0 z1 set-a map[] false} {[::1]:7000 3 z1 set-a map[v:2] false} {10.0.0.3:7000 2 z1 set-a map[] true}]"
	if got != want {
		t.Fatalf("endpoints\n got %s\nwant %s", got, want)
	}
	if _, err := translateEndpoints(assignment("echo", lbEndpoint("10.0.0.1", 7000), lbEndpoint("10.0.0.1", 7000))); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := translateEndpoints(assignment("echo", lbEndpoint("10.0.0.1", 0))); err == nil {
		t.Error("port 0 accepted")
	}
	pipe := func(path string) *endpoint.LbEndpoint {
		return &endpoint.LbEndpoint{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Address: &core.Address{
			Address: &core.Address_Pipe{Pipe: &core.Pipe{Path: path}}}}}}
	}
	if eps, err := translateEndpoints(assignment("echo", pipe("/run/app.sock"))); err != nil || eps[0].Address != "unix:///run/app.sock" {
		t.Errorf("pipe: %+v %v", eps, err)
	}
	// A path longer than a Unix socket allows was accepted here and
	// refused only when the clusters were applied (seen while writing
	// FuzzTranslateEndpoints, whose check that what translates passes
	// Cluster.Check covers it).
	if _, err := translateEndpoints(assignment("echo", pipe("/"+strings.Repeat("x", 120)))); err == nil || !strings.Contains(err.Error(), "longer than the 107 bytes") {
		t.Errorf("long pipe path: %v", err)
	}
}

func TestTranslateRoutes(t *testing.T) {
	slow := routeTo("echo", "Slow", "echo-v2")
	slow.Routes[0].GetRoute().Timeout = durationpb.New(10 * time.Second)
	rc := &route.RouteConfiguration{Name: "web", VirtualHosts: []*route.VirtualHost{slow, routeTo("*", "*", "fallback")}}
	rc.VirtualHosts[0].Routes = append(rc.VirtualHosts[0].Routes, routeTo("echo", "*", "echo").Routes[0])
	routes, err := translateRoutes(rc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range routes {
		got = append(got, fmt.Sprintf("%s/%s>%s %v", r.Service, r.Method, r.Cluster, r.Timeout.Std()))
	}
	if strings.Join(got, ", ") != "echo/Slow>echo-v2 10s, echo/*>echo 0s, */*>fallback 0s" {
		t.Fatalf("routes %v", got)
	}
	bad := []struct {
		vh   *route.VirtualHost
		want string
	}{
		{&route.VirtualHost{Name: "d", Domains: []string{"echo"}, Routes: append(routeTo("echo", "*", "a").Routes, routeTo("echo", "*", "b").Routes...)},
			`routes[1]: another route already matches service "echo" method "*"`},
		{routeTo("*.example", "*", "a"), `domain: name "*.example"`},
		{func() *route.VirtualHost {
			vh := routeTo("echo", "*", "a")
			vh.Routes[0].Match.Headers = []*route.HeaderMatcher{{Name: "x"}}
			return vh
		}(), `match.headers[0]: header "x": only exact string matches`},
		{func() *route.VirtualHost {
			vh := routeTo("echo", "*", "a")
			vh.Routes[0].GetRoute().ClusterSpecifier = &route.RouteAction_WeightedClusters{WeightedClusters: &route.WeightedCluster{
				Clusters: []*route.WeightedCluster_ClusterWeight{{Name: "a"}}}}
			return vh
		}(), "route.weighted_clusters.clusters[0].weight: missing"},
		{func() *route.VirtualHost {
			vh := routeTo("echo", "*", "a")
			vh.Routes[0].GetRoute().ClusterSpecifier = &route.RouteAction_ClusterHeader{ClusterHeader: "x-cluster"}
			return vh
		}(), "must route to one cluster or to weighted_clusters"},
		{func() *route.VirtualHost {
			vh := routeTo("echo", "*", "a")
			vh.Routes[0].Match.PathSpecifier = &route.RouteMatch_Prefix{Prefix: "/Ec"}
			return vh
		}(), "want path /<method> or prefix /"},
	}
	for _, tc := range bad {
		if _, err := translateRoutes(&route.RouteConfiguration{Name: "web", VirtualHosts: []*route.VirtualHost{tc.vh}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
