package xds

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacconfig "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/octomesh/octomesh/config"
)

// Authorization pushed by the pilot: the RBAC HTTP filters of a service's
// Listener (cp/pilot/authz.go writes them; docs/control-plane.md has the
// table) read back into the service's rule set. Only the RBAC filters are
// read: the listener's routes and other filters are for proxyless gRPC
// clients (a sidecar follows its app's route rules). Whatever in them the
// sidecar cannot enforce exactly is an error naming the listener and the
// field, and the response is NACKed.

var (
	rbacTypeURL = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
	// The forms the pilot writes (cp/pilot.AppPrincipalRegex,
	// MethodPathRegex).
	appPrincipalPrefix, appPrincipalSuffix = "^spiffe://[^/]+/app/", "$"
	methodPathPrefix, methodPathSuffix     = "^/[^/]+/", "$"
	policyNameRE                           = regexp.MustCompile(`^(.+)/rules\[(\d+)\]$`)
)

// translateAuthorization reads the rule set of service from its Listener:
// nil when the listener has no RBAC filter (or only empty ones).
func translateAuthorization(service string, l *listener.Listener) ([]config.AuthzPolicy, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if l.GetName() != service {
		return nil, fmt.Errorf("resource %q holds listener %q", service, l.GetName())
	}
	errorf := func(field, format string, args ...any) error {
		return fmt.Errorf("listener %q: %s: %s", service, field, fmt.Sprintf(format, args...))
	}
	api := l.GetApiListener().GetApiListener()
	if api == nil {
		return nil, errorf("api_listener", "missing: the service's rules travel in an API listener's HTTP connection manager")
	}
	var m hcm.HttpConnectionManager
	if err := api.UnmarshalTo(&m); err != nil {
		return nil, errorf("api_listener", "%v", err)
	}
	var rules []indexedRule
	setName := ""
	seen := map[rbacconfig.RBAC_Action]bool{}
	for i, f := range m.GetHttpFilters() {
		field := fmt.Sprintf("http_filters[%d]", i)
		if f.GetConfigDiscovery() != nil {
			return nil, errorf(field+".config_discovery", "filter %q: discovered filter configs are not supported (its rules could not be read)", f.GetName())
		}
		cfg := f.GetTypedConfig()
		if cfg.GetTypeUrl() != rbacTypeURL {
			continue
		}
		var r rbac.RBAC
		if err := cfg.UnmarshalTo(&r); err != nil {
			return nil, errorf(field, "%v", err)
		}
		if err := r.Validate(); err != nil {
			return nil, errorf(field, "%v", err)
		}
		switch {
		case r.GetMatcher() != nil:
			return nil, errorf(field+".matcher", "RBAC matchers are not supported: give rules")
		case r.GetShadowRules() != nil || r.GetShadowMatcher() != nil:
			return nil, errorf(field+".shadow_rules", "shadow rules are not supported")
		case r.GetRules() == nil:
			continue // no rules: Envoy enforces nothing
		}
		rs := r.GetRules()
		action := rs.GetAction()
		switch action {
		case rbacconfig.RBAC_ALLOW, rbacconfig.RBAC_DENY:
		default:
			return nil, errorf(field+".rules.action", "%s is not supported (ALLOW or DENY)", action)
		}
		if rs.GetAuditLoggingOptions() != nil {
			return nil, errorf(field+".rules.audit_logging_options", "not supported")
		}
		if seen[action] {
			return nil, errorf(field+".rules.action", "a second %s filter: the rule set is one DENY filter and one ALLOW filter", action)
		}
		seen[action] = true
		if action == rbacconfig.RBAC_ALLOW && len(rs.GetPolicies()) == 0 {
			return nil, errorf(field+".rules.policies", `an ALLOW filter without policies refuses every call: write it as a deny rule from "*"`)
		}
		names := make([]string, 0, len(rs.GetPolicies()))
		for name := range rs.GetPolicies() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			pf := fmt.Sprintf("%s.rules.policies[%q]", field, name)
			sm := policyNameRE.FindStringSubmatch(name)
			if sm == nil {
				return nil, errorf(pf, "a policy is named <rule set>/rules[<index>]")
			}
			if setName == "" {
				setName = sm[1]
			} else if sm[1] != setName {
				return nil, errorf(pf, "rule set %q beside %q: a service has one rule set", sm[1], setName)
			}
			idx, err := strconv.Atoi(sm[2])
			if err != nil {
				return nil, errorf(pf, "index %q: %v", sm[2], err)
			}
			rule, fe := translatePolicy(rs.GetPolicies()[name], action == rbacconfig.RBAC_DENY)
			if fe != nil {
				return nil, errorf(pf+"."+fe.field, "%s", fe.msg)
			}
			rules = append(rules, indexedRule{idx, name, rule})
		}
	}
	if len(rules) == 0 {
		return nil, nil
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].index < rules[j].index })
	p := config.AuthzPolicy{Name: setName, Service: service}
	for i, r := range rules {
		if r.index != i {
			return nil, errorf(fmt.Sprintf("policies[%q]", r.name), "rule %d of rule set %q is missing or given twice (indexes run from 0 without gaps)", i, setName)
		}
		p.Rules = append(p.Rules, r.rule)
	}
	if err := config.CheckName(setName); err != nil {
		return nil, errorf("policies", "rule set name: %v", err)
	}
	out := []config.AuthzPolicy{p}
	if fe := config.CheckAuthorization(out); fe != nil {
		return nil, errorf(strings.Replace(fe.Field, "authorization[0]", "rule set "+setName, 1), "%s", fe.Msg)
	}
	return out, nil
}

type indexedRule struct {
	index int
	name  string
	rule  config.AuthzRule
}

type fieldErr struct{ field, msg string }

// translatePolicy reads one policy: its principals are the rule's
// callers, its permissions its methods.
func translatePolicy(p *rbacconfig.Policy, deny bool) (config.AuthzRule, *fieldErr) {
	r := config.AuthzRule{Action: config.ActionAllow}
	if deny {
		r.Action = config.ActionDeny
	}
	switch {
	case p.GetCondition() != nil || p.GetCheckedCondition() != nil:
		return r, &fieldErr{"condition", "conditions (CEL) are not supported"}
	case p.GetCelConfig() != nil:
		return r, &fieldErr{"cel_config", "not supported"}
	case len(p.GetPrincipals()) == 0:
		return r, &fieldErr{"principals", "missing"}
	case len(p.GetPermissions()) == 0:
		return r, &fieldErr{"permissions", "missing"}
	}
	for i, pr := range p.GetPrincipals() {
		from, fe := principals(pr, fmt.Sprintf("principals[%d]", i))
		if fe != nil {
			return r, fe
		}
		r.From = append(r.From, from...)
	}
	if containsStar(r.From) {
		r.From = []string{"*"}
	}
	for i, pm := range p.GetPermissions() {
		methods, fe := permissions(pm, fmt.Sprintf("permissions[%d]", i))
		if fe != nil {
			return r, fe
		}
		if methods == nil {
			r.Methods = nil // any method
			return r, nil
		}
		r.Methods = append(r.Methods, methods...)
	}
	return r, nil
}

func containsStar(s []string) bool {
	for _, v := range s {
		if v == "*" {
			return true
		}
	}
	return false
}

// principals reads a principal as callers: any ("*"), an authenticated
// peer's URI SAN matched exactly (an identity) or by the pilot's regex of
// an app name, or one of those (or_ids).
func principals(p *rbacconfig.Principal, field string) ([]string, *fieldErr) {
	switch id := p.GetIdentifier().(type) {
	case *rbacconfig.Principal_Any:
		if id.Any {
			return []string{"*"}, nil
		}
	case *rbacconfig.Principal_OrIds:
		var out []string
		for i, sub := range id.OrIds.GetIds() {
			from, fe := principals(sub, fmt.Sprintf("%s.or_ids.ids[%d]", field, i))
			if fe != nil {
				return nil, fe
			}
			out = append(out, from...)
		}
		return out, nil
	case *rbacconfig.Principal_Authenticated_:
		f := field + ".authenticated.principal_name"
		m := id.Authenticated.GetPrincipalName()
		if m == nil {
			return nil, &fieldErr{f, "missing: any authenticated peer cannot be expressed (list identities or apps, or any)"}
		}
		if m.GetIgnoreCase() {
			return nil, &fieldErr{f + ".ignore_case", "identities are matched exactly"}
		}
		switch pat := m.GetMatchPattern().(type) {
		case *matcher.StringMatcher_Exact:
			if !strings.HasPrefix(pat.Exact, "spiffe://") {
				return nil, &fieldErr{f + ".exact", fmt.Sprintf("%q is not an identity spiffe://<trust-domain>/app/<app>", pat.Exact)}
			}
			return []string{pat.Exact}, nil
		case *matcher.StringMatcher_SafeRegex:
			app, ok := unquoteRegex(pat.SafeRegex.GetRegex(), appPrincipalPrefix, appPrincipalSuffix)
			if !ok {
				return nil, &fieldErr{f + ".safe_regex", fmt.Sprintf("%q: only an app's regex %s<app>%s is supported", pat.SafeRegex.GetRegex(), appPrincipalPrefix, appPrincipalSuffix)}
			}
			return []string{app}, nil
		}
		return nil, &fieldErr{f, "only exact (an identity) or safe_regex (an app) is supported"}
	}
	return nil, &fieldErr{field, fmt.Sprintf("%T is not supported (any, authenticated.principal_name, or_ids)", p.GetIdentifier())}
}

// permissions reads a permission as methods: nil for any, else each
// method's gRPC path regex (url_path), or one of those (or_rules).
func permissions(p *rbacconfig.Permission, field string) ([]string, *fieldErr) {
	switch rule := p.GetRule().(type) {
	case *rbacconfig.Permission_Any:
		if rule.Any {
			return nil, nil
		}
	case *rbacconfig.Permission_OrRules:
		var out []string
		for i, sub := range rule.OrRules.GetRules() {
			methods, fe := permissions(sub, fmt.Sprintf("%s.or_rules.rules[%d]", field, i))
			if fe != nil {
				return nil, fe
			}
			if methods == nil {
				return nil, nil // any
			}
			out = append(out, methods...)
		}
		if len(out) == 0 {
			return nil, &fieldErr{field + ".or_rules", "empty: no method would match"}
		}
		return out, nil
	case *rbacconfig.Permission_UrlPath:
		f := field + ".url_path.path"
		m := rule.UrlPath.GetPath()
		if m == nil || m.GetIgnoreCase() {
			return nil, &fieldErr{f, "a method's safe_regex is needed (case-sensitive)"}
		}
		if re, ok := m.GetMatchPattern().(*matcher.StringMatcher_SafeRegex); ok {
			if method, ok := unquoteRegex(re.SafeRegex.GetRegex(), methodPathPrefix, methodPathSuffix); ok {
				return []string{method}, nil
			}
		}
		return nil, &fieldErr{f, fmt.Sprintf("only a method's safe_regex %s<method>%s is supported", methodPathPrefix, methodPathSuffix)}
	}
	return nil, &fieldErr{field, fmt.Sprintf("%T is not supported (any, url_path, or_rules)", p.GetRule())}
}

// unquoteRegex returns the literal between prefix and suffix of re when re
// is exactly prefix + regexp.QuoteMeta(literal) + suffix.
func unquoteRegex(re, prefix, suffix string) (string, bool) {
	q, ok := strings.CutPrefix(re, prefix)
	if !ok {
		return "", false
	}
	if q, ok = strings.CutSuffix(q, suffix); !ok || q == "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if q[i] == '\\' && i+1 < len(q) {
			i++
		}
		b.WriteByte(q[i])
	}
	lit := b.String()
	return lit, regexp.QuoteMeta(lit) == q
}
