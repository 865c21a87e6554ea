package xds

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultcommon "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	fault "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	ratelimit "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/pilot"
)

func ms(n int) config.Duration { return config.Duration(time.Duration(n) * time.Millisecond) }

// policyRoutes covers every route policy field, each in more than one form.
func policyRoutes() []config.Route {
	return []config.Route{
		{Service: "echo", Method: "Get", Headers: map[string]string{"om-lane": "blue", "x-b": ""}, Tags: map[string]string{"env": "canary"},
			Split:     []config.WeightedCluster{{Cluster: "echo", Weight: 90}, {Cluster: "echo-v2", Weight: 10}},
			Timeout:   ms(800),
			Retry:     &config.Retry{Attempts: 3, PerTryTimeout: ms(200), Idempotent: true},
			RateLimit: &config.RateLimit{RequestsPerSecond: 1000, Burst: 20, PerCaller: true},
			Fault: &config.Fault{Delay: &config.FaultDelay{Percent: 12.5, Duration: ms(50)}, Abort: &config.FaultAbort{Percent: 10},
				Headers: map[string]string{"om-test": "1", config.TagKey("stress"): "yes"}},
			Mirror: &config.Mirror{Cluster: "echo-shadow", Percent: 33.3333}},
		{Service: "echo", Method: "Get", Cluster: "echo",
			Retry:     &config.Retry{Attempts: 1},
			RateLimit: &config.RateLimit{RequestsPerSecond: 3, Burst: 1},
			Fault:     &config.Fault{Abort: &config.FaultAbort{Percent: 100}},
			Mirror:    &config.Mirror{Cluster: "echo-shadow", Percent: 0}},
		{Service: "echo", Method: "*", Tags: map[string]string{"env": "canary"}, Cluster: "echo-v2",
			Retry:     &config.Retry{Attempts: config.MaxAttempts, Idempotent: false},
			RateLimit: &config.RateLimit{RequestsPerSecond: 2.5, Burst: 4},
			Fault:     &config.Fault{Delay: &config.FaultDelay{Percent: 0.0001, Duration: config.Duration(time.Second)}}},
		{Service: "echo", Method: "*", Cluster: "echo", Timeout: config.Duration(time.Minute),
			RateLimit: &config.RateLimit{RequestsPerSecond: 0.1, Burst: 1, PerCaller: true}},
		{Service: "*", Method: "*", Cluster: "fallback"},
	}
}

// reencode passes m through its wire form, as it travels.
func reencode[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func byMatch(routes []config.Route) map[string]config.Route {
	m := map[string]config.Route{}
	for i := range routes {
		m[routes[i].MatchKey()] = routes[i]
	}
	return m
}

// TestRouteRoundTrip: config -> the pilot's encoding -> translate gives
// the routes back, every policy field equal.
func TestRouteRoundTrip(t *testing.T) {
	in := policyRoutes()
	rc, err := pilot.BuildRouteConfiguration("web", in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := translateRoutes(reencode(t, rc))
	if err != nil {
		t.Fatal(err)
	}
	want, got := byMatch(in), byMatch(out)
	if len(got) != len(want) {
		t.Fatalf("%d routes back, want %d", len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("route %q lost", k)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("route %s/%s:\n got  %s\n want %s", w.Service, w.Method, describe(g), describe(w))
		}
	}
	// A burst left to its default comes back as the default's value.
	implicit := config.Route{Service: "echo", Method: "*", Cluster: "echo", RateLimit: &config.RateLimit{RequestsPerSecond: 1000}}
	rc, _ = pilot.BuildRouteConfiguration("web", []config.Route{implicit})
	out, err = translateRoutes(reencode(t, rc))
	if err != nil || out[0].RateLimit.Burst != 100 || out[0].RateLimit.RequestsPerSecond != 1000 {
		t.Fatalf("default burst: %+v %v; want 100, a tenth of a second's worth", out[0].RateLimit, err)
	}
}

func describe(r config.Route) string {
	b, err := json.Marshal(r)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// policyClusters covers every cluster policy field.
func policyClusters() []registry.ServicePolicy {
	full := config.NewOutlierDetection()
	full.ConsecutiveFailures, full.Interval, full.BaseEjectionTime, full.MaxEjectionTime = 7, ms(500), ms(1500), ms(90000)
	full.MaxEjectionPercent, full.FailurePercent, full.LatencyFactor, full.MinRequests = 35, 60, 2.5, 3
	full.ProbeInterval, full.Probe = ms(250), config.ProbeHealth
	off := config.NewOutlierDetection()
	off.ConsecutiveFailures, off.MaxEjectionPercent = 0, 0
	off.Probe = config.ProbeConnect
	dflt := config.NewOutlierDetection()
	return []registry.ServicePolicy{
		{},
		{CircuitBreaker: &config.CircuitBreaker{MaxRequests: 100, MaxPending: 5, MaxRetries: 3}},
		{CircuitBreaker: &config.CircuitBreaker{MaxRequests: 1, MaxPending: 1, MaxRetries: 0}},
		{RetryBudget: &config.RetryBudget{Percent: 12.5, MinRetriesPerSecond: 0}},
		{OutlierDetection: &dflt},
		{CircuitBreaker: &config.CircuitBreaker{MaxRequests: 1024, MaxPending: 1024}, RetryBudget: &config.RetryBudget{Percent: 20, MinRetriesPerSecond: 10},
			OutlierDetection: &full},
		{OutlierDetection: &off},
	}
}

// TestClusterRoundTrip: config -> the pilot's encoding -> translate gives
// the cluster's policies back.
func TestClusterRoundTrip(t *testing.T) {
	for i, p := range policyClusters() {
		c, err := pilot.BuildCluster("echo", &p)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := translateCluster(reencode(t, c))
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if !reflect.DeepEqual(cc.CircuitBreaker, p.CircuitBreaker) || !reflect.DeepEqual(cc.RetryBudget, p.RetryBudget) ||
			!reflect.DeepEqual(cc.OutlierDetection, p.OutlierDetection) {
			t.Errorf("policy %d:\n got  %+v %+v %+v\n want %+v %+v %+v", i, cc.CircuitBreaker, cc.RetryBudget, cc.OutlierDetection,
				p.CircuitBreaker, p.RetryBudget, p.OutlierDetection)
		}
	}
}

// governedRC is the pilot's encoding of the first policy route alone,
// for tests that change it.
func governedRC(t *testing.T) (*route.RouteConfiguration, *route.Route) {
	t.Helper()
	rc, err := pilot.BuildRouteConfiguration("web", policyRoutes()[:1])
	if err != nil {
		t.Fatal(err)
	}
	rc = reencode(t, rc)
	return rc, rc.VirtualHosts[0].Routes[0]
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

func faultOf(t *testing.T, r *route.Route) *fault.HTTPFault {
	var f fault.HTTPFault
	if err := r.TypedPerFilterConfig[pilot.FaultFilter].UnmarshalTo(&f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func rateLimitOf(t *testing.T, r *route.Route) *ratelimit.LocalRateLimit {
	var l ratelimit.LocalRateLimit
	if err := r.TypedPerFilterConfig[pilot.RateLimitFilter].UnmarshalTo(&l); err != nil {
		t.Fatal(err)
	}
	return &l
}

// TestRouteRefusals: what the sidecar cannot honour is refused, naming the
// virtual host, the route and the field.
func TestRouteRefusals(t *testing.T) {
	cases := []struct {
		change func(t *testing.T, r *route.Route)
		want   string
	}{
		{func(t *testing.T, r *route.Route) { r.GetRoute().RetryPolicy.RetryOn = "5xx" },
			`routes[0]: route.retry_policy.retry_on "5xx": the sidecar retries on`},
		{func(t *testing.T, r *route.Route) {
			r.GetRoute().RetryPolicy.RetryOn = "connect-failure,refused-stream,unavailable,reset"
		}, `retry_on "connect-failure,refused-stream,unavailable,reset"`},
		{func(t *testing.T, r *route.Route) {
			r.GetRoute().RetryPolicy.RetryBackOff = &route.RetryPolicy_RetryBackOff{BaseInterval: durationpb.New(time.Second)}
		}, "route.retry_policy.retry_back_off: not supported"},
		{func(t *testing.T, r *route.Route) {
			r.GetRoute().RetryPolicy.RetryHostPredicate[0] = &route.RetryPolicy_RetryHostPredicate{Name: "envoy.retry_host_predicates.omit_canary_hosts"}
		}, "retry_host_predicate[0]"},
		{func(t *testing.T, r *route.Route) { r.GetRoute().RetryPolicy.NumRetries = wrapperspb.UInt32(20) },
			`virtual host "echo": routes[0]: retry.attempts: must be between 1 and 10`},
		{func(t *testing.T, r *route.Route) {
			r.GetRoute().RequestMirrorPolicies = append(r.GetRoute().RequestMirrorPolicies, &route.RouteAction_RequestMirrorPolicy{Cluster: "x"})
		}, "route.request_mirror_policies: 2"},
		{func(t *testing.T, r *route.Route) { r.GetRoute().RequestMirrorPolicies[0].Cluster = "echo-s\x10dow" },
			`route.request_mirror_policies[0].cluster: name "echo-s\x10dow" has '\x10' at byte 6`},
		{func(t *testing.T, r *route.Route) {
			r.Match.Headers[0].HeaderMatchSpecifier = &route.HeaderMatcher_StringMatch{StringMatch: &matcher.StringMatcher{
				MatchPattern: &matcher.StringMatcher_Prefix{Prefix: "b"}}}
		}, "match.headers[0]"},
		{func(t *testing.T, r *route.Route) { r.Match.Headers[1].InvertMatch = true }, "match.headers[1]"},
		{func(t *testing.T, r *route.Route) {
			f := faultOf(t, r)
			f.Abort.ErrorType = &fault.FaultAbort_HttpStatus{HttpStatus: 503}
			r.TypedPerFilterConfig[pilot.FaultFilter] = mustAny(f)
		}, `typed_per_filter_config["envoy.filters.http.fault"]: fault.abort: the sidecar answers an abort with its fault error`},
		{func(t *testing.T, r *route.Route) {
			f := faultOf(t, r)
			f.Delay.FaultDelaySecifier = &faultcommon.FaultDelay_HeaderDelay_{HeaderDelay: &faultcommon.FaultDelay_HeaderDelay{}}
			r.TypedPerFilterConfig[pilot.FaultFilter] = mustAny(f)
		}, "fault.delay: only a fixed_delay"},
		{func(t *testing.T, r *route.Route) {
			f := faultOf(t, r)
			f.Delay.Percentage.Numerator = 101
			f.Delay.Percentage.Denominator = typev3.FractionalPercent_HUNDRED
			r.TypedPerFilterConfig[pilot.FaultFilter] = mustAny(f)
		}, "routes[0]: fault.delay.percent: must be between 0 and 100"},
		{func(t *testing.T, r *route.Route) {
			f := faultOf(t, r)
			f.MaxActiveFaults = wrapperspb.UInt32(3)
			r.TypedPerFilterConfig[pilot.FaultFilter] = mustAny(f)
		}, "fault: the sidecar supports delay, abort and headers only"},
		{func(t *testing.T, r *route.Route) {
			l := rateLimitOf(t, r)
			l.FilterEnforced.DefaultValue.Numerator = 50
			r.TypedPerFilterConfig[pilot.RateLimitFilter] = mustAny(l)
		}, "filter_enforced"},
		{func(t *testing.T, r *route.Route) {
			l := rateLimitOf(t, r)
			l.TokenBucket.FillInterval = durationpb.New(time.Second)
			r.TypedPerFilterConfig[pilot.RateLimitFilter] = mustAny(l)
		}, "metadata octomesh.rate_limit.requests_per_second 1000 disagrees with the token bucket's 20/s"},
		{func(t *testing.T, r *route.Route) {
			r.Metadata.FilterMetadata["octomesh"].Fields["quota"] = structpb.NewBoolValue(true)
		}, "metadata octomesh.quota: unknown"},
		{func(t *testing.T, r *route.Route) {
			r.TypedPerFilterConfig["envoy.filters.http.cors"] = mustAny(&route.RetryPolicy{})
		}, `typed_per_filter_config["envoy.filters.http.cors"]: type.googleapis.com/envoy.config.route.v3.RetryPolicy is not a filter the sidecar has`},
	}
	for _, tc := range cases {
		rc, r := governedRC(t)
		tc.change(t, r)
		if _, err := translateRoutes(rc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v\nwant %q", err, tc.want)
		}
	}

	// What may be left out or marked optional is accepted.
	rc, r := governedRC(t)
	r.TypedPerFilterConfig["envoy.filters.http.cors"] = mustAny(&route.FilterConfig{Config: mustAny(&route.RetryPolicy{}), IsOptional: true})
	r.TypedPerFilterConfig[pilot.RateLimitFilter] = mustAny(&route.FilterConfig{Config: r.TypedPerFilterConfig[pilot.RateLimitFilter], IsOptional: true})
	r.TypedPerFilterConfig[pilot.FaultFilter] = mustAny(&fault.HTTPFault{})
	out, err := translateRoutes(rc)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Fault != nil || out[0].RateLimit == nil || out[0].RateLimit.RequestsPerSecond != 1000 {
		t.Errorf("an empty fault injects nothing; an optional wrapper of a known filter is read: %+v %+v", out[0].Fault, out[0].RateLimit)
	}
}

// TestClusterRefusals: what the sidecar cannot honour in a cluster's
// policies is refused, naming the cluster and the field.
func TestClusterRefusals(t *testing.T) {
	full := policyClusters()[5]
	cases := []struct {
		change func(c *cluster.Cluster)
		want   string
	}{
		{func(c *cluster.Cluster) { c.CircuitBreakers.Thresholds[0].Priority = core.RoutingPriority_HIGH },
			`cluster "echo": circuit_breakers.thresholds[0]: the sidecar has one priority`},
		{func(c *cluster.Cluster) { c.CircuitBreakers.Thresholds[0].MaxConnections = wrapperspb.UInt32(10) }, "max_connections"},
		{func(c *cluster.Cluster) { c.CircuitBreakers.Thresholds[0].MaxRequests = wrapperspb.UInt32(0) },
			`cluster "echo": circuit_breaker.max_requests: must be at least 1`},
		{func(c *cluster.Cluster) {
			c.CircuitBreakers.Thresholds[0].RetryBudget.MinRetryConcurrency = wrapperspb.UInt32(3)
		},
			"retry_budget.min_retry_concurrency: not supported"},
		{func(c *cluster.Cluster) { c.OutlierDetection.EnforcingConsecutive_5Xx = nil }, "outlier_detection.enforcing_consecutive_5xx"},
		{func(c *cluster.Cluster) { c.OutlierDetection.EnforcingSuccessRate = wrapperspb.UInt32(100) }, "outlier_detection.enforcing_success_rate"},
		{func(c *cluster.Cluster) { c.OutlierDetection.EnforcingFailurePercentage = wrapperspb.UInt32(50) },
			"outlier_detection.enforcing_failure_percentage 50"},
		{func(c *cluster.Cluster) { c.OutlierDetection.FailurePercentageMinimumHosts = wrapperspb.UInt32(5) },
			"outlier_detection.failure_percentage_minimum_hosts"},
		{func(c *cluster.Cluster) {
			c.Metadata.FilterMetadata["octomesh"].Fields["outlier_detection"].GetStructValue().Fields["probe"] = structpb.NewStringValue("ping")
		}, `cluster "echo": outlier_detection.probe: "ping" is not a probe`},
		{func(c *cluster.Cluster) {
			c.Metadata.FilterMetadata["octomesh"].Fields["outlier_detection"].GetStructValue().Fields["jitter"] = structpb.NewStringValue("1s")
		}, "metadata octomesh.outlier_detection.jitter: unknown"},
		{func(c *cluster.Cluster) { c.OutlierDetection = nil }, "metadata octomesh.outlier_detection without outlier_detection"},
		{func(c *cluster.Cluster) {
			c.Metadata.FilterMetadata["octomesh"].Fields["lb"] = structpb.NewStringValue("x")
		}, "metadata octomesh.lb: unknown"},
	}
	for _, tc := range cases {
		c, err := pilot.BuildCluster("echo", &full)
		if err != nil {
			t.Fatal(err)
		}
		c = reencode(t, c)
		tc.change(c)
		if _, err := translateCluster(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v\nwant %q", err, tc.want)
		}
	}
}

// TestRulesWithHeadersAndSplitsApply: rules that differ only in their
// headers are all applied, and a rule waits until every cluster it names
// (split and mirror) is live; the clusters it names are subscribed.
func TestRulesWithHeadersAndSplitsApply(t *testing.T) {
	ft := &fakeTarget{}
	c := newTestClient(t, ft)
	_ = c.Subscribe("echo")
	_ = c.handle(response(typeURLs[kCluster], nil, edsCluster("echo")))
	_ = c.handle(response(typeURLs[kEndpoint], nil, assignment("echo", lbEndpoint("10.0.0.1", 7000))))
	rules := []config.Route{
		{Service: "echo", Method: "*", Cluster: "echo"},
		{Service: "echo", Method: "*", Tags: map[string]string{"env": "canary"}, Split: []config.WeightedCluster{{Cluster: "echo", Weight: 1}, {Cluster: "echo-v2", Weight: 1}}},
		{Service: "echo", Method: "*", Headers: map[string]string{"om-lane": "blue"}, Cluster: "echo", Mirror: &config.Mirror{Cluster: "echo-shadow", Percent: 5}},
	}
	rc, err := pilot.BuildRouteConfiguration("web", rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.handle(response(typeURLs[kRoute], nil, rc)); err != nil {
		t.Fatal(err)
	}
	subs := c.Status().Subscriptions
	sort.Strings(subs)
	if strings.Join(subs, ",") != "echo,echo-shadow,echo-v2" {
		t.Errorf("subscriptions %v: want the clusters the rules name", subs)
	}
	ft.takeCalls()
	for _, name := range []string{"echo-v2", "echo-shadow"} {
		_ = c.handle(response(typeURLs[kCluster], nil, edsCluster(name)))
		if err := c.handle(response(typeURLs[kEndpoint], nil, assignment(name, lbEndpoint("10.0.0.2", 7000)))); err != nil {
			t.Fatal(err)
		}
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var keys []string
	for i := range ft.routes {
		if ft.routes[i].Service == "echo" {
			keys = append(keys, strings.ReplaceAll(ft.routes[i].MatchKey(), "\x00", " "))
		}
	}
	sort.Strings(keys)
	if got := strings.Join(keys, "|"); got != "echo *|echo * RPC_PERSIST_env=canary|echo * om-lane=blue" {
		t.Errorf("applied echo routes %q: want all three rules", got)
	}
}
