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

	"github.com/octomesh/octomesh/cp/registry"
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

// buildCluster is service's Cluster: endpoints by EDS over ADS, smooth
// round robin, zone- and SET-aware with a 70% panic threshold.
func buildCluster(service string) *cluster.Cluster {
	return &cluster.Cluster{
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
}

// MetadataNamespace is the filter_metadata key under which an endpoint's
// registry metadata travels.
const MetadataNamespace = "octomesh"

// buildAssignment is service's ClusterLoadAssignment: one locality per
// (zone, SET), zone as locality.zone and SET as locality.sub_zone. An
// instance of weight 0 is sent DRAINING (Envoy weights start at 1).
func buildAssignment(service string, instances []registry.Instance) *endpoint.ClusterLoadAssignment {
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

// buildListener is the Listener a proxyless gRPC client resolves for
// xds:///service: an API listener whose one route sends every call to the
// service's cluster.
func buildListener(service string) (*listener.Listener, error) {
	router, err := anypb.New(&routerfilter.Router{})
	if err != nil {
		return nil, err
	}
	manager, err := anypb.New(&hcm.HttpConnectionManager{
		StatPrefix: service,
		RouteSpecifier: &hcm.HttpConnectionManager_RouteConfig{RouteConfig: &route.RouteConfiguration{
			Name: service,
			VirtualHosts: []*route.VirtualHost{{
				Name:    service,
				Domains: []string{"*"},
				Routes: []*route.Route{{
					Match:  &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
					Action: &route.Route_Route{Route: &route.RouteAction{ClusterSpecifier: &route.RouteAction_Cluster{Cluster: service}}},
				}},
			}},
		}},
		HttpFilters: []*hcm.HttpFilter{{Name: "router", ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: router}}},
	})
	if err != nil {
		return nil, err
	}
	return &listener.Listener{Name: service, ApiListener: &listener.ApiListener{ApiListener: manager}}, nil
}

// buildRoutes is app's RouteConfiguration: one virtual host per called
// service (domain: the service name, or "*"), one route per rule: path
// "/<method>" for a method, prefix "/" for any; exact methods first, as
// Envoy matches in order. Rules are passed on as stored, duplicates
// included: the sidecar is the judge of what it can apply.
func buildRoutes(app string, rules []registry.RouteRule) *route.RouteConfiguration {
	rc := &route.RouteConfiguration{Name: app}
	hosts := map[string]*route.VirtualHost{}
	for _, r := range rules {
		vh := hosts[r.Service]
		if vh == nil {
			vh = &route.VirtualHost{Name: r.Service, Domains: []string{r.Service}}
			hosts[r.Service] = vh
			rc.VirtualHosts = append(rc.VirtualHosts, vh)
		}
		m := &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}}
		if r.Method != "*" {
			m.PathSpecifier = &route.RouteMatch_Path{Path: "/" + r.Method}
		}
		action := &route.RouteAction{ClusterSpecifier: &route.RouteAction_Cluster{Cluster: r.Cluster}}
		if r.Timeout > 0 {
			action.Timeout = durationpb.New(r.Timeout.Std())
		}
		vh.Routes = append(vh.Routes, &route.Route{Name: r.Service + "/" + r.Method, Match: m, Action: &route.Route_Route{Route: action}})
	}
	for _, vh := range rc.VirtualHosts {
		sort.SliceStable(vh.Routes, func(i, j int) bool {
			return vh.Routes[i].Match.GetPath() != "" && vh.Routes[j].Match.GetPath() == ""
		})
	}
	return rc
}
