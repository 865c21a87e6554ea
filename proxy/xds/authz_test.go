package xds

import (
	"reflect"
	"strings"
	"testing"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacconfig "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	rbac "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/pilot"
)

// authzForms are rule sets in every form the encoding has: any caller,
// identities, app names, several of each, any method, one and several
// methods (with characters a regex would read), deny only, allow only,
// both interleaved.
func authzForms() []config.AuthzPolicy {
	return []config.AuthzPolicy{
		{Name: "echo-callers", Service: "echo", Rules: []config.AuthzRule{
			{Action: config.ActionDeny, From: []string{"spiffe://mesh.local/app/batch"}, Methods: []string{"Delete"}},
			{Action: config.ActionAllow, From: []string{"web", "spiffe://other.domain/app/admin"}},
			{Action: config.ActionDeny, From: []string{"*"}, Methods: []string{"Drop.All", "Reset+"}},
			{Action: config.ActionAllow, From: []string{"ops.team_1"}, Methods: []string{"Get"}},
		}},
		{Name: "deny-only", Service: "echo", Rules: []config.AuthzRule{
			{Action: config.ActionDeny, From: []string{"batch", "cron"}},
		}},
		{Name: "allow-only", Service: "echo", Rules: []config.AuthzRule{
			{Action: config.ActionAllow, From: []string{"*"}, Methods: []string{"Ping"}},
			{Action: config.ActionAllow, From: []string{"spiffe://mesh.local/app/web"}, Methods: []string{"Get", "Put"}},
		}},
	}
}

// TestAuthorizationRoundTrip: a rule set -> the pilot's Listener -> the
// sidecar's translation gives the rule set back.
func TestAuthorizationRoundTrip(t *testing.T) {
	for _, in := range authzForms() {
		l, err := pilot.BuildListener("echo", &registry.ServicePolicy{Authorization: []config.AuthzPolicy{in}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := translateAuthorization("echo", reencode(t, l))
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		if len(out) != 1 || !reflect.DeepEqual(out[0], in) {
			t.Errorf("%s:\n got  %+v\n want %+v", in.Name, out, in)
		}
	}
	// "*" among callers or methods is any: it comes back alone (or as no
	// methods), which means the same.
	in := config.AuthzPolicy{Name: "wide", Service: "echo", Rules: []config.AuthzRule{
		{Action: config.ActionAllow, From: []string{"web", "*"}, Methods: []string{"Get", "*"}}}}
	l, _ := pilot.BuildListener("echo", &registry.ServicePolicy{Authorization: []config.AuthzPolicy{in}})
	out, err := translateAuthorization("echo", reencode(t, l))
	want := config.AuthzRule{Action: config.ActionAllow, From: []string{"*"}}
	if err != nil || len(out) != 1 || !reflect.DeepEqual(out[0].Rules[0], want) {
		t.Errorf("wide rule: %+v %v", out, err)
	}
	// No authorization: no RBAC filter, nothing back.
	l, _ = pilot.BuildListener("echo", &registry.ServicePolicy{})
	if out, err := translateAuthorization("echo", l); err != nil || out != nil {
		t.Errorf("no authorization: %+v %v", out, err)
	}
}

// rbacListener is service echo's listener with the given RBAC filters.
func rbacListener(t *testing.T, filters ...*rbac.RBAC) *listener.Listener {
	t.Helper()
	m := &hcm.HttpConnectionManager{StatPrefix: "echo"}
	for _, f := range filters {
		m.HttpFilters = append(m.HttpFilters, &hcm.HttpFilter{Name: "rbac", ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: mustAny(f)}})
	}
	return &listener.Listener{Name: "echo", ApiListener: &listener.ApiListener{ApiListener: mustAny(m)}}
}

func appRegex(app string) *rbacconfig.Principal {
	return &rbacconfig.Principal{Identifier: &rbacconfig.Principal_Authenticated_{Authenticated: &rbacconfig.Principal_Authenticated{
		PrincipalName: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: app}}}}}}
}

func anyPermission() *rbacconfig.Permission {
	return &rbacconfig.Permission{Rule: &rbacconfig.Permission_Any{Any: true}}
}

func policy(pr *rbacconfig.Principal, pm *rbacconfig.Permission) *rbacconfig.Policy {
	return &rbacconfig.Policy{Principals: []*rbacconfig.Principal{pr}, Permissions: []*rbacconfig.Permission{pm}}
}

func rulesOf(action rbacconfig.RBAC_Action, policies map[string]*rbacconfig.Policy) *rbac.RBAC {
	return &rbac.RBAC{Rules: &rbacconfig.RBAC{Action: action, Policies: policies}}
}

// TestAuthorizationRefusals: what the sidecar cannot enforce exactly is
// an error naming the listener and the field.
func TestAuthorizationRefusals(t *testing.T) {
	web := appRegex(pilot.AppPrincipalRegex("web"))
	good := func() map[string]*rbacconfig.Policy {
		return map[string]*rbacconfig.Policy{"s/rules[0]": policy(web, anyPermission())}
	}
	for _, tc := range []struct {
		name string
		l    *listener.Listener
		want string
	}{
		{"LOG action", rbacListener(t, rulesOf(rbacconfig.RBAC_LOG, good())),
			`listener "echo": http_filters[0].rules.action: LOG is not supported`},
		{"shadow rules", rbacListener(t, &rbac.RBAC{Rules: &rbacconfig.RBAC{Policies: good()}, ShadowRules: &rbacconfig.RBAC{}}),
			`http_filters[0].shadow_rules: shadow rules are not supported`},
		{"two ALLOW filters", rbacListener(t, rulesOf(rbacconfig.RBAC_ALLOW, good()), rulesOf(rbacconfig.RBAC_ALLOW, good())),
			`http_filters[1].rules.action: a second ALLOW filter`},
		{"empty ALLOW", rbacListener(t, rulesOf(rbacconfig.RBAC_ALLOW, nil)),
			`http_filters[0].rules.policies: an ALLOW filter without policies refuses every call`},
		{"policy name", rbacListener(t, rulesOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"allow-web": policy(web, anyPermission())})),
			`rules.policies["allow-web"]: a policy is named <rule set>/rules[<index>]`},
		{"two rule sets", rbacListener(t, rulesOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{
			"a/rules[0]": policy(web, anyPermission()), "b/rules[1]": policy(web, anyPermission())})),
			`rule set "b" beside "a": a service has one rule set`},
		{"gap in the rules", rbacListener(t, rulesOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"s/rules[1]": policy(web, anyPermission())})),
			`rule 0 of rule set "s" is missing or given twice`},
		{"other regex", rbacListener(t, rulesOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"s/rules[0]": policy(appRegex("^spiffe://.*$"), anyPermission())})),
			`policies["s/rules[0]"].principals[0].authenticated.principal_name.safe_regex: "^spiffe://.*$": only an app's regex`},
		{"a header principal", rbacListener(t, rulesOf(rbacconfig.RBAC_ALLOW, map[string]*rbacconfig.Policy{"s/rules[0]": policy(
			&rbacconfig.Principal{Identifier: &rbacconfig.Principal_Header{Header: &route.HeaderMatcher{Name: "x-caller", HeaderMatchSpecifier: &route.HeaderMatcher_PresentMatch{PresentMatch: true}}}}, anyPermission())})),
			`principals[0]: *rbacv3.Principal_Header is not supported`},
		{"any authenticated", rbacListener(t, rulesOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"s/rules[0]": policy(
			&rbacconfig.Principal{Identifier: &rbacconfig.Principal_Authenticated_{Authenticated: &rbacconfig.Principal_Authenticated{}}}, anyPermission())})),
			`principals[0].authenticated.principal_name: missing`},
		{"exact non-identity", rbacListener(t, rulesOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"s/rules[0]": policy(
			&rbacconfig.Principal{Identifier: &rbacconfig.Principal_Authenticated_{Authenticated: &rbacconfig.Principal_Authenticated{
				PrincipalName: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: "web"}}}}}, anyPermission())})),
			`principal_name.exact: "web" is not an identity`},
		{"prefix path", rbacListener(t, rulesOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"s/rules[0]": policy(web,
			&rbacconfig.Permission{Rule: &rbacconfig.Permission_UrlPath{UrlPath: &matcher.PathMatcher{Rule: &matcher.PathMatcher_Path{
				Path: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Prefix{Prefix: "/echo."}}}}}})})),
			`permissions[0].url_path.path: only a method's safe_regex`},
		{"port permission", rbacListener(t, rulesOf(rbacconfig.RBAC_DENY, map[string]*rbacconfig.Policy{"s/rules[0]": policy(web,
			&rbacconfig.Permission{Rule: &rbacconfig.Permission_DestinationPort{DestinationPort: 80}})})),
			`permissions[0]: *rbacv3.Permission_DestinationPort is not supported`},
		{"not an API listener", &listener.Listener{Name: "echo"},
			`listener "echo": api_listener: missing`},
		{"another listener", &listener.Listener{Name: "user", ApiListener: &listener.ApiListener{ApiListener: mustAny(&hcm.HttpConnectionManager{StatPrefix: "u"})}},
			`resource "echo" holds listener "user"`},
	} {
		_, err := translateAuthorization("echo", tc.l)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %q", tc.name, err, tc.want)
		}
	}
}

// TestAuthorizationApplied: a Listener response reaches the listeners that
// take the service's rule sets; a bad one is refused and changes nothing;
// its removal keeps the rules; an unsubscribed one is refused.
func TestAuthorizationApplied(t *testing.T) {
	ft := &fakeTarget{}
	c, err := New(Options{Pilot: "127.0.0.1:1", App: "echo", NodeID: "echo-1", Listener: "outbound", MaxSubscriptions: 10,
		Authorization: map[string][]string{"inbound": {"echo"}}}, ft)
	if err != nil {
		t.Fatal(err)
	}
	set := authzForms()[0]
	l, _ := pilot.BuildListener("echo", &registry.ServicePolicy{Authorization: []config.AuthzPolicy{set}})
	if err := c.handle(response(typeURLs[kListener], nil, l)); err != nil {
		t.Fatal(err)
	}
	if got := ft.authz["inbound"]; len(got) != 1 || !reflect.DeepEqual(got[0], set) {
		t.Fatalf("inbound's pushed rules %+v", got)
	}
	bad := rbacListener(t, rulesOf(rbacconfig.RBAC_LOG, nil))
	if err := c.handle(response(typeURLs[kListener], nil, bad)); err == nil || !strings.Contains(err.Error(), "LOG") {
		t.Errorf("a LOG filter: %v", err)
	}
	if got := ft.authz["inbound"]; len(got) != 1 {
		t.Errorf("after a refused update the rules are %+v", got)
	}
	if err := c.handle(response(typeURLs[kListener], []string{"echo"})); err != nil || len(ft.authz["inbound"]) != 1 {
		t.Errorf("removal: %v; rules %+v (kept until the pilot sends the listener again)", err, ft.authz["inbound"])
	}
	none, _ := pilot.BuildListener("echo", nil)
	if err := c.handle(response(typeURLs[kListener], nil, none)); err != nil || len(ft.authz["inbound"]) != 0 {
		t.Errorf("no rules: %v; rules %+v", err, ft.authz["inbound"])
	}
	other, _ := pilot.BuildListener("user", nil)
	if err := c.handle(response(typeURLs[kListener], nil, other)); err == nil || !strings.Contains(err.Error(), `listener "user" was not subscribed to`) {
		t.Errorf("an unsubscribed listener: %v", err)
	}
	if st := c.Status(); st.Listeners["echo"] == "" {
		t.Errorf("status lists no listener version: %+v", st.Listeners)
	}
}
