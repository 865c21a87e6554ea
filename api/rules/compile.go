package rules

import (
	"fmt"
	"sort"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// Compiled is what documents compile to: the values the pilot reads. Each
// app with caller-side documents has its route rules (stored at
// store.RoutesKey(app)); each service with service-side documents or rules
// of its own has its policy (store.PolicyKey(service)).
type Compiled struct {
	Routes   map[string]*registry.AppRoutes
	Policies map[string]*registry.ServicePolicy
}

// Value returns the compiled value for a notice's (kind, key), nil when no
// document is left for it.
func (c *Compiled) Value(kind, key string) any {
	switch kind {
	case KindRoutes:
		if r, ok := c.Routes[key]; ok {
			return r
		}
	case KindPolicy:
		if p, ok := c.Policies[key]; ok {
			return p
		}
	}
	return nil
}

// Compile combines checked documents (Check) into route rules and
// policies. Caller-side documents of one app with the same match
// (service, method, headers, tags) form one route rule: a Route document
// gives its destination (default: the service), each policy kind fills its
// field; two documents of one kind on one match are refused, naming both.
// Documents without target.app do the same in their service's policy
// (its own rules), beside its service-side documents, one of each kind.
// Rules are ordered by service, method, then the most headers and tags
// first, then their match; every compiled value must pass
// AppRoutes.Validate or ServicePolicy.Validate.
func Compile(docs []Document) (*Compiled, error) {
	sorted := make([]*Document, len(docs))
	for i := range docs {
		sorted[i] = &docs[i]
	}
	// Documents are taken in a fixed order (kind, name), so that which of
	// two clashing documents is named first does not depend on the input.
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Ref() < sorted[j].Ref() })

	type group struct {
		route config.Route
		by    map[string]*Document // kind -> document
		first *Document
	}
	// owner is an app, or (app "") a service for its own rules.
	type owner struct{ app, service string }
	routes := map[owner]map[string]*group{}       // -> match -> group
	services := map[string]map[string]*Document{} // service -> kind -> document (service-side)
	c := &Compiled{Routes: map[string]*registry.AppRoutes{}, Policies: map[string]*registry.ServicePolicy{}}
	for _, d := range sorted {
		info, ok := kinds[d.Kind]
		if !ok {
			return nil, d.errorf("kind", "%s", kindError(d.Kind))
		}
		if info.service {
			byKind := services[d.Target.Service]
			if byKind == nil {
				byKind = map[string]*Document{}
				services[d.Target.Service] = byKind
			}
			if other := byKind[d.Kind]; other != nil {
				return nil, d.errorf("target", "service %s already has a %s: %s; one document of a kind per service", d.Target.Service, d.Kind, other.describe())
			}
			byKind[d.Kind] = d
			if c.Policies[d.Target.Service] == nil {
				c.Policies[d.Target.Service] = &registry.ServicePolicy{}
			}
			info.policy(c.Policies[d.Target.Service], d)
			continue
		}
		o := owner{app: d.Target.App}
		if o.app == "" {
			o.service = d.Target.Service
		}
		groups := routes[o]
		if groups == nil {
			groups = map[string]*group{}
			routes[o] = groups
		}
		m := d.Match()
		g := groups[m]
		if g == nil {
			t := d.Target
			g = &group{route: config.Route{Service: t.Service, Method: t.Method, Headers: t.Headers, Tags: t.Tags}, by: map[string]*Document{}, first: d}
			groups[m] = g
		}
		if other := g.by[d.Kind]; other != nil {
			return nil, d.errorf("target", "%s already sets the %s of this match (%s): one document of a kind per match", other.describe(), d.Kind, d.describeMatch())
		}
		g.by[d.Kind] = d
		info.route(&g.route, d.Spec)
	}
	for o, groups := range routes {
		rules := make([]registry.RouteRule, 0, len(groups))
		for _, g := range groups {
			r := registry.RouteRule(g.route)
			r.Normalize()
			if r.Cluster == "" && len(r.Split) == 0 {
				return nil, g.first.errorf("target.service", `calls to "*" need a Route document giving their cluster (%s)`, g.first.describeMatch())
			}
			rules = append(rules, r)
		}
		sortRules(rules)
		app, service := o.app, o.service
		if app != "" {
			a := &registry.AppRoutes{Routes: rules}
			if err := a.Validate(); err != nil {
				return nil, fmt.Errorf("%w: the rules of app %s: %v", ErrInvalid, app, err)
			}
			c.Routes[app] = a
			continue
		}
		p := c.Policies[service]
		if p == nil {
			p = &registry.ServicePolicy{}
			c.Policies[service] = p
		}
		p.Routes = rules
	}
	for service, p := range c.Policies {
		p.Normalize(service)
		if err := p.Validate(service); err != nil {
			return nil, fmt.Errorf("%w: the policy of service %s: %v", ErrInvalid, service, err)
		}
	}
	return c, nil
}

// sortRules orders rules by service, method, the most headers and tags
// first, then their match: a fixed order, which matters where two rules
// with headers or tags of one (service, method) both match a call (the
// first wins).
func sortRules(rules []registry.RouteRule) {
	sort.Slice(rules, func(i, j int) bool {
		a, b := &rules[i], &rules[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		na, nb := len(a.Headers)+len(a.Tags), len(b.Headers)+len(b.Tags)
		if na != nb {
			return na > nb
		}
		ra, rb := a.Route(), b.Route()
		return ra.MatchKey() < rb.MatchKey()
	})
}
