package xds

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	fault "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	ratelimit "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	previoushosts "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/octomesh/octomesh/config"
)

// The governance policies, read back from Envoy's types (cp/pilot/policy.go
// writes them; docs/control-plane.md has the table). What the sidecar cannot
// honour is an error naming the field, so that the update is NACKed rather
// than half applied.

// Retry conditions the sidecar has: calls that cannot have reached the
// server, and with Retry.Idempotent also resets and timeouts.
var (
	retryOnSafe       = []string{"connect-failure", "refused-stream", "unavailable"}
	retryOnIdempotent = append(append([]string(nil), retryOnSafe...), "reset", "deadline-exceeded")
)

const previousHosts = "envoy.retry_host_predicates.previous_hosts"

// faultAbortGRPCStatus is the abort status the pilot sends (UNAVAILABLE):
// the sidecar answers an abort with its "fault" error.
const faultAbortGRPCStatus = 14

// translateHeaders reads a route's header matches: exact string matches
// only; a key with the tag prefix (config.TagKey) and a valid tag name
// after it is a tag.
func translateHeaders(hs []*route.HeaderMatcher, field string) (headers, tags map[string]string, err error) {
	tagPrefix := config.TagKey("")
	seen := map[string]bool{}
	for i, h := range hs {
		f := fmt.Sprintf("%s[%d]", field, i)
		value, err := exactValue(h)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", f, err)
		}
		if seen[h.GetName()] {
			return nil, nil, fmt.Errorf("%s: header %q is matched twice", f, h.GetName())
		}
		seen[h.GetName()] = true
		if tag, ok := strings.CutPrefix(h.GetName(), tagPrefix); ok && config.CheckName(tag) == nil {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[tag] = value
			continue
		}
		if headers == nil {
			headers = map[string]string{}
		}
		headers[h.GetName()] = value
	}
	return headers, tags, nil
}

func exactValue(h *route.HeaderMatcher) (string, error) {
	if h.GetInvertMatch() || h.GetTreatMissingHeaderAsEmpty() {
		return "", fmt.Errorf("header %q: only exact string matches are supported (no invert_match, treat_missing_header_as_empty)", h.GetName())
	}
	if s, ok := h.GetHeaderMatchSpecifier().(*route.HeaderMatcher_StringMatch); ok && !s.StringMatch.GetIgnoreCase() {
		if e, ok := s.StringMatch.GetMatchPattern().(*matcher.StringMatcher_Exact); ok {
			return e.Exact, nil
		}
	}
	return "", fmt.Errorf("header %q: only exact string matches are supported", h.GetName())
}

// translateAction reads a route's action: one cluster or weighted
// clusters, a timeout, a retry policy and a mirror.
func translateAction(a *route.RouteAction, cr *config.Route) error {
	switch cs := a.GetClusterSpecifier().(type) {
	case *route.RouteAction_Cluster:
		cr.Cluster = cs.Cluster
		if err := config.CheckName(cr.Cluster); err != nil {
			return fmt.Errorf("route.cluster: %v", err)
		}
	case *route.RouteAction_WeightedClusters:
		for i, w := range cs.WeightedClusters.GetClusters() {
			f := fmt.Sprintf("route.weighted_clusters.clusters[%d]", i)
			if err := config.CheckName(w.GetName()); err != nil {
				return fmt.Errorf("%s.name: %v", f, err)
			}
			if w.GetWeight() == nil {
				return fmt.Errorf("%s.weight: missing", f)
			}
			cr.Split = append(cr.Split, config.WeightedCluster{Cluster: w.GetName(), Weight: w.GetWeight().GetValue()})
		}
	default:
		return fmt.Errorf("the action must route to one cluster or to weighted_clusters")
	}
	if d := a.GetTimeout().AsDuration(); d < 0 {
		return fmt.Errorf("route.timeout %s is negative", d)
	} else if a.GetTimeout() != nil {
		cr.Timeout = config.Duration(d)
	}
	if rp := a.GetRetryPolicy(); rp != nil {
		rt, err := translateRetry(rp)
		if err != nil {
			return fmt.Errorf("route.retry_policy.%v", err)
		}
		cr.Retry = rt
	}
	switch mp := a.GetRequestMirrorPolicies(); len(mp) {
	case 0:
	case 1:
		if mp[0].GetClusterHeader() != "" || mp[0].GetCluster() == "" {
			return fmt.Errorf("route.request_mirror_policies[0].cluster: missing (cluster_header is not supported)")
		}
		if err := config.CheckName(mp[0].GetCluster()); err != nil {
			return fmt.Errorf("route.request_mirror_policies[0].cluster: %v", err)
		}
		pct := 100.0
		if rf := mp[0].GetRuntimeFraction(); rf != nil {
			var err error
			if pct, err = percentOf(rf.GetDefaultValue()); err != nil {
				return fmt.Errorf("route.request_mirror_policies[0].runtime_fraction: %v", err)
			}
		}
		cr.Mirror = &config.Mirror{Cluster: mp[0].GetCluster(), Percent: pct}
	default:
		return fmt.Errorf("route.request_mirror_policies: %d; the sidecar mirrors to one cluster", len(mp))
	}
	return nil
}

// translateRetry reads a retry policy: "retry_on: ..." errors name the
// field under retry_policy.
func translateRetry(rp *route.RetryPolicy) (*config.Retry, error) {
	var unsupported []string
	for field, set := range map[string]bool{
		"retry_priority":              rp.GetRetryPriority() != nil,
		"retry_options_predicates":    len(rp.GetRetryOptionsPredicates()) > 0,
		"retriable_status_codes":      len(rp.GetRetriableStatusCodes()) > 0,
		"retriable_headers":           len(rp.GetRetriableHeaders()) > 0,
		"retriable_request_headers":   len(rp.GetRetriableRequestHeaders()) > 0,
		"retry_back_off":              rp.GetRetryBackOff() != nil,
		"rate_limited_retry_back_off": rp.GetRateLimitedRetryBackOff() != nil,
		"per_try_idle_timeout":        rp.GetPerTryIdleTimeout() != nil,
	} {
		if set {
			unsupported = append(unsupported, field)
		}
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		return nil, fmt.Errorf("%s: not supported (the sidecar has retry_on, num_retries, per_try_timeout and the previous_hosts predicate)",
			strings.Join(unsupported, ", "))
	}
	on := strings.Split(rp.GetRetryOn(), ",")
	for i := range on {
		on[i] = strings.TrimSpace(on[i])
	}
	sort.Strings(on)
	rt := config.NewRetry()
	switch strings.Join(on, ",") {
	case sortedJoin(retryOnSafe):
	case sortedJoin(retryOnIdempotent):
		rt.Idempotent = true
	default:
		return nil, fmt.Errorf("retry_on %q: the sidecar retries on %q, or for idempotent methods on %q", rp.GetRetryOn(),
			strings.Join(retryOnSafe, ","), strings.Join(retryOnIdempotent, ","))
	}
	if n := rp.GetNumRetries(); n != nil {
		rt.Attempts = int(min(n.GetValue(), math.MaxInt32-1)) + 1
	}
	if d := rp.GetPerTryTimeout(); d != nil {
		if d.AsDuration() < 0 {
			return nil, fmt.Errorf("per_try_timeout %s is negative", d.AsDuration())
		}
		rt.PerTryTimeout = config.Duration(d.AsDuration())
	}
	for i, p := range rp.GetRetryHostPredicate() {
		if p.GetName() != previousHosts && !p.GetTypedConfig().MessageIs(&previoushosts.PreviousHostsPredicate{}) {
			return nil, fmt.Errorf("retry_host_predicate[%d] %q: the sidecar retries on another endpoint (%s) only", i, p.GetName(), previousHosts)
		}
	}
	return &rt, nil
}

func sortedJoin(s []string) string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return strings.Join(c, ",")
}

// percentOf reads a share as a percent.
func percentOf(fp *typev3.FractionalPercent) (float64, error) {
	n := float64(fp.GetNumerator())
	switch fp.GetDenominator() {
	case typev3.FractionalPercent_HUNDRED:
		return n, nil
	case typev3.FractionalPercent_TEN_THOUSAND:
		return n / 100, nil
	case typev3.FractionalPercent_MILLION:
		return n / 1e4, nil
	}
	return 0, fmt.Errorf("denominator %v is not supported", fp.GetDenominator())
}

// translateFilters reads a route's per-filter configs (fault, local rate
// limit; a config wrapped as optional that the sidecar does not know is
// skipped) and its octomesh metadata.
func translateFilters(r *route.Route, cr *config.Route) error {
	names := make([]string, 0, len(r.GetTypedPerFilterConfig()))
	for name := range r.GetTypedPerFilterConfig() {
		names = append(names, name)
	}
	sort.Strings(names)
	var rl *ratelimit.LocalRateLimit
	for _, name := range names {
		cfg := r.GetTypedPerFilterConfig()[name]
		f := fmt.Sprintf("typed_per_filter_config[%q]", name)
		optional := false
		if cfg.MessageIs(&route.FilterConfig{}) {
			var fc route.FilterConfig
			if err := cfg.UnmarshalTo(&fc); err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
			if fc.GetDisabled() {
				continue
			}
			cfg, optional = fc.GetConfig(), fc.GetIsOptional()
		}
		switch {
		case cfg.MessageIs(&fault.HTTPFault{}):
			var hf fault.HTTPFault
			if err := unmarshalFilter(cfg, &hf); err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
			ft, err := translateFault(&hf)
			if err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
			cr.Fault = ft
		case cfg.MessageIs(&ratelimit.LocalRateLimit{}):
			rl = &ratelimit.LocalRateLimit{}
			if err := unmarshalFilter(cfg, rl); err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
		case optional:
		default:
			return fmt.Errorf("%s: %s is not a filter the sidecar has (fault, local rate limit)", f, cfg.GetTypeUrl())
		}
	}
	md, err := octomeshMetadata(r.GetMetadata(), "rate_limit")
	if err != nil {
		return err
	}
	limit, err := translateRateLimit(rl, md["rate_limit"].GetStructValue())
	if err != nil {
		return fmt.Errorf("typed_per_filter_config[local_ratelimit]: %v", err)
	}
	cr.RateLimit = limit
	return nil
}

// unmarshalFilter decodes a filter's config and checks it as Envoy would.
func unmarshalFilter(cfg *anypb.Any, m interface {
	proto.Message
	Validate() error
}) error {
	if err := cfg.UnmarshalTo(m); err != nil {
		return err
	}
	return m.Validate()
}

// translateFault reads an HTTP fault; one with neither delay nor abort
// injects nothing (nil), as in Envoy.
func translateFault(h *fault.HTTPFault) (*config.Fault, error) {
	switch {
	case h.GetUpstreamCluster() != "", len(h.GetDownstreamNodes()) > 0, h.GetMaxActiveFaults() != nil, h.GetResponseRateLimit() != nil:
		return nil, fmt.Errorf("fault: the sidecar supports delay, abort and headers only")
	}
	f := &config.Fault{}
	if d := h.GetDelay(); d != nil {
		fixed := d.GetFixedDelay()
		if fixed == nil {
			return nil, fmt.Errorf("fault.delay: only a fixed_delay is supported")
		}
		pct, err := percentOf(d.GetPercentage())
		if err != nil {
			return nil, fmt.Errorf("fault.delay.percentage: %v", err)
		}
		f.Delay = &config.FaultDelay{Percent: pct, Duration: config.Duration(fixed.AsDuration())}
	}
	if a := h.GetAbort(); a != nil {
		if s, ok := a.GetErrorType().(*fault.FaultAbort_GrpcStatus); !ok || s.GrpcStatus != faultAbortGRPCStatus {
			return nil, fmt.Errorf("fault.abort: the sidecar answers an abort with its fault error, which is grpc_status %d (UNAVAILABLE); got %v",
				faultAbortGRPCStatus, a.GetErrorType())
		}
		pct, err := percentOf(a.GetPercentage())
		if err != nil {
			return nil, fmt.Errorf("fault.abort.percentage: %v", err)
		}
		f.Abort = &config.FaultAbort{Percent: pct}
	}
	if f.Delay == nil && f.Abort == nil {
		return nil, nil
	}
	headers, tags, err := translateHeaders(h.GetHeaders(), "fault.headers")
	if err != nil {
		return nil, err
	}
	for k, v := range tags { // a fault's headers are plain keys
		if headers == nil {
			headers = map[string]string{}
		}
		headers[config.TagKey(k)] = v
	}
	f.Headers = headers
	return f, nil
}

// translateRateLimit reads a local rate limit (nil: none) and the
// route's octomesh rate_limit metadata: the exact rate (the token bucket's
// whole-nanosecond interval may be off by a little) and per_caller.
func translateRateLimit(rl *ratelimit.LocalRateLimit, md *structpb.Struct) (*config.RateLimit, error) {
	if rl == nil || rl.GetFilterEnabled() == nil || rl.GetFilterEnabled().GetDefaultValue().GetNumerator() == 0 {
		if md != nil {
			return nil, fmt.Errorf("metadata octomesh.rate_limit without an enabled local rate limit")
		}
		return nil, nil // disabled on this route, as in Envoy
	}
	all := func(p *core.RuntimeFractionalPercent) bool {
		pct, err := percentOf(p.GetDefaultValue())
		return err == nil && pct == 100
	}
	switch {
	case !all(rl.GetFilterEnabled()), !all(rl.GetFilterEnforced()):
		return nil, fmt.Errorf("filter_enabled and filter_enforced: the sidecar enforces its rate limits on every call (want 100%%)")
	case len(rl.GetDescriptors()) > 0, rl.GetLocalRateLimitPerDownstreamConnection():
		return nil, fmt.Errorf("descriptors and local_rate_limit_per_downstream_connection are not supported (per caller: metadata octomesh.rate_limit.per_caller)")
	}
	tb := rl.GetTokenBucket()
	if tb.GetMaxTokens() == 0 {
		return nil, fmt.Errorf("token_bucket.max_tokens: 0 (refuse every call) is not supported")
	}
	tokens := 1.0
	if tb.GetTokensPerFill() != nil {
		tokens = float64(tb.GetTokensPerFill().GetValue())
	}
	rate := tokens / tb.GetFillInterval().AsDuration().Seconds()
	out := &config.RateLimit{RequestsPerSecond: rate, Burst: int(tb.GetMaxTokens())}
	fields, err := structFields(md, "metadata octomesh.rate_limit", "requests_per_second", "per_caller")
	if err != nil {
		return nil, err
	}
	if v, ok := fields["requests_per_second"]; ok {
		exact, err := number(v, "metadata octomesh.rate_limit.requests_per_second")
		if err != nil {
			return nil, err
		}
		if !(math.Abs(exact-rate) <= 0.01*rate) {
			return nil, fmt.Errorf("metadata octomesh.rate_limit.requests_per_second %v disagrees with the token bucket's %v/s", exact, rate)
		}
		out.RequestsPerSecond = exact
	}
	if v, ok := fields["per_caller"]; ok {
		b, ok := v.GetKind().(*structpb.Value_BoolValue)
		if !ok {
			return nil, fmt.Errorf("metadata octomesh.rate_limit.per_caller: want true or false")
		}
		out.PerCaller = b.BoolValue
	}
	return out, nil
}

// octomeshMetadata returns the fields of md's octomesh namespace; a key
// not in known is an error.
func octomeshMetadata(md *core.Metadata, known ...string) (map[string]*structpb.Value, error) {
	return structFields(md.GetFilterMetadata()[metadataNamespace], "metadata octomesh", known...)
}

func structFields(s *structpb.Struct, field string, known ...string) (map[string]*structpb.Value, error) {
	f := s.GetFields()
	for k := range f {
		found := false
		for _, kn := range known {
			found = found || k == kn
		}
		if !found {
			return nil, fmt.Errorf("%s.%s: unknown (known: %s)", field, k, strings.Join(known, ", "))
		}
	}
	return f, nil
}

func number(v *structpb.Value, field string) (float64, error) {
	n, ok := v.GetKind().(*structpb.Value_NumberValue)
	if !ok {
		return 0, fmt.Errorf("%s: want a number", field)
	}
	return n.NumberValue, nil
}

// translateClusterPolicies reads a cluster's circuit breakers, retry
// budget and outlier detection, and its octomesh metadata (hash_key too).
func translateClusterPolicies(c *cluster.Cluster, cc *config.Cluster) error {
	md, err := octomeshMetadata(c.GetMetadata(), "hash_key", "retry_budget", "outlier_detection")
	if err != nil {
		return err
	}
	if v, ok := md["hash_key"]; ok {
		cc.HashKey = v.GetStringValue()
	}
	cb := c.GetCircuitBreakers()
	if len(cb.GetPerHostThresholds()) > 0 {
		return fmt.Errorf("circuit_breakers.per_host_thresholds: not supported")
	}
	for i, th := range cb.GetThresholds() {
		f := fmt.Sprintf("circuit_breakers.thresholds[%d]", i)
		switch {
		case th.GetPriority() != core.RoutingPriority_DEFAULT || i > 0:
			return fmt.Errorf("%s: the sidecar has one priority (DEFAULT) and one set of thresholds", f)
		case th.GetMaxConnections() != nil, th.GetMaxConnectionPools() != nil:
			return fmt.Errorf("%s: max_connections and max_connection_pools are not supported (connections per endpoint are the sidecar's own)", f)
		}
		if th.GetMaxRequests() != nil || th.GetMaxPendingRequests() != nil || th.GetMaxRetries() != nil {
			b := config.NewCircuitBreaker()
			if v := th.GetMaxRequests(); v != nil {
				b.MaxRequests = int(v.GetValue())
			}
			if v := th.GetMaxPendingRequests(); v != nil {
				b.MaxPending = int(v.GetValue())
			}
			if v := th.GetMaxRetries(); v != nil {
				b.MaxRetries = int(v.GetValue())
			}
			cc.CircuitBreaker = &b
		}
		if rb := th.GetRetryBudget(); rb != nil {
			if rb.GetMinRetryConcurrency() != nil {
				return fmt.Errorf("%s.retry_budget.min_retry_concurrency: not supported (the sidecar's floor is per second: metadata octomesh.retry_budget.min_retries_per_second)", f)
			}
			b := config.NewRetryBudget()
			if p := rb.GetBudgetPercent(); p != nil {
				b.Percent = p.GetValue()
			}
			fields, err := structFields(md["retry_budget"].GetStructValue(), "metadata octomesh.retry_budget", "min_retries_per_second")
			if err != nil {
				return err
			}
			if v, ok := fields["min_retries_per_second"]; ok {
				if b.MinRetriesPerSecond, err = number(v, "metadata octomesh.retry_budget.min_retries_per_second"); err != nil {
					return err
				}
			}
			cc.RetryBudget = &b
		}
	}
	if _, ok := md["retry_budget"]; ok && cc.RetryBudget == nil {
		return fmt.Errorf("metadata octomesh.retry_budget without circuit_breakers.thresholds[0].retry_budget")
	}
	if od := c.GetOutlierDetection(); od != nil {
		o, err := translateOutlierDetection(od, md["outlier_detection"].GetStructValue())
		if err != nil {
			return err
		}
		cc.OutlierDetection = o
	} else if _, ok := md["outlier_detection"]; ok {
		return fmt.Errorf("metadata octomesh.outlier_detection without outlier_detection")
	}
	return nil
}

// translateOutlierDetection reads Envoy's outlier detection: consecutive
// failures are gateway failures (enforced 100%, or 0: off); the failure
// percentage is enforced 100% (or 0: off) with any number of hosts; Envoy's
// checks the sidecar does not have (consecutive 5xx, success rate, local
// origin split) must be turned off; latency_factor, probe and
// probe_interval come from the octomesh metadata.
func translateOutlierDetection(od *cluster.OutlierDetection, md *structpb.Struct) (*config.OutlierDetection, error) {
	o := config.NewOutlierDetection()
	const f = "outlier_detection."
	enforced := func(name string, v interface{ GetValue() uint32 }, isSet bool, dflt uint32) (bool, error) {
		e := dflt
		if isSet {
			e = v.GetValue()
		}
		switch e {
		case 0:
			return false, nil
		case 100:
			return true, nil
		}
		return false, fmt.Errorf("%s%s %d: the sidecar enforces a check fully (100) or not at all (0)", f, name, e)
	}
	switch {
	case od.GetEnforcingConsecutive_5Xx() == nil || od.GetEnforcingConsecutive_5Xx().GetValue() != 0:
		return nil, fmt.Errorf("%senforcing_consecutive_5xx: the sidecar does not count the app's errors; set it to 0 and use consecutive_gateway_failure", f)
	case od.GetEnforcingSuccessRate() == nil || od.GetEnforcingSuccessRate().GetValue() != 0:
		return nil, fmt.Errorf("%senforcing_success_rate: the sidecar has no success rate check (latency_factor is its own); set it to 0", f)
	case od.GetSplitExternalLocalOriginErrors():
		return nil, fmt.Errorf("%ssplit_external_local_origin_errors: not supported", f)
	}
	on, err := enforced("enforcing_consecutive_gateway_failure", od.GetEnforcingConsecutiveGatewayFailure(), od.GetEnforcingConsecutiveGatewayFailure() != nil, 0)
	if err != nil {
		return nil, err
	}
	o.ConsecutiveFailures = 0
	if on {
		o.ConsecutiveFailures = 5
		if v := od.GetConsecutiveGatewayFailure(); v != nil {
			o.ConsecutiveFailures = int(v.GetValue())
		}
	}
	if on, err = enforced("enforcing_failure_percentage", od.GetEnforcingFailurePercentage(), od.GetEnforcingFailurePercentage() != nil, 0); err != nil {
		return nil, err
	}
	if on {
		o.FailurePercent = 85
		if v := od.GetFailurePercentageThreshold(); v != nil {
			o.FailurePercent = int(v.GetValue())
		}
		if v := od.GetFailurePercentageMinimumHosts(); v == nil || v.GetValue() > 1 {
			return nil, fmt.Errorf("%sfailure_percentage_minimum_hosts: the sidecar judges an endpoint however many the cluster has; set it to 1 (Envoy's default is 5)", f)
		}
	}
	if v := od.GetFailurePercentageRequestVolume(); v != nil {
		o.MinRequests = int(v.GetValue())
	}
	if d := od.GetInterval(); d != nil {
		o.Interval = config.Duration(d.AsDuration())
	}
	if d := od.GetBaseEjectionTime(); d != nil {
		o.BaseEjectionTime = config.Duration(d.AsDuration())
	}
	if d := od.GetMaxEjectionTime(); d != nil {
		o.MaxEjectionTime = config.Duration(d.AsDuration())
	}
	if v := od.GetMaxEjectionPercent(); v != nil {
		o.MaxEjectionPercent = int(v.GetValue())
	}
	fields, err := structFields(md, "metadata octomesh.outlier_detection", "latency_factor", "probe", "probe_interval")
	if err != nil {
		return nil, err
	}
	if v, ok := fields["latency_factor"]; ok {
		if o.LatencyFactor, err = number(v, "metadata octomesh.outlier_detection.latency_factor"); err != nil {
			return nil, err
		}
	}
	if v, ok := fields["probe"]; ok {
		o.Probe = v.GetStringValue()
	}
	if v, ok := fields["probe_interval"]; ok {
		d, err := time.ParseDuration(v.GetStringValue())
		if err != nil {
			return nil, fmt.Errorf("metadata octomesh.outlier_detection.probe_interval: %q is not a duration", v.GetStringValue())
		}
		o.ProbeInterval = config.Duration(d)
	}
	return &o, nil
}
