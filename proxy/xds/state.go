package xds

import (
	"fmt"
	"hash/fnv"
	"sort"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/config"
)

// state is what the pilot sent that the sidecar applied.
type state struct {
	clusters  map[string]config.Cluster    // settings by service
	endpoints map[string][]config.Endpoint // by service
	rules     []config.Route               // the app's route rules; nil: none
	versions  [numKinds]map[string]string  // held resource versions
	absent    map[string]bool              // subscribed services the pilot says do not exist
	// authz holds the pushed rule sets by service (Options.Authorization),
	// nil for a service without rules.
	authz map[string][]config.AuthzPolicy
	// clusterTLS is given to every cluster the pilot sends
	// (Options.ClusterTLS).
	clusterTLS *config.TLS
	// applied is what Target holds now.
	clusterSet []config.Cluster
	routes     []config.Route
}

// newState is the state before the pilot has sent anything: the target
// holds the static clusters and routes.
func newState(static []config.Cluster, routes []config.Route, clusterTLS *config.TLS) state {
	s := state{clusters: map[string]config.Cluster{}, endpoints: map[string][]config.Endpoint{}, absent: map[string]bool{}, authz: map[string][]config.AuthzPolicy{},
		clusterTLS: clusterTLS}
	for k := range s.versions {
		s.versions[k] = map[string]string{}
	}
	s.clusterSet = append([]config.Cluster(nil), static...)
	s.routes = append([]config.Route(nil), routes...)
	return s
}

// clone copies s deeply enough that a change to the copy leaves s alone.
func (s *state) clone() state {
	c := *s
	c.clusters = cloneMap(s.clusters)
	c.endpoints = cloneMap(s.endpoints)
	c.absent = cloneMap(s.absent)
	c.authz = cloneMap(s.authz)
	for k := range s.versions {
		c.versions[k] = cloneMap(s.versions[k])
	}
	return c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// version names the state by a hash of the resource versions it holds.
func (s *state) version() string {
	h := fnv.New64a()
	for k := range s.versions {
		names := make([]string, 0, len(s.versions[k]))
		for name := range s.versions[k] {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			fmt.Fprintf(h, "%d/%s=%s;", k, name, s.versions[k][name])
		}
	}
	return fmt.Sprintf("xds-%016x", h.Sum64())
}

// put records one resource of kind k; served lists the services whose
// Listeners were subscribed to.
func (s *state) put(k int, r *discovery.Resource, app string, served map[string]bool) error {
	name := r.GetName()
	switch k {
	case kCluster:
		var m cluster.Cluster
		if err := unmarshal(r, &m); err != nil {
			return err
		}
		if m.GetName() != name {
			return fmt.Errorf("resource %q holds cluster %q", name, m.GetName())
		}
		cc, err := translateCluster(&m)
		if err != nil {
			return err
		}
		cc.TLS = s.clusterTLS
		s.clusters[name] = cc
		delete(s.absent, name)
	case kEndpoint:
		var m endpoint.ClusterLoadAssignment
		if err := unmarshal(r, &m); err != nil {
			return err
		}
		if m.GetClusterName() != name {
			return fmt.Errorf("resource %q holds the assignment of %q", name, m.GetClusterName())
		}
		eps, err := translateEndpoints(&m)
		if err != nil {
			return err
		}
		s.endpoints[name] = eps
	case kRoute:
		if name != app {
			return fmt.Errorf("route configuration %q was not subscribed to (this node's app is %q)", name, app)
		}
		var m route.RouteConfiguration
		if err := unmarshal(r, &m); err != nil {
			return err
		}
		rules, err := translateRoutes(&m)
		if err != nil {
			return fmt.Errorf("route configuration %q: %v", name, err)
		}
		s.rules = rules
		if s.rules == nil {
			s.rules = []config.Route{}
		}
	case kListener:
		if !served[name] {
			return fmt.Errorf("listener %q was not subscribed to (no listeners[].authorization_from_pilot names it)", name)
		}
		var m listener.Listener
		if err := unmarshal(r, &m); err != nil {
			return err
		}
		ps, err := translateAuthorization(name, &m)
		if err != nil {
			return err
		}
		s.authz[name] = ps
	}
	s.versions[k][name] = r.GetVersion()
	return nil
}

// remove records that resource name of kind k is gone (or never existed).
func (s *state) remove(k int, name string, subscribed bool) {
	delete(s.versions[k], name)
	switch k {
	case kCluster:
		delete(s.clusters, name)
		if subscribed {
			s.absent[name] = true
		}
	case kEndpoint:
		delete(s.endpoints, name)
	case kRoute:
		s.rules = nil
	case kListener:
		// The pilot removes a service's Listener when the service has no
		// instance left: for a sidecar that serves it, a passing state
		// (its registration lapsed). Its rule sets stay in force until
		// the pilot sends the Listener again.
	}
}

func unmarshal(r *discovery.Resource, m proto.Message) error {
	if r.GetResource() == nil {
		return fmt.Errorf("resource %q has no body", r.GetName())
	}
	if err := r.GetResource().UnmarshalTo(m); err != nil {
		return fmt.Errorf("resource %q: %v", r.GetName(), err)
	}
	return nil
}
