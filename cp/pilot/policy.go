package pilot

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultcommon "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	fault "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	ratelimit "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	previoushosts "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// The governance policies in Envoy's types (docs/control-plane.md has the
// table). Where Envoy has no field for a setting it travels in the
// resource's metadata, filter_metadata["octomesh"]; proxy/xds/translate.go
// reads all of it back and refuses what it cannot honour.

// HTTP filter names, the keys of typed_per_filter_config.
const (
	FaultFilter     = "envoy.filters.http.fault"
	RateLimitFilter = "envoy.filters.http.local_ratelimit"
	routerFilter    = "router"
)

// Retry conditions: a call that cannot have reached the server is always
// retried; an idempotent one also after a reset (its connection was lost
// once written) or a timeout. gRPC clients read "unavailable" and
// "deadline-exceeded" as status codes.
const (
	RetryOn           = "connect-failure,refused-stream,unavailable"
	RetryOnIdempotent = RetryOn + ",reset,deadline-exceeded"
	previousHosts     = "envoy.retry_host_predicates.previous_hosts"
)

// FaultAbortStatus is the gRPC status of an abort fault: UNAVAILABLE, as a
// real outage looks to a gRPC client. A sidecar answers an abort with its
// "fault" error instead.
const FaultAbortStatus = uint32(codes.Unavailable)

// rateLimitStatPrefix names the local rate limit's stats in Envoy.
const rateLimitStatPrefix = "octomesh_rate_limit"

// minFillIntervalNanos is the shortest token bucket fill interval Envoy
// accepts.
const minFillIntervalNanos = 50e6

// buildRoute encodes one rule whose call must carry the string info keys
// and values of match. For a proxyless gRPC client (proxyless) the method
// matches the last element of a gRPC path (/package.Service/Method),
// header names are lower case (gRPC metadata keys), a timeout is also the
// route's max_stream_duration (gRPC reads that one), a retry of one attempt
// is left out (gRPC refuses num_retries 0) and the rate limit filter's
// config is marked optional (gRPC has none).
func buildRoute(r *config.Route, match [][2]string, proxyless bool) (*route.Route, error) {
	m := &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}}
	switch {
	case r.Method == "*":
	case proxyless:
		m.PathSpecifier = &route.RouteMatch_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: "^/[^/]+/" + regexp.QuoteMeta(r.Method) + "$"}}
	default:
		m.PathSpecifier = &route.RouteMatch_Path{Path: "/" + r.Method}
	}
	for _, kv := range match {
		name := kv[0]
		if proxyless {
			name = strings.ToLower(name)
		}
		m.Headers = append(m.Headers, exactHeader(name, kv[1]))
	}
	a := &route.RouteAction{}
	if len(r.Split) > 0 {
		wc := &route.WeightedCluster{}
		for _, w := range r.Split {
			wc.Clusters = append(wc.Clusters, &route.WeightedCluster_ClusterWeight{Name: w.Cluster, Weight: wrapperspb.UInt32(w.Weight)})
		}
		a.ClusterSpecifier = &route.RouteAction_WeightedClusters{WeightedClusters: wc}
	} else {
		a.ClusterSpecifier = &route.RouteAction_Cluster{Cluster: r.Cluster}
	}
	if r.Timeout > 0 {
		a.Timeout = durationpb.New(r.Timeout.Std())
		if proxyless {
			a.MaxStreamDuration = &route.RouteAction_MaxStreamDuration{MaxStreamDuration: durationpb.New(r.Timeout.Std())}
		}
	}
	if rt := r.Retry; rt != nil && (!proxyless || rt.Attempts > 1) {
		p, err := retryPolicy(rt)
		if err != nil {
			return nil, err
		}
		a.RetryPolicy = p
	}
	if mr := r.Mirror; mr != nil {
		a.RequestMirrorPolicies = []*route.RouteAction_RequestMirrorPolicy{{
			Cluster:         mr.Cluster,
			RuntimeFraction: &core.RuntimeFractionalPercent{DefaultValue: fractionalPercent(mr.Percent)},
		}}
	}
	out := &route.Route{Name: r.Service + "/" + r.Method, Match: m, Action: &route.Route_Route{Route: a}}
	filters := map[string]*anypb.Any{}
	if f := r.Fault; f != nil {
		cfg, err := anypb.New(httpFault(f))
		if err != nil {
			return nil, err
		}
		filters[FaultFilter] = cfg
	}
	if rl := r.RateLimit; rl != nil {
		cfg, err := anypb.New(localRateLimit(rl))
		if err == nil && proxyless {
			cfg, err = anypb.New(&route.FilterConfig{Config: cfg, IsOptional: true})
		}
		if err != nil {
			return nil, err
		}
		filters[RateLimitFilter] = cfg
		md := map[string]any{"requests_per_second": rl.RequestsPerSecond}
		if rl.PerCaller {
			md["per_caller"] = true
		}
		s, err := structpb.NewStruct(map[string]any{"rate_limit": md})
		if err != nil {
			return nil, err
		}
		out.Metadata = &core.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataNamespace: s}}
	}
	if len(filters) > 0 {
		out.TypedPerFilterConfig = filters
	}
	return out, nil
}

func exactHeader(name, value string) *route.HeaderMatcher {
	return &route.HeaderMatcher{Name: name, HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{
		StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: value}}}}
}

func retryPolicy(rt *config.Retry) (*route.RetryPolicy, error) {
	pred, err := anypb.New(&previoushosts.PreviousHostsPredicate{})
	if err != nil {
		return nil, err
	}
	p := &route.RetryPolicy{
		RetryOn:    RetryOn,
		NumRetries: wrapperspb.UInt32(uint32(max(rt.Attempts-1, 0))),
		RetryHostPredicate: []*route.RetryPolicy_RetryHostPredicate{{
			Name: previousHosts, ConfigType: &route.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: pred}}},
	}
	if rt.Idempotent {
		p.RetryOn = RetryOnIdempotent
	}
	if rt.PerTryTimeout > 0 {
		p.PerTryTimeout = durationpb.New(rt.PerTryTimeout.Std())
	}
	return p, nil
}

// fractionalPercent is percent (0-100) as Envoy writes a share: per
// hundred when whole, else per million (a resolution of 0.0001%).
func fractionalPercent(percent float64) *typev3.FractionalPercent {
	if percent == math.Trunc(percent) {
		return &typev3.FractionalPercent{Numerator: uint32(percent), Denominator: typev3.FractionalPercent_HUNDRED}
	}
	return &typev3.FractionalPercent{Numerator: uint32(math.Round(percent * 1e4)), Denominator: typev3.FractionalPercent_MILLION}
}

func httpFault(f *config.Fault) *fault.HTTPFault {
	h := &fault.HTTPFault{}
	if d := f.Delay; d != nil {
		h.Delay = &faultcommon.FaultDelay{
			FaultDelaySecifier: &faultcommon.FaultDelay_FixedDelay{FixedDelay: durationpb.New(d.Duration.Std())},
			Percentage:         fractionalPercent(d.Percent),
		}
	}
	if a := f.Abort; a != nil {
		h.Abort = &fault.FaultAbort{ErrorType: &fault.FaultAbort_GrpcStatus{GrpcStatus: FaultAbortStatus}, Percentage: fractionalPercent(a.Percent)}
	}
	keys := make([]string, 0, len(f.Headers))
	for k := range f.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Headers = append(h.Headers, exactHeader(k, f.Headers[k]))
	}
	return h
}

// localRateLimit is Envoy's token bucket for rl: max_tokens is the burst;
// tokens_per_fill over fill_interval is the rate, with a fill of at least
// Envoy's 50ms where the burst allows it. The interval is whole
// nanoseconds, so the rate it gives may be off by a little: the exact rate
// travels in the route's metadata too.
func localRateLimit(rl *config.RateLimit) *ratelimit.LocalRateLimit {
	burst := rl.BurstOrDefault()
	tokens := max(1, min(burst, int(math.Ceil(rl.RequestsPerSecond*minFillIntervalNanos/1e9))))
	interval := math.Round(float64(tokens) * 1e9 / rl.RequestsPerSecond)
	hundred := func() *core.RuntimeFractionalPercent {
		return &core.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}}
	}
	return &ratelimit.LocalRateLimit{
		StatPrefix: rateLimitStatPrefix,
		TokenBucket: &typev3.TokenBucket{
			MaxTokens:     clampU32(burst),
			TokensPerFill: wrapperspb.UInt32(clampU32(tokens)),
			FillInterval:  durationpb.New(time.Duration(max(interval, 1))),
		},
		FilterEnabled:  hundred(),
		FilterEnforced: hundred(),
	}
}

func clampU32(n int) uint32 { return uint32(min(max(n, 0), math.MaxUint32)) }

// clusterPolicies adds service's policy to its Cluster c: circuit
// breakers, retry budget, outlier detection, and the octomesh metadata for
// what Envoy has no field for.
func clusterPolicies(c *cluster.Cluster, p *registry.ServicePolicy) error {
	md := map[string]any{}
	if cb, rb := p.CircuitBreaker, p.RetryBudget; cb != nil || rb != nil {
		th := &cluster.CircuitBreakers_Thresholds{Priority: core.RoutingPriority_DEFAULT}
		if cb != nil {
			th.MaxRequests = wrapperspb.UInt32(clampU32(cb.MaxRequests))
			th.MaxPendingRequests = wrapperspb.UInt32(clampU32(cb.MaxPending))
			th.MaxRetries = wrapperspb.UInt32(clampU32(cb.MaxRetries))
		}
		if rb != nil {
			th.RetryBudget = &cluster.CircuitBreakers_Thresholds_RetryBudget{BudgetPercent: &typev3.Percent{Value: rb.Percent}}
			md["retry_budget"] = map[string]any{"min_retries_per_second": rb.MinRetriesPerSecond}
		}
		c.CircuitBreakers = &cluster.CircuitBreakers{Thresholds: []*cluster.CircuitBreakers_Thresholds{th}}
	}
	if od := p.OutlierDetection; od != nil {
		c.OutlierDetection = outlierDetection(od)
		m := map[string]any{"probe_interval": od.ProbeInterval.Std().String()}
		if od.LatencyFactor != 0 {
			m["latency_factor"] = od.LatencyFactor
		}
		if od.Probe != "" {
			m["probe"] = od.Probe
		}
		md["outlier_detection"] = m
	}
	if len(md) > 0 {
		s, err := structpb.NewStruct(md)
		if err != nil {
			return fmt.Errorf("pilot: cluster %q metadata: %w", c.Name, err)
		}
		c.Metadata = &core.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataNamespace: s}}
	}
	return nil
}

// outlierDetection is od in Envoy's terms. Consecutive failures are
// gateway failures (the mesh's own errors: unreachable, overloaded,
// timeouts...), not the app's; Envoy's checks that the sidecar does not
// have (consecutive 5xx, success rate) are turned off explicitly, as their
// defaults would turn them on.
func outlierDetection(od *config.OutlierDetection) *cluster.OutlierDetection {
	o := &cluster.OutlierDetection{
		Interval:                           durationpb.New(od.Interval.Std()),
		BaseEjectionTime:                   durationpb.New(od.BaseEjectionTime.Std()),
		MaxEjectionTime:                    durationpb.New(od.MaxEjectionTime.Std()),
		MaxEjectionPercent:                 wrapperspb.UInt32(clampU32(od.MaxEjectionPercent)),
		EnforcingConsecutive_5Xx:           wrapperspb.UInt32(0),
		EnforcingSuccessRate:               wrapperspb.UInt32(0),
		EnforcingConsecutiveGatewayFailure: wrapperspb.UInt32(0),
		EnforcingFailurePercentage:         wrapperspb.UInt32(0),
		FailurePercentageRequestVolume:     wrapperspb.UInt32(clampU32(od.MinRequests)),
	}
	if od.ConsecutiveFailures > 0 {
		o.ConsecutiveGatewayFailure = wrapperspb.UInt32(clampU32(od.ConsecutiveFailures))
		o.EnforcingConsecutiveGatewayFailure = wrapperspb.UInt32(100)
	}
	if od.FailurePercent > 0 {
		o.FailurePercentageThreshold = wrapperspb.UInt32(clampU32(od.FailurePercent))
		o.EnforcingFailurePercentage = wrapperspb.UInt32(100)
		o.FailurePercentageMinimumHosts = wrapperspb.UInt32(1)
	}
	return o
}
