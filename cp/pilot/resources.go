package pilot

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	fault "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	ratelimit "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	routerfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// kind is one xDS resource type the pilot serves.
type kind uint8

const (
	kindCluster  kind = iota // envoy.config.cluster.v3.Cluster, one per service
	kindEndpoint             // ClusterLoadAssignment, one per service
	kindListener             // Listener, one per service, for proxyless gRPC clients
	kindRoute                // RouteConfiguration, one per app: its route rules
	numKinds
)

var typeURLs = [numKinds]string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType}

var kindNames = [numKinds]string{"cluster", "endpoint", "listener", "route"}

func (k kind) String() string { return kindNames[k] }

func kindOf(typeURL string) (kind, bool) {
	for k, u := range typeURLs {
		if u == typeURL {
			return kind(k), true
		}
	}
	return 0, false
}

// byApp reports whether resources of kind k are named by app (route rules)
// rather than by service.
func (k kind) byApp() bool { return k == kindRoute }

// encoded is one version of one resource, encoded once and shared,
// read-only, by every session that is sent it.
type encoded struct {
	name    string
	version string
	at      time.Time           // when it was made: the change reached the Data Cache
	delta   *discovery.Resource // for delta xDS; Resource is any
	any     *anypb.Any          // for state-of-the-world xDS
}

var marshal = proto.MarshalOptions{Deterministic: true}

// encode marshals msg once; its version is a hash of the bytes, so an
// unchanged resource keeps its version and is not pushed again.
func encode(name string, msg proto.Message) (*encoded, error) {
	b, err := marshal.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("pilot: encode %s: %w", name, err)
	}
	h := fnv.New64a()
	h.Write(b)
	version := hex.EncodeToString(h.Sum(nil))
	a := &anypb.Any{TypeUrl: "type.googleapis.com/" + string(msg.ProtoReflect().Descriptor().FullName()), Value: b}
	return &encoded{name: name, version: version, at: time.Now(), any: a, delta: &discovery.Resource{Name: name, Version: version, Resource: a}}, nil
}

// Defaults of the clusters the pilot makes. The sidecar fills in what
// Envoy's Cluster does not carry (connections per endpoint, request
// timeout) from its own defaults.
const (
	clusterConnectTimeout = time.Second
	panicThresholdPercent = 70
)

// BuildCluster is service's Cluster: endpoints by EDS over ADS, smooth
// round robin, zone- and SET-aware with a 70% panic threshold, and the
// service's policy (nil: none, the sidecar's defaults apply).
func BuildCluster(service string, p *registry.ServicePolicy) (*cluster.Cluster, error) {
	c := &cluster.Cluster{
		Name:                 service,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig: &cluster.Cluster_EdsClusterConfig{
			EdsConfig: &core.ConfigSource{
				ConfigSourceSpecifier: &core.ConfigSource_Ads{Ads: &core.AggregatedConfigSource{}},
				ResourceApiVersion:    core.ApiVersion_V3,
			},
		},
		ConnectTimeout: durationpb.New(clusterConnectTimeout),
		LbPolicy:       cluster.Cluster_ROUND_ROBIN,
		CommonLbConfig: &cluster.Cluster_CommonLbConfig{
			HealthyPanicThreshold:   &typev3.Percent{Value: panicThresholdPercent},
			LocalityConfigSpecifier: &cluster.Cluster_CommonLbConfig_ZoneAwareLbConfig_{ZoneAwareLbConfig: &cluster.Cluster_CommonLbConfig_ZoneAwareLbConfig{}},
		},
	}
	if p == nil {
		return c, nil
	}
	if err := clusterPolicies(c, p); err != nil {
		return nil, err
	}
	return c, nil
}

// MetadataNamespace is the filter_metadata key under which an endpoint's
// registry metadata travels.
const MetadataNamespace = "octomesh"

// buildAssignment is service's ClusterLoadAssignment: one locality per
// (zone, SET), zone as locality.zone and SET as locality.sub_zone. An
// instance of weight 0 is sent DRAINING (Envoy weights start at 1); one
// with a health mark (the scanners found it down) UNHEALTHY, with its
// weight, so that the sidecar's panic threshold can still use it.
func buildAssignment(service string, instances []registry.Instance, marks map[string]registry.HealthMark) *endpoint.ClusterLoadAssignment {
	type loc struct{ zone, set string }
	groups := map[loc]*endpoint.LocalityLbEndpoints{}
	var order []loc
	for _, in := range instances {
		host, port, err := registry.SplitAddress(in.Address)
		if err != nil {
			continue // DecodeInstance validated it
		}
		l := loc{in.Zone, in.Set}
		g := groups[l]
		if g == nil {
			g = &endpoint.LocalityLbEndpoints{Locality: &core.Locality{Zone: in.Zone, SubZone: in.Set}}
			groups[l] = g
			order = append(order, l)
		}
		lbe := &endpoint.LbEndpoint{
			HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{
				Address: &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
					Address:       host,
					PortSpecifier: &core.SocketAddress_PortValue{PortValue: port},
				}}},
			}},
			HealthStatus: core.HealthStatus_HEALTHY,
		}
		if in.Weight == 0 {
			lbe.HealthStatus = core.HealthStatus_DRAINING
		} else {
			lbe.LoadBalancingWeight = wrapperspb.UInt32(in.Weight)
			if _, down := marks[in.Address]; down {
				lbe.HealthStatus = core.HealthStatus_UNHEALTHY
			}
		}
		if len(in.Metadata) > 0 {
			fields := make(map[string]*structpb.Value, len(in.Metadata))
			for k, v := range in.Metadata {
				fields[k] = structpb.NewStringValue(v)
			}
			lbe.Metadata = &core.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataNamespace: {Fields: fields}}}
		}
		g.LbEndpoints = append(g.LbEndpoints, lbe)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].zone != order[j].zone {
			return order[i].zone < order[j].zone
		}
		return order[i].set < order[j].set
	})
	cla := &endpoint.ClusterLoadAssignment{ClusterName: service}
	for _, l := range order {
		g := groups[l]
		var sum uint32
		for _, e := range g.LbEndpoints {
			sum += e.GetLoadBalancingWeight().GetValue()
		}
		// gRPC ignores localities without a weight.
		g.LoadBalancingWeight = wrapperspb.UInt32(max(sum, 1))
		cla.Endpoints = append(cla.Endpoints, g)
	}
	return cla
}

// BuildListener is the Listener a proxyless gRPC client resolves for
// xds:///service: an API listener whose inline routes are the service's
// own rules (ServicePolicy.Routes) with their policies, then a route of
// every other call to the service's cluster. Its HTTP filters are the
// service's authorization as RBAC filters (authz.go; the sidecars that
// serve the service subscribe to this listener for them), the fault filter (configured per route), the local rate limit filter (marked
// optional: gRPC has none and would refuse the listener) and the router.
//
// gRPC ignores HTTPFault.headers, so a fault limited to marked calls is
// its own route: the rule's match plus the fault's headers, with the
// fault, before the rule without it.
func BuildListener(service string, p *registry.ServicePolicy) (*listener.Listener, error) {
	vh := &route.VirtualHost{Name: service, Domains: []string{"*"}}
	catchAll := false
	var rules []config.Route
	if p != nil {
		for i := range p.Routes {
			rules = append(rules, p.Routes[i].Route())
		}
	}
	for _, r := range byPrecedence(rules) {
		match := r.Match()
		if r.Fault != nil && len(r.Fault.Headers) > 0 {
			if marked, ok := withHeaders(match, r.Fault.Headers); ok {
				er, err := buildRoute(&r, marked, true)
				if err != nil {
					return nil, fmt.Errorf("pilot: listener %q: %w", service, err)
				}
				vh.Routes = append(vh.Routes, er)
			}
			r.Fault = nil
		}
		er, err := buildRoute(&r, match, true)
		if err != nil {
			return nil, fmt.Errorf("pilot: listener %q: %w", service, err)
		}
		vh.Routes = append(vh.Routes, er)
		catchAll = catchAll || r.Method == "*" && len(match) == 0
	}
	if !catchAll {
		vh.Routes = append(vh.Routes, &route.Route{
			Name:   service + "/*",
			Match:  &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
			Action: &route.Route_Route{Route: &route.RouteAction{ClusterSpecifier: &route.RouteAction_Cluster{Cluster: service}}},
		})
	}
	filters, err := proxylessFilters()
	if err != nil {
		return nil, err
	}
	if p != nil && len(p.Authorization) > 0 {
		authz, err := rbacFilters(p.Authorization)
		if err != nil {
			return nil, fmt.Errorf("pilot: listener %q: authorization: %w", service, err)
		}
		filters = append(authz, filters...)
	}
	manager, err := anypb.New(&hcm.HttpConnectionManager{
		StatPrefix:     service,
		RouteSpecifier: &hcm.HttpConnectionManager_RouteConfig{RouteConfig: &route.RouteConfiguration{Name: service, VirtualHosts: []*route.VirtualHost{vh}}},
		HttpFilters:    filters,
	})
	if err != nil {
		return nil, err
	}
	return &listener.Listener{Name: service, ApiListener: &listener.ApiListener{ApiListener: manager}}, nil
}

// withHeaders adds headers to a sorted match; false if one of them asks
// for another value of a key the match has (no call could match both).
func withHeaders(match [][2]string, headers map[string]string) ([][2]string, bool) {
	out := append([][2]string(nil), match...)
	have := map[string]string{}
	for _, kv := range match {
		have[kv[0]] = kv[1]
	}
	for k, v := range headers {
		if cur, ok := have[k]; ok {
			if cur != v {
				return nil, false
			}
			continue
		}
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, true
}

// proxylessFilters is the HTTP filter chain of the proxyless listener.
func proxylessFilters() ([]*hcm.HttpFilter, error) {
	faultCfg, err := anypb.New(&fault.HTTPFault{})
	if err != nil {
		return nil, err
	}
	rateCfg, err := anypb.New(&ratelimit.LocalRateLimit{StatPrefix: rateLimitStatPrefix})
	if err != nil {
		return nil, err
	}
	router, err := anypb.New(&routerfilter.Router{})
	if err != nil {
		return nil, err
	}
	return []*hcm.HttpFilter{
		{Name: FaultFilter, ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: faultCfg}},
		{Name: RateLimitFilter, ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: rateCfg}, IsOptional: true},
		{Name: routerFilter, ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: router}},
	}, nil
}

// BuildRouteConfiguration is app's RouteConfiguration for its sidecars: one
// virtual host per called service (domain: the service, or "*"), one route
// per rule, with its policies. Routes are ordered as they take precedence
// (an exact method before "*", then a route with headers or tags before
// one without), as Envoy matches in order. Rules are passed on as given,
// duplicates included: the sidecar is the judge of what it can apply.
func BuildRouteConfiguration(app string, routes []config.Route) (*route.RouteConfiguration, error) {
	rc := &route.RouteConfiguration{Name: app}
	hosts := map[string]*route.VirtualHost{}
	for _, r := range byPrecedence(routes) {
		vh := hosts[r.Service]
		if vh == nil {
			vh = &route.VirtualHost{Name: r.Service, Domains: []string{r.Service}}
			hosts[r.Service] = vh
			rc.VirtualHosts = append(rc.VirtualHosts, vh)
		}
		er, err := buildRoute(&r, r.Match(), false)
		if err != nil {
			return nil, fmt.Errorf("pilot: app %q: %w", app, err)
		}
		vh.Routes = append(vh.Routes, er)
	}
	return rc, nil
}

// byPrecedence returns routes in the order Envoy must try them: an exact
// method before "*", then a route with headers or tags before one
// without; otherwise as given.
func byPrecedence(routes []config.Route) []config.Route {
	out := append([]config.Route(nil), routes...)
	rank := func(r *config.Route) int {
		n := 0
		if r.Method == "*" {
			n += 2
		}
		if len(r.Headers)+len(r.Tags) == 0 {
			n++
		}
		return n
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(&out[i]) < rank(&out[j]) })
	return out
}

// buildRoutes is app's RouteConfiguration from its stored rules.
func buildRoutes(app string, rules []registry.RouteRule) (*route.RouteConfiguration, error) {
	routes := make([]config.Route, len(rules))
	for i := range rules {
		routes[i] = rules[i].Route()
	}
	return BuildRouteConfiguration(app, routes)
}
