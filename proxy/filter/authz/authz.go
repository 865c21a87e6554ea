package authz

import (
	"fmt"
	"strings"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/filter"
)

// Def is the authz filter. A listener with rule sets configures it for all
// its routes.
var Def = filter.Def{
	Name:       "authz",
	Counters:   []string{"authz.allowed", "authz.denied"},
	Configured: func(_ *config.Route, env *filter.Env) bool { return len(env.Authorization) > 0 },
	Build:      build,
}

func build(_ *config.Route, env *filter.Env) (filter.Middleware, *config.FieldError) {
	if fe := config.CheckAuthorization(env.Authorization); fe != nil {
		return nil, &config.FieldError{Field: "authz: " + fe.Field, Msg: fe.Msg}
	}
	// Every route of the listener shares one compiled table.
	key := fmt.Sprintf("authz %+v", env.Authorization)
	t := env.State.Keep(env.Listener, key, func() any { return Compile(env.Listener, env.Authorization) }).(*Table)
	allowed, denied := env.Counters.Get("authz.allowed"), env.Counters.Get("authz.denied")
	return func(next filter.Handler) filter.Handler {
		return filter.HandlerFunc(func(r *filter.Request) {
			rs := t.services[string(r.Header.Service)]
			if rs == nil {
				next.Serve(r)
				return
			}
			if rs.allows(r.Peer, r.Header.Method) {
				allowed.Add(1)
				next.Serve(r)
				return
			}
			denied.Add(1)
			r.Reject(codec.KindPermissionDenied, t.message(rs, r))
		})
	}, nil
}

// Table is a listener's compiled rule sets; read-only once built.
type Table struct {
	listener string
	services map[string]*ruleSet
}

type ruleSet struct {
	name     string
	service  string
	rules    []rule
	hasAllow bool
}

type rule struct {
	deny      bool
	anyCaller bool
	ids       map[string]bool // whole identities
	apps      map[string]bool // app names, of any trust domain
	methods   map[string]bool // nil: any
}

// Compile builds the table of a listener's rule sets (already checked).
func Compile(listener string, ps []config.AuthzPolicy) *Table {
	t := &Table{listener: listener, services: make(map[string]*ruleSet, len(ps))}
	for _, p := range ps {
		rs := &ruleSet{name: p.Name, service: p.Service}
		for _, cr := range p.Rules {
			r := rule{deny: cr.Action == config.ActionDeny, ids: map[string]bool{}, apps: map[string]bool{}}
			for _, f := range cr.From {
				switch {
				case f == "*":
					r.anyCaller = true
				case strings.HasPrefix(f, "spiffe://"):
					r.ids[f] = true
				default:
					r.apps[f] = true
				}
			}
			for _, m := range cr.Methods {
				if m == "*" {
					r.methods = nil
					break
				}
				if r.methods == nil {
					r.methods = map[string]bool{}
				}
				r.methods[m] = true
			}
			rs.hasAllow = rs.hasAllow || !r.deny
			rs.rules = append(rs.rules, r)
		}
		t.services[p.Service] = rs
	}
	return t
}

// Allows reports whether peer may call service's method (for tests and
// tools; the filter does the same without allocating).
func (t *Table) Allows(peer, service, method string) bool {
	rs := t.services[service]
	return rs == nil || rs.allows(peer, []byte(method))
}

// allows applies the rule set: a matching deny refuses; otherwise a
// matching allow admits, and without any allow rule every call is
// admitted.
func (rs *ruleSet) allows(peer string, method []byte) bool {
	app := appOf(peer)
	allowed := !rs.hasAllow
	for i := range rs.rules {
		r := &rs.rules[i]
		if !r.matches(peer, app, method) {
			continue
		}
		if r.deny {
			return false
		}
		allowed = true
	}
	return allowed
}

func (r *rule) matches(peer, app string, method []byte) bool {
	if r.methods != nil && !r.methods[string(method)] {
		return false
	}
	if r.anyCaller {
		return true
	}
	if peer == "" {
		return false // no certificate: only "*" matches
	}
	return r.ids[peer] || r.apps[app]
}

// appOf is the app of an identity spiffe://<td>/app/<app> (the transport
// verified its form), or "".
func appOf(peer string) string {
	if i := strings.LastIndex(peer, "/app/"); i >= 0 {
		return peer[i+len("/app/"):]
	}
	return ""
}

// message is what a denied caller is told (made only for a denial).
func (t *Table) message(rs *ruleSet, r *filter.Request) string {
	caller := r.Peer
	if caller == "" {
		caller = "(no certificate: a plain connection)"
	}
	return fmt.Sprintf("octomesh: permission denied: caller %s may not call %s method %q (rule set %s of listener %s)",
		caller, rs.service, r.Header.Method, rs.name, t.listener)
}
