package pilot

import (
	"strings"
	"testing"

	rbacconfig "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// TestListenerCarriesAuthorization: the service's rule set is a DENY RBAC
// filter then an ALLOW one, optional, before the others; each rule a
// policy named after the rule set and its index, with the principals and
// permissions of docs/control-plane.md.
func TestListenerCarriesAuthorization(t *testing.T) {
	p := &registry.ServicePolicy{Authorization: []config.AuthzPolicy{{Name: "echo-callers", Service: "echo", Rules: []config.AuthzRule{
		{Action: config.ActionDeny, From: []string{"spiffe://mesh.local/app/batch"}, Methods: []string{"Delete"}},
		{Action: config.ActionAllow, From: []string{"web", "spiffe://mesh.local/app/admin"}},
		{Action: config.ActionAllow, From: []string{"*"}, Methods: []string{"Ping", "Health.Check"}},
	}}}}
	m, _ := listenerRoutes(t, must(BuildListener("echo", p)))
	var names []string
	for _, f := range m.HttpFilters {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != RBACDenyFilter+","+RBACAllowFilter+","+FaultFilter+","+RateLimitFilter+","+routerFilter {
		t.Fatalf("filters %s", got)
	}
	rules := func(i int) *rbacconfig.RBAC {
		f := m.HttpFilters[i]
		if !f.IsOptional {
			t.Errorf("filter %s is not optional: a proxyless client would refuse the listener", f.Name)
		}
		var r rbac.RBAC
		if err := f.GetTypedConfig().UnmarshalTo(&r); err != nil {
			t.Fatal(err)
		}
		return r.GetRules()
	}
	js := func(v *rbacconfig.Policy) string {
		b, err := protojson.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(string(b), " ", "")
	}
	deny, allow := rules(0), rules(1)
	if deny.Action != rbacconfig.RBAC_DENY || allow.Action != rbacconfig.RBAC_ALLOW || len(deny.Policies) != 1 || len(allow.Policies) != 2 {
		t.Fatalf("deny %v, allow %v", deny, allow)
	}
	for _, tc := range []struct {
		p    *rbacconfig.Policy
		want string
	}{
		{deny.Policies["echo-callers/rules[0]"],
			`{"permissions":[{"urlPath":{"path":{"safeRegex":{"regex":"^/[^/]+/Delete$"}}}}],"principals":[{"authenticated":{"principalName":{"exact":"spiffe://mesh.local/app/batch"}}}]}`},
		{allow.Policies["echo-callers/rules[1]"],
			`{"permissions":[{"any":true}],"principals":[{"orIds":{"ids":[{"authenticated":{"principalName":{"safeRegex":{"regex":"^spiffe://[^/]+/app/web$"}}}},{"authenticated":{"principalName":{"exact":"spiffe://mesh.local/app/admin"}}}]}}]}`},
		{allow.Policies["echo-callers/rules[2]"],
			`{"permissions":[{"orRules":{"rules":[{"urlPath":{"path":{"safeRegex":{"regex":"^/[^/]+/Ping$"}}}},{"urlPath":{"path":{"safeRegex":{"regex":"^/[^/]+/Health\\.Check$"}}}}]}}],"principals":[{"any":true}]}`},
	} {
		if tc.p == nil {
			t.Fatalf("policies: deny %v allow %v", deny.Policies, allow.Policies)
		}
		if got := js(tc.p); got != tc.want {
			t.Errorf("policy\n got %s\nwant %s", got, tc.want)
		}
	}
	// Deny rules only: one DENY filter, no ALLOW (it would deny the rest).
	p.Authorization[0].Rules = p.Authorization[0].Rules[:1]
	m, _ = listenerRoutes(t, must(BuildListener("echo", p)))
	if len(m.HttpFilters) != 4 || m.HttpFilters[0].Name != RBACDenyFilter {
		t.Errorf("deny only: %v", m.HttpFilters)
	}
}
