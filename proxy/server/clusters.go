package server

import (
	"time"

	"fmt"
	"reflect"
	"sort"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/lb"
	"github.com/octomesh/octomesh/proxy/downstream"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/router"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// clusterSet is an immutable map of the live clusters, replaced as a whole.
type clusterSet map[string]*clusterEntry

type clusterEntry struct {
	cfg config.Cluster
	c   *upstream.Cluster
}

// buildCluster creates a cluster; a problem names the field it is in.
func (s *Server) buildCluster(cc config.Cluster) (*upstream.Cluster, *config.FieldError) {
	if fe := cc.Check(); fe != nil {
		return nil, fe
	}
	bal, err := lb.Get(cc.Balancer)
	if err != nil {
		return nil, &config.FieldError{Field: "balancer", Msg: err.Error()}
	}
	opts := lb.Options{LocalZone: s.cfg.Node.Zone, LocalSet: s.cfg.Node.Set}
	if cc.Locality != nil {
		bal = lb.Locality(bal)
		opts.PanicThreshold = cc.Locality.PanicThreshold
	}
	breaker, budget := config.NewCircuitBreaker(), config.NewRetryBudget()
	if cc.CircuitBreaker != nil {
		breaker = *cc.CircuitBreaker
	}
	if cc.RetryBudget != nil {
		budget = *cc.RetryBudget
	}
	c, err := upstream.NewCluster(upstream.ClusterConfig{
		Name: cc.Name, Balancer: bal, LBOpts: opts, HashKey: cc.HashKey,
		ConnsPerEndpoint: cc.ConnectionsPerEndpoint, MaxRequestsPerConn: cc.MaxRequestsPerConnection,
		ConnectTimeout: cc.ConnectTimeout.Std(), IdleTimeout: cc.IdleTimeout.Std(), Transport: s.clusterTransportOptions(cc),
		Sweeper: s.sweeper,
		Breaker: breaker, Budget: budget, Outlier: cc.OutlierDetection,
	}, endpointConfigs(cc.Endpoints), &s.upstream, &s.transport)
	if err != nil {
		return nil, &config.FieldError{Field: "endpoints", Msg: err.Error()}
	}
	return c, nil
}

func endpointConfigs(eps []config.Endpoint) []upstream.EndpointConfig {
	out := make([]upstream.EndpointConfig, 0, len(eps))
	for _, e := range eps {
		network, address, _ := config.ParseAddress(e.Address) // checked by Cluster.Check
		out = append(out, upstream.EndpointConfig{Network: network, Address: address, Weight: e.Weight, Zone: e.Zone, Set: e.Set, Metadata: e.Metadata, Unhealthy: e.Unhealthy})
	}
	return out
}

// sameSettings reports whether two cluster configs differ only in endpoints.
func sameSettings(a, b config.Cluster) bool {
	a.Endpoints, b.Endpoints = nil, nil
	return reflect.DeepEqual(a, b)
}

// ApplyClusters makes the live cluster set equal to clusters. A cluster
// whose settings are unchanged keeps its connections and only gets the new
// endpoints; a changed one is rebuilt and the old one drains. Removing a
// cluster that a route still uses is refused: apply the routes first. On
// error nothing changes.
func (s *Server) ApplyClusters(clusters []config.Cluster) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	old := *s.clusters.Load()
	next := make(clusterSet, len(clusters))
	var built []*upstream.Cluster
	fail := func(err error) error {
		for _, c := range built {
			c.Close()
		}
		return err
	}
	for _, cc := range clusters {
		if next[cc.Name] != nil {
			return fail(fmt.Errorf("cluster %q given twice", cc.Name))
		}
		if e := old[cc.Name]; e != nil && sameSettings(e.cfg, cc) {
			if fe := cc.Check(); fe != nil {
				return fail(fmt.Errorf("cluster %q: %v", cc.Name, fe))
			}
			next[cc.Name] = &clusterEntry{cfg: cc, c: e.c} // endpoints applied below
			continue
		}
		c, fe := s.buildCluster(cc)
		if fe != nil {
			return fail(fmt.Errorf("cluster %q: %v", cc.Name, fe))
		}
		built = append(built, c)
		s.built.Add(1 + int64(len(cc.Endpoints)))
		next[cc.Name] = &clusterEntry{cfg: cc, c: c}
	}
	for _, l := range s.listeners {
		for _, r := range *l.routes.Load() {
			for _, name := range r.Clusters() {
				if next[name] == nil {
					return fail(fmt.Errorf("cluster %q is still used by listener %s", name, l.name))
				}
			}
		}
	}
	// Tables first, so no request meets a closed cluster.
	tables := make([]*router.Table[*downstream.Route], len(s.listeners))
	for i, l := range s.listeners {
		s.state.Begin(l.name)
		t, fe := s.routeTable(l, *l.routes.Load(), next)
		if fe != nil {
			return fail(fmt.Errorf("listener %s: %v", l.name, fe))
		}
		tables[i] = t
	}
	for name, e := range next {
		if prev := old[name]; prev != nil && prev.c == e.c {
			if err := e.c.Update(endpointConfigs(e.cfg.Endpoints)); err != nil {
				return fail(fmt.Errorf("cluster %q: %v", name, err)) // checked above; not expected
			}
		}
	}
	s.clusters.Store(&next)
	for i, l := range s.listeners {
		l.dl.Routes.Store(tables[i])
		s.state.End(l.name)
	}
	for name, e := range old {
		if n := next[name]; n == nil || n.c != e.c {
			s.retire(e.c)
		}
	}
	return nil
}

// retire lets a cluster that no route uses any more finish its requests;
// the sweeper closes it once drained.
func (s *Server) retire(c *upstream.Cluster) {
	_ = c.Update(nil)
	s.retiring = append(s.retiring, c)
}

// ApplyRoutes replaces the routes of the named listener. Every route must
// name a live cluster.
func (s *Server) ApplyRoutes(listener string, routes []config.Route) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	l := s.listener(listener)
	if l == nil {
		return fmt.Errorf("no listener %q", listener)
	}
	set := *s.clusters.Load()
	if fe := config.CheckRoutes(routes, set.names()); fe != nil {
		return fmt.Errorf("listener %s: %v", listener, fe)
	}
	s.state.Begin(l.name)
	t, fe := s.routeTable(l, routes, set)
	if fe != nil {
		return fmt.Errorf("listener %s: %v", listener, fe)
	}
	routes = append([]config.Route(nil), routes...)
	l.routes.Store(&routes)
	l.dl.Routes.Store(t)
	s.state.End(l.name)
	return nil
}

func (s *Server) listener(name string) *listener {
	for _, l := range s.listeners {
		if l.name == name {
			return l
		}
	}
	return nil
}

func (set clusterSet) names() map[string]bool {
	m := make(map[string]bool, len(set))
	for n := range set {
		m[n] = true
	}
	return m
}

// routeTable builds listener l's route table from routes against the
// cluster set: each route with its filter chain (l.chain) and forwarder. A
// problem names the field relative to the listener ("routes[2].fault").
// The caller brackets it with s.state.Begin and, once the table is live,
// End.
func (s *Server) routeTable(l *listener, routes []config.Route, set clusterSet) (*router.Table[*downstream.Route], *config.FieldError) {
	refs := make(map[string]downstream.ClusterRef, len(set))
	for name, e := range set {
		refs[name] = downstream.ClusterRef{C: e.c, RequestTimeout: e.cfg.RequestTimeout.Std()}
	}
	env := &downstream.Env{Sidecar: &s.sidecar, Clusters: refs, Registry: s.filters, Chain: l.chain,
		Filters: &filter.Env{Listener: l.name, Counters: &s.counters, State: &s.state, Authorization: l.authorization()}}
	rs := make([]router.Route[*downstream.Route], 0, len(routes))
	for i := range routes {
		r := &routes[i]
		rt, fe := downstream.NewRoute(r, env)
		if fe != nil {
			return nil, &config.FieldError{Field: fmt.Sprintf("routes[%d].%s", i, fe.Field), Msg: fe.Msg}
		}
		rs = append(rs, router.Route[*downstream.Route]{Service: r.Service, Method: r.Method, Match: r.Match(), Target: rt})
	}
	t, err := router.NewTable(rs)
	if err != nil {
		return nil, &config.FieldError{Field: "routes", Msg: err.Error()}
	}
	return t, nil
}

// healthy answers a health probe (a scanner's, or a peer sidecar's): this
// sidecar can serve its app when, for every listener that peers call
// (TCP), some cluster its routes use has an endpoint that takes calls, and
// the app behind them answers (appCheck, cached).
func (s *Server) healthy() bool {
	if s.draining.Load() {
		return false
	}
	if !s.app.healthy() {
		return false
	}
	set := *s.clusters.Load()
	for _, l := range s.listeners {
		if l.appFacing {
			continue
		}
		ok := false
		for _, r := range *l.routes.Load() {
			for _, name := range r.Clusters() {
				if e := set[name]; e != nil && e.c.Serviceable() {
					ok = true
				}
			}
		}
		if !ok && len(*l.routes.Load()) > 0 {
			return false
		}
	}
	return true
}

// ClusterNames lists the live clusters, sorted.
func (s *Server) ClusterNames() []string {
	set := *s.clusters.Load()
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sweepClusters times out requests in the clusters that have some in
// flight and closes drained clusters. It returns when to sweep again (the
// request path's clock, upstream.Now): the earliest deadline left, soon
// while a cluster drains, upstream.NoDeadline with nothing to time.
func (s *Server) sweepClusters() (next time.Duration) {
	next = s.sweeper.Sweep()
	if !s.applyMu.TryLock() {
		return upstream.Now() // an apply is running; soon again
	}
	defer s.applyMu.Unlock()
	kept := s.retiring[:0]
	for _, c := range s.retiring {
		c.Sweep()
		if c.Drained() {
			c.Close()
			continue
		}
		kept = append(kept, c)
	}
	clear(s.retiring[len(kept):])
	s.retiring = kept
	if len(kept) > 0 {
		next = min(next, upstream.Now())
	}
	return next
}

func (s *Server) closeClusters() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if p := s.clusters.Load(); p != nil {
		for _, e := range *p {
			e.c.Close()
		}
	}
	for _, c := range s.retiring {
		c.Close()
	}
	s.retiring = nil
}

// fieldErrorf reports a static-config problem at its place in the file.
func (s *Server) fieldErrorf(prefix string, fe *config.FieldError) error {
	return s.cfg.Errorf(prefix+"."+fe.Field, "%s", fe.Msg)
}
