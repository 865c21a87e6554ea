package pilot

import (
	"fmt"
	"regexp"
	"strings"

	rbacconfig "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/octomesh/octomesh/config"
)

// Authorization in Envoy's RBAC types (docs/control-plane.md, "Policies
// in xDS"). A service's rule set travels in its Listener as RBAC HTTP
// filters before the others: Envoy's RBAC filter has one action, so the
// deny rules are a DENY filter and the allow rules an ALLOW filter after
// it (a call passes when no deny policy matches and, if there is an ALLOW
// filter, an allow policy does: the rule set's meaning exactly). Each rule
// is one policy named "<rule set>/rules[<index>]", so that the rule set's
// name (what a denied caller is told) and the rules' order travel too.
// The filters are optional: gRPC runs RBAC only on servers, and a
// proxyless client would refuse the listener otherwise.
const (
	RBACDenyFilter  = "envoy.filters.http.rbac.deny"
	RBACAllowFilter = "envoy.filters.http.rbac"
)

// AuthzPolicyName names rule i of rule set set among an RBAC filter's
// policies.
func AuthzPolicyName(set string, i int) string { return fmt.Sprintf("%s/rules[%d]", set, i) }

// AppPrincipalRegex is the principal_name regex of a bare app name: any
// trust domain, that app.
func AppPrincipalRegex(app string) string {
	return "^spiffe://[^/]+/app/" + regexp.QuoteMeta(app) + "$"
}

// MethodPathRegex is the url_path regex of a method: the last element of
// a gRPC path (/package.Service/Method), as the proxyless routes match.
func MethodPathRegex(method string) string {
	return "^/[^/]+/" + regexp.QuoteMeta(method) + "$"
}

// rbacFilters encodes a service's rule sets (checked: ServicePolicy.Validate)
// as its DENY filter, then its ALLOW filter, each only when it has rules.
func rbacFilters(sets []config.AuthzPolicy) ([]*hcm.HttpFilter, error) {
	deny := &rbacconfig.RBAC{Action: rbacconfig.RBAC_DENY, Policies: map[string]*rbacconfig.Policy{}}
	allow := &rbacconfig.RBAC{Action: rbacconfig.RBAC_ALLOW, Policies: map[string]*rbacconfig.Policy{}}
	for _, set := range sets {
		for i, r := range set.Rules {
			p := &rbacconfig.Policy{Permissions: []*rbacconfig.Permission{permission(r.Methods)}, Principals: []*rbacconfig.Principal{principal(r.From)}}
			if r.Action == config.ActionDeny {
				deny.Policies[AuthzPolicyName(set.Name, i)] = p
			} else {
				allow.Policies[AuthzPolicyName(set.Name, i)] = p
			}
		}
	}
	var out []*hcm.HttpFilter
	for _, f := range []struct {
		name  string
		rules *rbacconfig.RBAC
	}{{RBACDenyFilter, deny}, {RBACAllowFilter, allow}} {
		if len(f.rules.Policies) == 0 {
			continue
		}
		cfg, err := anypb.New(&rbac.RBAC{Rules: f.rules})
		if err != nil {
			return nil, err
		}
		out = append(out, &hcm.HttpFilter{Name: f.name, ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: cfg}, IsOptional: true})
	}
	return out, nil
}

// principal matches the callers of a rule: any (with "*"), else each
// identity exactly and each app name by regex, one of them (or_ids) when
// there are several.
func principal(from []string) *rbacconfig.Principal {
	ids := make([]*rbacconfig.Principal, 0, len(from))
	for _, f := range from {
		if f == "*" {
			return &rbacconfig.Principal{Identifier: &rbacconfig.Principal_Any{Any: true}}
		}
		m := &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: f}}
		if !strings.HasPrefix(f, "spiffe://") {
			m = &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: AppPrincipalRegex(f)}}}
		}
		ids = append(ids, &rbacconfig.Principal{Identifier: &rbacconfig.Principal_Authenticated_{Authenticated: &rbacconfig.Principal_Authenticated{PrincipalName: m}}})
	}
	if len(ids) == 1 {
		return ids[0]
	}
	return &rbacconfig.Principal{Identifier: &rbacconfig.Principal_OrIds{OrIds: &rbacconfig.Principal_Set{Ids: ids}}}
}

// permission matches the methods of a rule: any (none given, or "*"),
// else each method's gRPC path, one of them (or_rules) when there are
// several.
func permission(methods []string) *rbacconfig.Permission {
	rules := make([]*rbacconfig.Permission, 0, len(methods))
	for _, m := range methods {
		if m == "*" {
			rules = nil
			break
		}
		rules = append(rules, &rbacconfig.Permission{Rule: &rbacconfig.Permission_UrlPath{UrlPath: &matcher.PathMatcher{Rule: &matcher.PathMatcher_Path{
			Path: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: MethodPathRegex(m)}}}}}}})
	}
	switch len(rules) {
	case 0:
		return &rbacconfig.Permission{Rule: &rbacconfig.Permission_Any{Any: true}}
	case 1:
		return rules[0]
	}
	return &rbacconfig.Permission{Rule: &rbacconfig.Permission_OrRules{OrRules: &rbacconfig.Permission_Set{Rules: rules}}}
}
