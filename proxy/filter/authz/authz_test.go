package authz

import (
	"strings"
	"sync"
	"testing"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/upstream"
)

type fakeDown struct {
	mu    sync.Mutex
	kinds []codec.ErrorKind
	msgs  []string
}

func (d *fakeDown) Respond([]byte, *codec.Header)          {}
func (d *fakeDown) Fail(upstream.Origin, upstream.Failure) {}
func (d *fakeDown) Reject(_ *codec.Header, kind codec.ErrorKind, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kinds = append(d.kinds, kind)
	d.msgs = append(d.msgs, msg)
}

// request is a call of service.method from peer, with a from-service
// header that claims to be "admin" (it must not count).
func request(t *testing.T, peer, service, method string, down filter.Downstream) *filter.Request {
	t.Helper()
	fh := &codec.FrameHeader{SeqID: 1, IntInfo: []codec.IntKV{
		{Key: codec.IntKeyFromService, Value: "admin"}, {Key: codec.IntKeyToService, Value: service}, {Key: codec.IntKeyToMethod, Value: method}}}
	b, start, err := codec.BeginFrame(nil, fh)
	if err != nil {
		t.Fatal(err)
	}
	b = thrift.Binary.AppendMessageBegin(b, method, thrift.CALL, 1)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	r := &filter.Request{Frame: b, Down: down, Peer: peer}
	if err := r.Header.Decode(b); err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	client = "spiffe://mesh.local/app/client"
	batch  = "spiffe://mesh.local/app/batch"
	admin  = "spiffe://mesh.local/app/admin"
)

var policies = []config.AuthzPolicy{
	{Name: "echo-callers", Service: "echo", Rules: []config.AuthzRule{
		{Action: config.ActionAllow, From: []string{"client", batch}},
		{Action: config.ActionDeny, From: []string{"batch"}, Methods: []string{"Purge"}},
	}},
	{Name: "audit-deny-only", Service: "audit", Rules: []config.AuthzRule{
		{Action: config.ActionDeny, From: []string{"batch"}},
	}},
	{Name: "public", Service: "status", Rules: []config.AuthzRule{
		{Action: config.ActionAllow, From: []string{"*"}, Methods: []string{"Get"}},
	}},
}

func TestRules(t *testing.T) {
	tab := Compile("inbound", policies)
	for _, tc := range []struct {
		peer, service, method string
		want                  bool
	}{
		{client, "echo", "Echo", true},                         // allowed by app name
		{batch, "echo", "Echo", true},                          // allowed by identity
		{admin, "echo", "Echo", false},                         // an allow rule exists: default deny
		{"", "echo", "Echo", false},                            // no certificate
		{batch, "echo", "Purge", false},                        // deny beats allow
		{client, "echo", "Purge", true},                        // the deny rule is batch's only
		{batch, "audit", "Read", false},                        // deny only
		{client, "audit", "Read", true},                        // deny only: everyone else allowed
		{"", "audit", "Read", true},                            // ... with a certificate or not
		{admin, "billing", "Pay", true},                        // no rule set: allowed
		{"", "status", "Get", true},                            // "*" matches any caller
		{client, "status", "Put", false},                       // method not allowed
		{"spiffe://other.td/app/client", "echo", "Echo", true}, // an app name matches any trust domain the bundle trusts
	} {
		if got := tab.Allows(tc.peer, tc.service, tc.method); got != tc.want {
			t.Errorf("%q calling %s.%s: allowed %v, want %v", tc.peer, tc.service, tc.method, got, tc.want)
		}
	}
}

// Two caller apps through the filter: one allowed, one denied with a
// message naming it and the rule set, both counted; the header's claim to
// be "admin" changes nothing.
func TestFilterAllowsAndDeniesByCertificate(t *testing.T) {
	env := &filter.Env{Listener: "inbound", Counters: &filter.Counters{}, State: &filter.State{}, Authorization: policies[:1]}
	route := &config.Route{Service: "*", Method: "*", Cluster: "app"}
	if !Def.Configured(route, env) || Def.Configured(route, &filter.Env{}) {
		t.Fatal("Configured does not follow the listener's rule sets")
	}
	mw, fe := build(route, env)
	if fe != nil {
		t.Fatal(fe)
	}
	passed := 0
	h := mw(filter.HandlerFunc(func(*filter.Request) { passed++ }))
	down := &fakeDown{}
	h.Serve(request(t, client, "echo", "Echo", down))
	h.Serve(request(t, admin, "echo", "Echo", down))
	if passed != 1 || len(down.kinds) != 1 || down.kinds[0] != codec.KindPermissionDenied {
		t.Fatalf("passed %d, rejected %v", passed, down.kinds)
	}
	for _, want := range []string{"permission denied", admin, "rule set echo-callers", "listener inbound", `"Echo"`} {
		if !strings.Contains(down.msgs[0], want) {
			t.Errorf("message %q lacks %q", down.msgs[0], want)
		}
	}
	if a, d := env.Counters.Get("authz.allowed").Load(), env.Counters.Get("authz.denied").Load(); a != 1 || d != 1 {
		t.Errorf("allowed %d, denied %d", a, d)
	}
	// A service without rules passes uncounted.
	h.Serve(request(t, admin, "billing", "Pay", down))
	if passed != 2 || env.Counters.Get("authz.allowed").Load() != 1 {
		t.Error("a call to a service without rules")
	}
}

func TestAllowedCallAllocatesNothing(t *testing.T) {
	env := &filter.Env{Listener: "inbound", Counters: &filter.Counters{}, State: &filter.State{}, Authorization: policies}
	mw, fe := build(&config.Route{Service: "*", Method: "*"}, env)
	if fe != nil {
		t.Fatal(fe)
	}
	h := mw(filter.HandlerFunc(func(*filter.Request) {}))
	r := request(t, client, "echo", "Echo", &fakeDown{})
	if n := testing.AllocsPerRun(1000, func() { h.Serve(r) }); n != 0 {
		t.Errorf("%v allocations per allowed call", n)
	}
}
