package xds

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/octomesh/octomesh/config"
)

// metadataNamespace is the filter_metadata key the pilot puts an
// endpoint's registry metadata (and a cluster's octomesh settings) under.
const metadataNamespace = "octomesh"

// translateCluster turns an Envoy Cluster into a cluster's settings (its
// endpoints come from the ClusterLoadAssignment). What the sidecar cannot
// honour is an error, so that the update is NACKed rather than half
// applied.
func translateCluster(c *cluster.Cluster) (config.Cluster, error) {
	if err := c.Validate(); err != nil {
		return config.Cluster{}, err
	}
	cc := config.NewCluster(c.GetName())
	if err := config.CheckName(cc.Name); err != nil {
		return cc, fmt.Errorf("cluster %q: %v", c.GetName(), err)
	}
	if t := c.GetType(); c.GetClusterType() != nil || t != cluster.Cluster_EDS {
		return cc, fmt.Errorf("cluster %q: type %s: only EDS clusters are supported", cc.Name, t)
	}
	switch src := c.GetEdsClusterConfig().GetEdsConfig(); {
	case src.GetAds() != nil, src.GetSelf() != nil:
	default:
		return cc, fmt.Errorf("cluster %q: endpoints must come over ADS (eds_config: {ads: {}})", cc.Name)
	}
	if c.GetLoadAssignment() != nil {
		return cc, fmt.Errorf("cluster %q: an inline load_assignment is not supported with EDS", cc.Name)
	}
	switch c.GetLbPolicy() {
	case cluster.Cluster_ROUND_ROBIN:
		cc.Balancer = "round_robin"
	case cluster.Cluster_LEAST_REQUEST:
		cc.Balancer = "p2c_peak_ewma"
	case cluster.Cluster_RING_HASH:
		cc.Balancer = "ring_hash"
	case cluster.Cluster_MAGLEV:
		cc.Balancer = "maglev"
	default:
		return cc, fmt.Errorf("cluster %q: lb_policy %s is not supported (ROUND_ROBIN, LEAST_REQUEST, RING_HASH, MAGLEV)", cc.Name, c.GetLbPolicy())
	}
	if d := c.GetConnectTimeout(); d != nil {
		cc.ConnectTimeout = config.Duration(d.AsDuration())
	}
	if common := c.GetCommonLbConfig(); common.GetZoneAwareLbConfig() != nil || common.GetLocalityWeightedLbConfig() != nil {
		loc := &config.Locality{PanicThreshold: 0.7}
		if p := common.GetHealthyPanicThreshold(); p != nil {
			loc.PanicThreshold = p.GetValue() / 100
		}
		cc.Locality = loc
	}
	if err := translateClusterPolicies(c, &cc); err != nil {
		return cc, fmt.Errorf("cluster %q: %v", cc.Name, err)
	}
	if fe := cc.Check(); fe != nil {
		return cc, fmt.Errorf("cluster %q: %v", cc.Name, fe)
	}
	return cc, nil
}

// translateEndpoints turns a ClusterLoadAssignment into endpoints: zone
// from locality.zone, SET from locality.sub_zone, weight from
// load_balancing_weight (default 1); an endpoint that is not HEALTHY or
// UNKNOWN gets weight 0 (kept, but out of balancing).
func translateEndpoints(cla *endpoint.ClusterLoadAssignment) ([]config.Endpoint, error) {
	if err := cla.Validate(); err != nil {
		return nil, err
	}
	var out []config.Endpoint
	seen := map[string]bool{}
	for _, g := range cla.GetEndpoints() {
		if g.GetPriority() != 0 {
			return nil, fmt.Errorf("assignment %q: priorities are not supported", cla.GetClusterName())
		}
		for _, lbe := range g.GetLbEndpoints() {
			addr, err := endpointAddress(lbe.GetEndpoint().GetAddress())
			if err != nil {
				return nil, fmt.Errorf("assignment %q: %v", cla.GetClusterName(), err)
			}
			if seen[addr] {
				return nil, fmt.Errorf("assignment %q: endpoint %s listed twice", cla.GetClusterName(), addr)
			}
			seen[addr] = true
			e := config.NewEndpoint(addr)
			e.Zone, e.Set = g.GetLocality().GetZone(), g.GetLocality().GetSubZone()
			if w := lbe.GetLoadBalancingWeight(); w != nil {
				e.Weight = w.GetValue()
			}
			switch lbe.GetHealthStatus() {
			case core.HealthStatus_UNKNOWN, core.HealthStatus_HEALTHY:
			case core.HealthStatus_UNHEALTHY:
				e.Unhealthy = true // weight kept: the panic threshold may use it
			default:
				e.Weight = 0
			}
			if f := lbe.GetMetadata().GetFilterMetadata()[metadataNamespace].GetFields(); len(f) > 0 {
				e.Metadata = make(map[string]string, len(f))
				for k, v := range f {
					e.Metadata[k] = v.GetStringValue()
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func endpointAddress(a *core.Address) (string, error) {
	if p := a.GetPipe(); p != nil {
		addr := "unix://" + p.GetPath()
		if _, _, err := config.ParseAddress(addr); err != nil {
			return "", err
		}
		return addr, nil
	}
	sa := a.GetSocketAddress()
	if sa == nil || sa.GetAddress() == "" || sa.GetPortValue() == 0 {
		return "", fmt.Errorf("endpoint address %v: want a socket address with a port, or a pipe", a)
	}
	if sa.GetProtocol() != core.SocketAddress_TCP {
		return "", fmt.Errorf("endpoint %s: only TCP is supported", sa.GetAddress())
	}
	addr := net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
	if _, _, err := config.ParseAddress(addr); err != nil {
		return "", err
	}
	return addr, nil
}

// translateRoutes turns an app's RouteConfiguration into routes: each
// virtual host domain is a service ("*" for any), each route's match a
// method (path "/Method", or prefix "/" or "" for any) with exact header
// matches, its action one cluster or weighted clusters with the route's
// policies (policy.go). The routes are checked as a config file's are:
// two routes with the same match are an error.
func translateRoutes(rc *route.RouteConfiguration) ([]config.Route, error) {
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	var out []config.Route
	var where []string
	clusters := map[string]bool{}
	for _, vh := range rc.GetVirtualHosts() {
		for _, domain := range vh.GetDomains() {
			if domain != "*" {
				if err := config.CheckName(domain); err != nil {
					return nil, fmt.Errorf("virtual host %q: domain: %v", vh.GetName(), err)
				}
			}
			for i, r := range vh.GetRoutes() {
				at := fmt.Sprintf("virtual host %q: routes[%d]", vh.GetName(), i)
				cr, err := translateRoute(r)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", at, err)
				}
				cr.Service = domain
				for _, name := range cr.Clusters() {
					clusters[name] = true
				}
				out = append(out, cr)
				where = append(where, at)
			}
		}
	}
	if fe := config.CheckRoutes(out, clusters); fe != nil {
		var j int
		if _, err := fmt.Sscanf(fe.Field, "routes[%d]", &j); err != nil || j >= len(where) {
			return nil, fe
		}
		field := strings.TrimPrefix(strings.TrimPrefix(fe.Field, fmt.Sprintf("routes[%d]", j)), ".")
		if field != "" {
			field += ": "
		}
		return nil, fmt.Errorf("%s: %s%s", where[j], field, fe.Msg)
	}
	return out, nil
}

func translateRoute(r *route.Route) (config.Route, error) {
	cr := config.NewRoute("")
	m := r.GetMatch()
	if len(m.GetQueryParameters()) > 0 || m.GetRuntimeFraction() != nil || m.GetGrpc() != nil ||
		m.GetTlsContext() != nil || len(m.GetDynamicMetadata()) > 0 || len(m.GetFilterState()) > 0 || m.GetCaseSensitive() != nil {
		return cr, fmt.Errorf("match: only path and prefix matches with exact header matches are supported")
	}
	switch {
	case m.GetPath() != "":
		cr.Method = strings.TrimPrefix(m.GetPath(), "/")
		if err := config.CheckName(cr.Method); err != nil || !strings.HasPrefix(m.GetPath(), "/") {
			return cr, fmt.Errorf("path %q: want /<method>", m.GetPath())
		}
	case m.GetPathSpecifier() == nil, m.GetPrefix() == "/", m.GetPrefix() == "":
		if _, ok := m.GetPathSpecifier().(*route.RouteMatch_Prefix); !ok && m.GetPathSpecifier() != nil {
			return cr, fmt.Errorf("only path and prefix matches are supported")
		}
	default:
		return cr, fmt.Errorf("match %v: want path /<method> or prefix /", m)
	}
	var err error
	if cr.Headers, cr.Tags, err = translateHeaders(m.GetHeaders(), "match.headers"); err != nil {
		return cr, err
	}
	a := r.GetRoute()
	if a == nil {
		return cr, fmt.Errorf("the action must route to one cluster or to weighted_clusters")
	}
	if err := translateAction(a, &cr); err != nil {
		return cr, err
	}
	if err := translateFilters(r, &cr); err != nil {
		return cr, err
	}
	return cr, nil
}
