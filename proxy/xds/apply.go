package xds

import (
	"fmt"
	"sort"

	"github.com/octomesh/octomesh/config"
)

// desired computes the cluster set and the managed listener's routes from
// the state: the static clusters and routes; every pilot cluster that has
// both its settings and its endpoints; the app's route rules whose clusters
// (split and mirror included) are all live; and for each subscribed service
// with a live cluster and no rule of its own, a route of all its methods to
// it. A static route wins over a rule with the same match.
func (c *Client) desired(s *state, subs map[string]bool) ([]config.Cluster, []config.Route) {
	clusters := append([]config.Cluster(nil), c.opts.StaticClusters...)
	live := map[string]bool{}
	for _, cc := range clusters {
		live[cc.Name] = true
	}
	names := make([]string, 0, len(s.clusters))
	for name := range s.clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		eps, ok := s.endpoints[name]
		if !ok || live[name] {
			continue // warming (no assignment yet), or shadowed by a static cluster
		}
		cc := s.clusters[name]
		cc.Endpoints = eps
		clusters = append(clusters, cc)
		live[name] = true
	}
	routes := append([]config.Route(nil), c.opts.StaticRoutes...)
	taken := map[string]bool{}
	for i := range routes {
		taken[routes[i].MatchKey()] = true
	}
	ruled := map[string]bool{}
	for i := range s.rules {
		r := &s.rules[i]
		ruled[r.Service] = true
		if k := r.MatchKey(); allLive(r, live) && !taken[k] {
			taken[k] = true
			routes = append(routes, *r)
		}
	}
	for _, name := range names {
		r := config.NewRoute(name)
		r.Service = name
		if k := r.MatchKey(); subs[name] && live[name] && !ruled[name] && !taken[k] {
			taken[k] = true
			routes = append(routes, r)
		}
	}
	return clusters, routes
}

// allLive reports whether every cluster the route sends calls to (its
// cluster or split, and its mirror) is live.
func allLive(r *config.Route, live map[string]bool) bool {
	for _, name := range r.Clusters() {
		if !live[name] {
			return false
		}
	}
	return true
}

// apply brings the target from what it holds (s.clusterSet, s.routes) to
// what s asks for: clusters added and changed first (removed ones kept),
// then the routes, then the cluster set without the removed ones. If a
// step fails the target is put back as it was.
func (c *Client) apply(s *state, subs map[string]bool) error {
	clusters, routes := c.desired(s, subs)
	oldClusters := s.clusterSet
	union := append([]config.Cluster(nil), clusters...)
	in := map[string]bool{}
	for _, cc := range clusters {
		in[cc.Name] = true
	}
	removing := false
	for _, cc := range oldClusters {
		if !in[cc.Name] {
			union = append(union, cc)
			removing = true
		}
	}
	if err := c.target.ApplyClusters(union); err != nil {
		return fmt.Errorf("clusters: %w", err)
	}
	if err := c.target.ApplyRoutes(c.opts.Listener, routes); err != nil {
		if rerr := c.target.ApplyClusters(oldClusters); rerr != nil {
			c.log.Error("xds: cannot restore the clusters after a failed update", "err", rerr)
		}
		return fmt.Errorf("routes: %w", err)
	}
	if removing {
		if err := c.target.ApplyClusters(clusters); err != nil {
			// Not expected: no route uses them any more. The extra
			// clusters stay until the next update.
			c.log.Error("xds: cannot remove clusters", "err", err)
			clusters = union
		}
	}
	s.clusterSet, s.routes = clusters, routes
	return nil
}

func isStatic(static []config.Cluster, name string) bool {
	for _, cc := range static {
		if cc.Name == name {
			return true
		}
	}
	return false
}

// routedServices lists the services that have a route of their own.
func routedServices(routes []config.Route) map[string]bool {
	m := make(map[string]bool, len(routes))
	for _, r := range routes {
		if r.Service != "*" {
			m[r.Service] = true
		}
	}
	return m
}

// authorizationOf lists the pushed rule sets of the services listener l
// takes them for (Options.Authorization), in the order given there.
func (c *Client) authorizationOf(l string, authz map[string][]config.AuthzPolicy) []config.AuthzPolicy {
	var out []config.AuthzPolicy
	for _, s := range c.opts.Authorization[l] {
		out = append(out, authz[s]...)
	}
	return out
}

// applyAuthorization gives each inbound listener of Options.Authorization
// the pushed rule sets of its services (authz), in a fixed order; if one
// refuses them, those already changed get prev's back.
func (c *Client) applyAuthorization(authz, prev map[string][]config.AuthzPolicy) error {
	listeners := sortedKeys(c.opts.Authorization)
	for i, l := range listeners {
		if err := c.target.ApplyAuthorization(l, c.authorizationOf(l, authz)); err != nil {
			for _, done := range listeners[:i] {
				if rerr := c.target.ApplyAuthorization(done, c.authorizationOf(done, prev)); rerr != nil {
					c.log.Error("xds: cannot restore a listener's authorization after a failed update", "listener", done, "err", rerr)
				}
			}
			return fmt.Errorf("listener %s: authorization: %w", l, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
