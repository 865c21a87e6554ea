package filter

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/stats"
)

// Def is a filter as the registry knows it.
type Def struct {
	// Name is what a listener's filters list calls it.
	Name string
	// Counters names the counters the filter keeps in Env.Counters, so that
	// /stats and /metrics show them, at 0, before it first counts.
	Counters []string
	// Configured reports whether a route sets the filter's policy, or its
	// listener does for all its routes (env).
	Configured func(route *config.Route, env *Env) bool
	// Build returns the filter's middleware for a route that configures it
	// (Configured is true). A problem with the route's settings is a
	// FieldError relative to the route ("rate_limit.burst").
	Build func(route *config.Route, env *Env) (Middleware, *config.FieldError)
}

// Registry holds the filters a sidecar knows, by name, in their default
// order. It is built once, at start, and read-only after.
type Registry struct {
	defs   []Def
	byName map[string]int
}

// NewRegistry registers defs in their default chain order. A name given
// twice, or empty, is an error.
func NewRegistry(defs ...Def) (*Registry, error) {
	g := &Registry{byName: map[string]int{}}
	for _, d := range defs {
		if d.Name == "" || d.Build == nil || d.Configured == nil {
			return nil, fmt.Errorf("filter: a filter needs a name, Configured and Build (got %q)", d.Name)
		}
		if _, dup := g.byName[d.Name]; dup {
			return nil, fmt.Errorf("filter: %q registered twice", d.Name)
		}
		g.byName[d.Name] = len(g.defs)
		g.defs = append(g.defs, d)
	}
	return g, nil
}

// Names lists the registered filters in their default order.
func (g *Registry) Names() []string {
	out := make([]string, len(g.defs))
	for i, d := range g.defs {
		out[i] = d.Name
	}
	return out
}

// CounterNames lists the counters of every registered filter.
func (g *Registry) CounterNames() []string {
	var out []string
	for _, d := range g.defs {
		out = append(out, d.Counters...)
	}
	return out
}

// Chain is the ordered filters of one listener.
type Chain []Def

// Chain resolves a listener's filters list; nil or empty means every
// registered filter in the default order. An unknown or repeated name is
// an error naming its place in the list ("filters[1]").
func (g *Registry) Chain(names []string) (Chain, *config.FieldError) {
	if len(names) == 0 {
		return Chain(g.defs), nil
	}
	out := make(Chain, 0, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		f := fmt.Sprintf("filters[%d]", i)
		j, ok := g.byName[n]
		if !ok {
			known := g.Names()
			sort.Strings(known)
			return nil, &config.FieldError{Field: f, Msg: fmt.Sprintf("unknown filter %q (known: %s)", n, strings.Join(known, ", "))}
		}
		if seen[n] {
			return nil, &config.FieldError{Field: f, Msg: fmt.Sprintf("filter %q is in the chain twice", n)}
		}
		seen[n] = true
		out = append(out, g.defs[j])
	}
	return out, nil
}

// Has reports whether the chain holds the filter named name.
func (c Chain) Has(name string) bool {
	for _, d := range c {
		if d.Name == name {
			return true
		}
	}
	return false
}

// Build returns route's handler: the chain's filters that the route
// configures, in chain order, in front of last. A route that configures a
// filter the registry knows but this chain leaves out is an error, as is a
// filter's own objection to the route's settings; both name the field
// relative to the route.
func (c Chain) Build(g *Registry, route *config.Route, env *Env, last Handler) (Handler, *config.FieldError) {
	in := map[string]bool{}
	for _, d := range c {
		in[d.Name] = true
	}
	for _, d := range g.defs {
		if !in[d.Name] && d.Configured(route, env) {
			return nil, &config.FieldError{Field: d.Name, Msg: fmt.Sprintf("the listener's filters leave out %q, so this setting would do nothing", d.Name)}
		}
	}
	h := last
	for i := len(c) - 1; i >= 0; i-- {
		d := c[i]
		if !d.Configured(route, env) {
			continue
		}
		mw, fe := d.Build(route, env)
		if fe != nil {
			return nil, fe
		}
		h = mw(h)
	}
	return h, nil
}

// Env is what a filter's Build may use besides the route.
type Env struct {
	// Listener names the listener the route belongs to.
	Listener string
	// Counters are the sidecar's named counters (shown on /stats and
	// /metrics); the same name always gives the same counter.
	Counters *Counters
	// State keeps a filter's state (a rate limiter's buckets) across
	// rebuilds of the route table that leave its settings unchanged.
	State *State
	// Authorization is the listener's rule sets by service (the authz
	// filter's settings, the same for every route of the listener).
	Authorization []config.AuthzPolicy
}

// Counters is a set of named counters that lives as long as the sidecar.
type Counters struct {
	mu sync.Mutex
	m  map[string]*stats.Counter
}

// Get returns the counter named name, creating it at 0.
func (c *Counters) Get(name string) *stats.Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*stats.Counter{}
	}
	if x := c.m[name]; x != nil {
		return x
	}
	x := new(stats.Counter)
	c.m[name] = x
	return x
}

// Each calls f for every counter.
func (c *Counters) Each(f func(name string, value uint64)) {
	c.mu.Lock()
	names := make([]string, 0, len(c.m))
	for n := range c.m {
		names = append(names, n)
	}
	c.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		f(n, c.Get(n).Load())
	}
}

// State keeps values across rebuilds of a listener's route table. A
// rebuild calls Begin, its filters Keep what they use, and, once the new
// table is live, End drops what the rebuild did not keep.
type State struct {
	mu  sync.Mutex
	gen map[string]uint64 // listener -> current rebuild
	m   map[string]*kept
}

type kept struct {
	listener string
	gen      uint64
	v        any
}

// Begin starts a rebuild of listener's table.
func (s *State) Begin(listener string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == nil {
		s.gen, s.m = map[string]uint64{}, map[string]*kept{}
	}
	s.gen[listener]++
}

// Keep returns the value kept under key for listener, making it with mk
// when there is none. key must say everything the value depends on (the
// route's match and the filter's settings).
func (s *State) Keep(listener, key string, mk func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == nil {
		s.gen, s.m = map[string]uint64{}, map[string]*kept{}
	}
	k := listener + "\x00" + key
	e := s.m[k]
	if e == nil {
		e = &kept{listener: listener, v: mk()}
		s.m[k] = e
	}
	e.gen = s.gen[listener]
	return e.v
}

// End drops the values of listener that the rebuild since Begin did not
// keep.
func (s *State) End(listener string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.m {
		if e.listener == listener && e.gen != s.gen[listener] {
			delete(s.m, k)
		}
	}
}

// Len is the number of values kept.
func (s *State) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
