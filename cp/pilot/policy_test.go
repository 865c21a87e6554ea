package pilot

import (
	"sort"
	"strings"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	fault "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	ratelimit "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

func ms(n int) config.Duration { return config.Duration(time.Duration(n) * time.Millisecond) }

// governedRoute has every route policy.
func governedRoute() config.Route {
	return config.Route{Service: "echo", Method: "Get", Headers: map[string]string{"om-lane": "blue"}, Tags: map[string]string{"env": "canary"},
		Split:     []config.WeightedCluster{{Cluster: "echo", Weight: 90}, {Cluster: "echo-v2", Weight: 10}},
		Timeout:   ms(800),
		Retry:     &config.Retry{Attempts: 3, PerTryTimeout: ms(200), Idempotent: true},
		RateLimit: &config.RateLimit{RequestsPerSecond: 1000, Burst: 20, PerCaller: true},
		Fault: &config.Fault{Delay: &config.FaultDelay{Percent: 12.5, Duration: ms(50)}, Abort: &config.FaultAbort{Percent: 10},
			Headers: map[string]string{"om-test": "1"}},
		Mirror: &config.Mirror{Cluster: "echo-shadow", Percent: 100}}
}

func TestRouteEncoding(t *testing.T) {
	plain := config.NewRoute("echo")
	plain.Service = "echo"
	rc, err := BuildRouteConfiguration("web", []config.Route{plain, governedRoute()})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Validate(); err != nil {
		t.Fatalf("Envoy's validation: %v", err)
	}
	vh := rc.VirtualHosts[0]
	if len(vh.Routes) != 2 || vh.Routes[0].Match.GetPath() != "/Get" {
		t.Fatalf("the exact method first: %v", vh.Routes)
	}
	r := vh.Routes[0]
	var headers []string
	for _, h := range r.Match.Headers {
		headers = append(headers, h.Name+"="+h.GetStringMatch().GetExact())
	}
	if got := strings.Join(headers, ","); got != "RPC_PERSIST_env=canary,om-lane=blue" {
		t.Errorf("header matches %s", got)
	}
	a := r.GetRoute()
	if w := a.GetWeightedClusters().GetClusters(); len(w) != 2 || w[1].Name != "echo-v2" || w[1].Weight.GetValue() != 10 {
		t.Errorf("split %v", w)
	}
	if a.Timeout.AsDuration() != 800*time.Millisecond || a.MaxStreamDuration != nil {
		t.Errorf("timeout %v, max stream duration %v (a sidecar's route has none)", a.Timeout, a.MaxStreamDuration)
	}
	rp := a.RetryPolicy
	if rp.RetryOn != "connect-failure,refused-stream,unavailable,reset,deadline-exceeded" || rp.NumRetries.GetValue() != 2 ||
		rp.PerTryTimeout.AsDuration() != 200*time.Millisecond || len(rp.RetryHostPredicate) != 1 ||
		rp.RetryHostPredicate[0].Name != "envoy.retry_host_predicates.previous_hosts" {
		t.Errorf("retry policy %v", rp)
	}
	if m := a.RequestMirrorPolicies; len(m) != 1 || m[0].Cluster != "echo-shadow" || m[0].RuntimeFraction.DefaultValue.Numerator != 100 {
		t.Errorf("mirror %v", m)
	}
	var hf fault.HTTPFault
	if err := r.TypedPerFilterConfig[FaultFilter].UnmarshalTo(&hf); err != nil {
		t.Fatal(err)
	}
	if d := hf.Delay; d.GetFixedDelay().AsDuration() != 50*time.Millisecond || d.Percentage.Numerator != 125000 ||
		d.Percentage.Denominator != typev3.FractionalPercent_MILLION {
		t.Errorf("delay %v", d)
	}
	if ab := hf.Abort; ab.GetGrpcStatus() != 14 || ab.Percentage.Numerator != 10 || ab.Percentage.Denominator != typev3.FractionalPercent_HUNDRED {
		t.Errorf("abort %v", ab)
	}
	if len(hf.Headers) != 1 || hf.Headers[0].Name != "om-test" {
		t.Errorf("fault headers %v", hf.Headers)
	}
	var rl ratelimit.LocalRateLimit
	if err := r.TypedPerFilterConfig[RateLimitFilter].UnmarshalTo(&rl); err != nil {
		t.Fatal(err)
	}
	// 1000/s with a burst of 20: 20 tokens every 20ms would be under
	// Envoy's 50ms floor, so it is the whole burst every 20ms.
	tb := rl.TokenBucket
	if tb.MaxTokens != 20 || tb.TokensPerFill.GetValue() != 20 || tb.FillInterval.AsDuration() != 20*time.Millisecond ||
		rl.FilterEnabled.DefaultValue.Numerator != 100 || rl.FilterEnforced.DefaultValue.Numerator != 100 {
		t.Errorf("rate limit %v", &rl)
	}
	md := r.Metadata.FilterMetadata[MetadataNamespace].Fields["rate_limit"].GetStructValue().AsMap()
	if md["requests_per_second"] != 1000.0 || md["per_caller"] != true {
		t.Errorf("rate limit metadata %v", md)
	}
	if plain := vh.Routes[1]; plain.GetRoute().RetryPolicy != nil || plain.TypedPerFilterConfig != nil || plain.Metadata != nil {
		t.Errorf("a route without policies carries %v", plain)
	}
}

func TestTokenBucket(t *testing.T) {
	for _, tc := range []struct {
		rps              float64
		burst            int
		tokens, maxToken uint32
		fill             time.Duration
	}{
		{rps: 1, tokens: 1, maxToken: 1, fill: time.Second},
		{rps: 2.5, tokens: 1, maxToken: 1, fill: 400 * time.Millisecond},
		{rps: 100, tokens: 5, maxToken: 10, fill: 50 * time.Millisecond},
		{rps: 100, burst: 2, tokens: 2, maxToken: 2, fill: 20 * time.Millisecond},
		{rps: 3, tokens: 1, maxToken: 1, fill: 333333333},
	} {
		tb := localRateLimit(&config.RateLimit{RequestsPerSecond: tc.rps, Burst: tc.burst}).TokenBucket
		if tb.MaxTokens != tc.maxToken || tb.TokensPerFill.GetValue() != tc.tokens || tb.FillInterval.AsDuration() != tc.fill {
			t.Errorf("%v/s burst %d: %v", tc.rps, tc.burst, tb)
		}
	}
}

func TestClusterEncoding(t *testing.T) {
	od := config.NewOutlierDetection()
	od.FailurePercent, od.LatencyFactor, od.Probe = 40, 3, config.ProbeConnect
	c, err := BuildCluster("echo", &registry.ServicePolicy{
		CircuitBreaker:   &config.CircuitBreaker{MaxRequests: 100, MaxPending: 50, MaxRetries: 0},
		RetryBudget:      &config.RetryBudget{Percent: 25, MinRetriesPerSecond: 5},
		OutlierDetection: &od,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Envoy's validation: %v", err)
	}
	th := c.CircuitBreakers.Thresholds[0]
	if th.MaxRequests.GetValue() != 100 || th.MaxPendingRequests.GetValue() != 50 || th.MaxRetries == nil || th.MaxRetries.GetValue() != 0 ||
		th.RetryBudget.BudgetPercent.GetValue() != 25 || th.RetryBudget.MinRetryConcurrency != nil {
		t.Errorf("thresholds %v", th)
	}
	o := c.OutlierDetection
	if o.ConsecutiveGatewayFailure.GetValue() != 5 || o.EnforcingConsecutiveGatewayFailure.GetValue() != 100 ||
		o.EnforcingConsecutive_5Xx == nil || o.EnforcingConsecutive_5Xx.GetValue() != 0 || o.EnforcingSuccessRate == nil ||
		o.FailurePercentageThreshold.GetValue() != 40 || o.EnforcingFailurePercentage.GetValue() != 100 ||
		o.FailurePercentageRequestVolume.GetValue() != 50 || o.FailurePercentageMinimumHosts.GetValue() != 1 ||
		o.Interval.AsDuration() != 10*time.Second || o.MaxEjectionTime.AsDuration() != 300*time.Second || o.MaxEjectionPercent.GetValue() != 10 {
		t.Errorf("outlier detection %v", o)
	}
	md := c.Metadata.FilterMetadata[MetadataNamespace].AsMap()
	if got := md["outlier_detection"].(map[string]any); got["latency_factor"] != 3.0 || got["probe"] != "connect" || got["probe_interval"] != "1s" {
		t.Errorf("outlier metadata %v", got)
	}
	if got := md["retry_budget"].(map[string]any); got["min_retries_per_second"] != 5.0 {
		t.Errorf("retry budget metadata %v", got)
	}

	bare, err := BuildCluster("echo", &registry.ServicePolicy{RetryBudget: &config.RetryBudget{Percent: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if th := bare.CircuitBreakers.Thresholds[0]; th.MaxRequests != nil || th.RetryBudget == nil || bare.OutlierDetection != nil {
		t.Errorf("a retry budget alone: %v", bare)
	}
	none, _ := BuildCluster("echo", nil)
	if none.CircuitBreakers != nil || none.OutlierDetection != nil || none.Metadata != nil {
		t.Errorf("no policy: %v", none)
	}
}

func listenerRoutes(t *testing.T, l *listener.Listener) (*hcm.HttpConnectionManager, []*route.Route) {
	t.Helper()
	if err := l.Validate(); err != nil {
		t.Fatalf("Envoy's validation: %v", err)
	}
	var m hcm.HttpConnectionManager
	if err := l.ApiListener.ApiListener.UnmarshalTo(&m); err != nil {
		t.Fatal(err)
	}
	return &m, m.GetRouteConfig().VirtualHosts[0].Routes
}

func TestProxylessListenerEncoding(t *testing.T) {
	m, routes := listenerRoutes(t, must(BuildListener("echo", nil)))
	var names []string
	for _, f := range m.HttpFilters {
		names = append(names, f.Name)
		if f.IsOptional != (f.Name == RateLimitFilter) {
			t.Errorf("filter %s optional: %v", f.Name, f.IsOptional)
		}
	}
	if got := strings.Join(names, ","); got != "envoy.filters.http.fault,envoy.filters.http.local_ratelimit,router" {
		t.Errorf("filters %s", got)
	}
	if len(routes) != 1 || routes[0].GetRoute().GetCluster() != "echo" {
		t.Fatalf("no rules: %v", routes)
	}

	g := governedRoute()
	single := config.Route{Service: "echo", Method: "*", Cluster: "echo", Retry: &config.Retry{Attempts: 1}}
	_, routes = listenerRoutes(t, must(BuildListener("echo", &registry.ServicePolicy{Routes: []registry.RouteRule{
		registry.RouteRule(single), registry.RouteRule(g)}})))
	if len(routes) != 3 {
		t.Fatalf("routes %v: want the marked fault route, the rule, the catch-all rule", routes)
	}
	marked, rule, all := routes[0], routes[1], routes[2]
	if re := marked.Match.GetSafeRegex().GetRegex(); re != "^/[^/]+/Get$" {
		t.Errorf("method as a gRPC path: %q", re)
	}
	var headers []string
	for _, h := range marked.Match.Headers {
		headers = append(headers, h.Name)
	}
	sort.Strings(headers)
	if got := strings.Join(headers, ","); got != "om-lane,om-test,rpc_persist_env" {
		t.Errorf("the marked route's headers %s (lower case, with the fault's)", got)
	}
	if marked.TypedPerFilterConfig[FaultFilter] == nil || rule.TypedPerFilterConfig[FaultFilter] != nil {
		t.Errorf("the fault belongs to the marked route only")
	}
	var opt route.FilterConfig
	if err := rule.TypedPerFilterConfig[RateLimitFilter].UnmarshalTo(&opt); err != nil || !opt.IsOptional {
		t.Errorf("the rate limit is not optional for gRPC: %v %v", &opt, err)
	}
	if d := rule.GetRoute().MaxStreamDuration.GetMaxStreamDuration().AsDuration(); d != 800*time.Millisecond {
		t.Errorf("max stream duration %v (gRPC's timeout)", d)
	}
	if all.GetRoute().RetryPolicy != nil || all.Match.GetPrefix() != "/" {
		t.Errorf("a retry of one attempt is left out for gRPC (it refuses num_retries 0): %v", all)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func decodeCluster(t *testing.T, r *discovery.DeltaDiscoveryResponse) *cluster.Cluster {
	t.Helper()
	if len(r.Resources) != 1 {
		t.Fatalf("want one cluster, got %v", names(r))
	}
	var c cluster.Cluster
	if err := r.Resources[0].Resource.UnmarshalTo(&c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestPolicyChangePushesOnlyTheCluster: a service's policy is watched once
// however many sessions use the service, loads before the service's first
// push, and a change re-sends its Cluster and nothing else.
func TestPolicyChangePushesOnlyTheCluster(t *testing.T) {
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	src.setPolicy("echo", &registry.ServicePolicy{CircuitBreaker: &config.CircuitBreaker{MaxRequests: 7, MaxPending: 7}})
	var clients []*client
	for _, id := range []string{"a-1", "a-2"} {
		c := newClient(t, srv, id, "web")
		c.subscribe(kindCluster, "echo")
		c.subscribe(kindEndpoint, "echo")
		cl := c.recvKind(kindCluster)
		if got := decodeCluster(t, cl).CircuitBreakers.GetThresholds()[0].MaxRequests.GetValue(); got != 7 {
			t.Fatalf("first cluster: max_requests %d, want the policy's 7", got)
		}
		c.ack(cl)
		c.ack(c.recvKind(kindEndpoint))
		clients = append(clients, c)
	}
	if opened, now := src.open("p/echo"); opened != 1 || now != 1 {
		t.Fatalf("policy watches on echo: %d opened, %d open; want one shared", opened, now)
	}
	versions := srv.Stats.Versions.Load()
	src.setPolicy("echo", &registry.ServicePolicy{CircuitBreaker: &config.CircuitBreaker{MaxRequests: 9, MaxPending: 7}})
	for _, c := range clients {
		cl := c.recvKind(kindCluster)
		if got := decodeCluster(t, cl).CircuitBreakers.GetThresholds()[0].MaxRequests.GetValue(); got != 9 {
			t.Fatalf("after the change: max_requests %d", got)
		}
		c.ack(cl)
	}
	for _, c := range clients {
		c.quiet(100 * time.Millisecond)
	}
	if n := srv.Stats.Versions.Load() - versions; n != 1 {
		t.Errorf("%d new resource versions, want 1 (the cluster; the listener has no rules that changed, the assignment did not move)", n)
	}
	// A policy with rules for proxyless clients changes the listener too.
	src.setPolicy("echo", &registry.ServicePolicy{CircuitBreaker: &config.CircuitBreaker{MaxRequests: 9, MaxPending: 7},
		Routes: []registry.RouteRule{{Service: "echo", Method: "*", Cluster: "echo", Retry: &config.Retry{Attempts: 2}}}})
	waitFor(t, func() bool { return srv.Stats.Versions.Load()-versions == 2 })
	for _, c := range clients {
		c.quiet(100 * time.Millisecond)
	}
	// Removing the policy restores the default cluster.
	src.setPolicy("echo", nil)
	for _, c := range clients {
		cl := c.recvKind(kindCluster)
		if cb := decodeCluster(t, cl).CircuitBreakers; cb != nil {
			t.Fatalf("after the policy left: %v", cb)
		}
		c.ack(cl)
	}
}
