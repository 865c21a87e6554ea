package config

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// The governance policies of routes and clusters. docs/governance.md says
// what each does, how they combine, and where a default is Envoy's.

// WeightedCluster is one cluster of a route's split and its share.
type WeightedCluster struct {
	Cluster string `yaml:"cluster" json:"cluster"`
	// Weight is the cluster's share relative to the split's other weights.
	Weight uint32 `yaml:"weight" json:"weight"`
}

// Retry retries a call that failed in a way that allows it, to another
// endpoint, within the route's timeout and the cluster's retry budget.
type Retry struct {
	// Attempts is the most tries of one call, the first included.
	Attempts int `yaml:"attempts" json:"attempts"`
	// PerTryTimeout bounds each try; 0: a try may take whatever is left of
	// the call's deadline.
	PerTryTimeout Duration `yaml:"per_try_timeout" json:"per_try_timeout,omitempty"`
	// Idempotent says the route's methods may run twice: calls are then
	// also retried after a (per-try) timeout and after their connection
	// was lost once they had been written. Without it only calls that
	// cannot have reached the server are retried.
	Idempotent bool `yaml:"idempotent" json:"idempotent,omitempty"`
}

func (r *Retry) setDefaults() { r.Attempts = 2 }

// NewRetry returns a Retry with every default set.
func NewRetry() Retry {
	var r Retry
	r.setDefaults()
	return r
}

// MaxAttempts bounds Retry.Attempts.
const MaxAttempts = 10

// RateLimit is a token bucket in front of a route.
type RateLimit struct {
	// RequestsPerSecond is the rate the bucket refills at.
	RequestsPerSecond float64 `yaml:"requests_per_second" json:"requests_per_second"`
	// Burst is how many calls may pass at once after a quiet spell
	// (the bucket's size); 0: a tenth of a second's worth, at least 1.
	Burst int `yaml:"burst" json:"burst,omitempty"`
	// PerCaller gives every calling app a bucket of its own: the identity
	// its certificate proved on a mutual TLS connection, else its TTHeader
	// from-service; calls that name no caller share one.
	PerCaller bool `yaml:"per_caller" json:"per_caller,omitempty"`
}

// BurstOrDefault is Burst, or its default when 0.
func (r *RateLimit) BurstOrDefault() int {
	if r.Burst > 0 {
		return r.Burst
	}
	return max(1, int(math.Ceil(r.RequestsPerSecond/10)))
}

// Fault injects delays and aborts into a route's calls, for resilience
// tests.
type Fault struct {
	Delay *FaultDelay `yaml:"delay" json:"delay,omitempty"`
	Abort *FaultAbort `yaml:"abort" json:"abort,omitempty"`
	// Headers limits the fault to calls that carry every one of these
	// TTHeader string info keys with the value given (marked test
	// traffic); empty: every call of the route.
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
}

// FaultDelay holds a share of calls back before forwarding them.
type FaultDelay struct {
	Percent  float64  `yaml:"percent" json:"percent"`
	Duration Duration `yaml:"duration" json:"duration"`
}

// FaultAbort answers a share of calls with a "fault" error instead of
// forwarding them.
type FaultAbort struct {
	Percent float64 `yaml:"percent" json:"percent"`
}

// Mirror copies a share of a route's calls to a shadow cluster; the shadow's
// answers are dropped and never delay the call.
type Mirror struct {
	Cluster string  `yaml:"cluster" json:"cluster"`
	Percent float64 `yaml:"percent" json:"percent"`
}

func (m *Mirror) setDefaults() { m.Percent = 100 }

// CircuitBreaker bounds what a cluster takes on; over a bound the caller
// gets a circuit_open error at once. The defaults are Envoy's.
type CircuitBreaker struct {
	// MaxRequests bounds the cluster's calls in flight.
	MaxRequests int `yaml:"max_requests" json:"max_requests"`
	// MaxPending bounds the calls waiting for a first connection to an
	// endpoint.
	MaxPending int `yaml:"max_pending" json:"max_pending"`
	// MaxRetries bounds the retries in flight; 0: only the retry budget
	// bounds them (as in Envoy once a retry budget is set).
	MaxRetries int `yaml:"max_retries" json:"max_retries,omitempty"`
}

func (b *CircuitBreaker) setDefaults() { b.MaxRequests, b.MaxPending = 1024, 1024 }

// NewCircuitBreaker returns a CircuitBreaker with every default set.
func NewCircuitBreaker() CircuitBreaker {
	var b CircuitBreaker
	b.setDefaults()
	return b
}

// RetryBudget bounds a cluster's retries to a share of its calls plus a
// small floor per second, over the last 10 seconds, so that retries never
// multiply an outage. The defaults are Linkerd's.
type RetryBudget struct {
	// Percent of the calls that may be retried.
	Percent float64 `yaml:"percent" json:"percent"`
	// MinRetriesPerSecond may be retried even with few calls.
	MinRetriesPerSecond float64 `yaml:"min_retries_per_second" json:"min_retries_per_second"`
}

func (b *RetryBudget) setDefaults() { b.Percent, b.MinRetriesPerSecond = 20, 10 }

// NewRetryBudget returns a RetryBudget with every default set.
func NewRetryBudget() RetryBudget {
	var b RetryBudget
	b.setDefaults()
	return b
}

// OutlierDetection takes endpoints that fail or lag out of a cluster's
// balancing for a while, probes them, and brings them back when they
// answer. Failures are connection errors, timeouts and the mesh errors a
// peer sidecar answers for its app (unreachable, overloaded,
// circuit_open, connection_lost, timeout, no_route). The defaults are Envoy's where
// Envoy has the setting.
type OutlierDetection struct {
	// ConsecutiveFailures in a row eject an endpoint at once (half of them
	// down-weight it first); 0 turns the check off.
	ConsecutiveFailures int `yaml:"consecutive_failures" json:"consecutive_failures"`
	// Interval is how often failure rates and latencies are judged, each
	// over the calls of the interval just ended.
	Interval Duration `yaml:"interval" json:"interval"`
	// BaseEjectionTime is the first ejection's length; each further
	// ejection of the same endpoint lasts one more of it, up to
	// MaxEjectionTime.
	BaseEjectionTime Duration `yaml:"base_ejection_time" json:"base_ejection_time"`
	MaxEjectionTime  Duration `yaml:"max_ejection_time" json:"max_ejection_time"`
	// MaxEjectionPercent of the endpoints may be ejected at once; one
	// endpoint always may.
	MaxEjectionPercent int `yaml:"max_ejection_percent" json:"max_ejection_percent"`
	// FailurePercent: an endpoint whose calls in an interval failed at
	// this rate or more is ejected (at half of it, down-weighted); 0 turns
	// the check off.
	FailurePercent int `yaml:"failure_percent" json:"failure_percent,omitempty"`
	// LatencyFactor: an endpoint whose average latency is this many times
	// the median of the others' is ejected (at half of it,
	// down-weighted); 0 turns the check off.
	LatencyFactor float64 `yaml:"latency_factor" json:"latency_factor,omitempty"`
	// MinRequests is the fewest calls an endpoint must have had in an
	// interval for its failure rate or latency to be judged.
	MinRequests int `yaml:"min_requests" json:"min_requests"`
	// ProbeInterval is how often an ejected endpoint is probed.
	ProbeInterval Duration `yaml:"probe_interval" json:"probe_interval"`
	// Probe is how: "health", a TTHeader health frame that the peer
	// sidecar answers for itself and its app, or "connect", a new
	// connection. "" chooses health for TCP endpoints (peer sidecars) and
	// connect for Unix sockets (the local app).
	Probe string `yaml:"probe" json:"probe,omitempty"`
}

func (o *OutlierDetection) setDefaults() {
	*o = OutlierDetection{
		ConsecutiveFailures: 5,
		Interval:            Duration(10 * time.Second),
		BaseEjectionTime:    Duration(30 * time.Second),
		MaxEjectionTime:     Duration(300 * time.Second),
		MaxEjectionPercent:  10,
		MinRequests:         50,
		ProbeInterval:       Duration(time.Second),
	}
}

// NewOutlierDetection returns an OutlierDetection with every default set.
func NewOutlierDetection() OutlierDetection {
	var o OutlierDetection
	o.setDefaults()
	return o
}

// Probe kinds.
const (
	ProbeHealth  = "health"
	ProbeConnect = "connect"
)

// TagKey is the TTHeader string info key that carries tag name: the sdk
// sets tags as Kitex persistent metainfo, which Kitex sends with this
// prefix and passes on to the server's own calls.
func TagKey(name string) string { return "RPC_PERSIST_" + name }

// Match returns the string info keys and values a call must carry for
// the route: its headers and its tags, sorted by key.
func (r *Route) Match() [][2]string {
	out := make([][2]string, 0, len(r.Headers)+len(r.Tags))
	for k, v := range r.Headers {
		out = append(out, [2]string{k, v})
	}
	for k, v := range r.Tags {
		out = append(out, [2]string{TagKey(k), v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Clusters lists every cluster the route sends calls to: its cluster or
// split, and its mirror.
func (r *Route) Clusters() []string {
	var out []string
	if r.Cluster != "" {
		out = append(out, r.Cluster)
	}
	for _, w := range r.Split {
		out = append(out, w.Cluster)
	}
	if r.Mirror != nil {
		out = append(out, r.Mirror.Cluster)
	}
	return out
}

// MatchKey identifies what a route matches: service, method, and the
// headers and tags a call must carry. Two routes of one listener may not
// share it.
func (r *Route) MatchKey() string {
	var b strings.Builder
	b.WriteString(r.Service)
	b.WriteByte(0)
	b.WriteString(r.Method)
	for _, kv := range r.Match() {
		b.WriteByte(0)
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(kv[1])
	}
	return b.String()
}

func (r *Route) describeMatch() string {
	s := fmt.Sprintf("service %q method %q", r.Service, r.Method)
	if m := r.Match(); len(m) > 0 {
		parts := make([]string, len(m))
		for i, kv := range m {
			parts[i] = kv[0] + "=" + kv[1]
		}
		s += " with " + strings.Join(parts, ", ")
	}
	return s
}

func checkPercent(field string, p float64) *FieldError {
	if !(p >= 0 && p <= 100) {
		return &FieldError{field, "must be between 0 and 100"}
	}
	return nil
}

func checkHeaders(field string, h map[string]string) *FieldError {
	for k := range h {
		if k == "" || len(k) > 0xffff {
			return &FieldError{field, "a key must be 1 to 65535 bytes"}
		}
	}
	return nil
}

// checkPolicies validates a route's match and policies (not the clusters
// they name: CheckRoutes does that).
func (r *Route) checkPolicies() *FieldError {
	if fe := checkHeaders("headers", r.Headers); fe != nil {
		return fe
	}
	for k := range r.Tags {
		if err := CheckName(k); err != nil {
			return &FieldError{"tags", err.Error()}
		}
	}
	switch {
	case r.Cluster != "" && len(r.Split) > 0:
		return &FieldError{"split", "give cluster or split, not both"}
	case r.Cluster == "" && len(r.Split) == 0:
		return &FieldError{"cluster", "missing (or give split)"}
	}
	seen := map[string]bool{}
	var total uint64
	for i, w := range r.Split {
		f := fmt.Sprintf("split[%d]", i)
		if w.Weight == 0 {
			return &FieldError{f + ".weight", "must be positive"}
		}
		if seen[w.Cluster] {
			return &FieldError{f + ".cluster", fmt.Sprintf("cluster %q is in the split twice", w.Cluster)}
		}
		seen[w.Cluster] = true
		total += uint64(w.Weight)
	}
	if total > math.MaxUint32 {
		// A route draws a share from the 32-bit sum, as Envoy does.
		return &FieldError{"split", fmt.Sprintf("the weights sum to %d, more than %d", total, uint32(math.MaxUint32))}
	}
	if r.Timeout < 0 {
		return &FieldError{"timeout", "must not be negative"}
	}
	if rt := r.Retry; rt != nil {
		switch {
		case rt.Attempts < 1 || rt.Attempts > MaxAttempts:
			return &FieldError{"retry.attempts", fmt.Sprintf("must be between 1 and %d", MaxAttempts)}
		case rt.PerTryTimeout < 0:
			return &FieldError{"retry.per_try_timeout", "must not be negative"}
		}
	}
	if rl := r.RateLimit; rl != nil {
		switch {
		case !(rl.RequestsPerSecond > 0) || math.IsInf(rl.RequestsPerSecond, 0):
			return &FieldError{"rate_limit.requests_per_second", "must be positive"}
		case rl.Burst < 0:
			return &FieldError{"rate_limit.burst", "must not be negative"}
		}
	}
	if f := r.Fault; f != nil {
		if f.Delay == nil && f.Abort == nil {
			return &FieldError{"fault", "give delay, abort or both"}
		}
		if d := f.Delay; d != nil {
			if fe := checkPercent("fault.delay.percent", d.Percent); fe != nil {
				return fe
			}
			if d.Duration <= 0 {
				return &FieldError{"fault.delay.duration", "must be positive"}
			}
		}
		if a := f.Abort; a != nil {
			if fe := checkPercent("fault.abort.percent", a.Percent); fe != nil {
				return fe
			}
		}
		if fe := checkHeaders("fault.headers", f.Headers); fe != nil {
			return fe
		}
	}
	if m := r.Mirror; m != nil {
		if m.Cluster == "" {
			return &FieldError{"mirror.cluster", "missing"}
		}
		if fe := checkPercent("mirror.percent", m.Percent); fe != nil {
			return fe
		}
	}
	return nil
}

// checkPolicies validates a cluster's governance settings.
func (cl *Cluster) checkPolicies() *FieldError {
	if b := cl.CircuitBreaker; b != nil {
		switch {
		case b.MaxRequests < 1:
			return &FieldError{"circuit_breaker.max_requests", "must be at least 1"}
		case b.MaxPending < 1:
			return &FieldError{"circuit_breaker.max_pending", "must be at least 1"}
		case b.MaxRetries < 0:
			return &FieldError{"circuit_breaker.max_retries", "must not be negative (0: only the retry budget bounds retries)"}
		}
	}
	if b := cl.RetryBudget; b != nil {
		if fe := checkPercent("retry_budget.percent", b.Percent); fe != nil {
			return fe
		}
		if !(b.MinRetriesPerSecond >= 0) || math.IsInf(b.MinRetriesPerSecond, 0) {
			return &FieldError{"retry_budget.min_retries_per_second", "must not be negative"}
		}
	}
	if o := cl.OutlierDetection; o != nil {
		switch {
		case o.ConsecutiveFailures < 0:
			return &FieldError{"outlier_detection.consecutive_failures", "must not be negative (0: off)"}
		case o.Interval <= 0:
			return &FieldError{"outlier_detection.interval", "must be positive"}
		case o.BaseEjectionTime <= 0:
			return &FieldError{"outlier_detection.base_ejection_time", "must be positive"}
		case o.MaxEjectionTime < o.BaseEjectionTime:
			return &FieldError{"outlier_detection.max_ejection_time", "must be at least base_ejection_time"}
		case o.MaxEjectionPercent < 0 || o.MaxEjectionPercent > 100:
			return &FieldError{"outlier_detection.max_ejection_percent", "must be between 0 and 100"}
		case o.FailurePercent < 0 || o.FailurePercent > 100:
			return &FieldError{"outlier_detection.failure_percent", "must be between 0 and 100 (0: off)"}
		case o.LatencyFactor != 0 && !(o.LatencyFactor > 1) || math.IsInf(o.LatencyFactor, 0):
			return &FieldError{"outlier_detection.latency_factor", "must be more than 1 (0: off)"}
		case o.MinRequests < 1:
			return &FieldError{"outlier_detection.min_requests", "must be at least 1"}
		case o.ProbeInterval <= 0:
			return &FieldError{"outlier_detection.probe_interval", "must be positive"}
		case o.Probe != "" && o.Probe != ProbeHealth && o.Probe != ProbeConnect:
			return &FieldError{"outlier_detection.probe", fmt.Sprintf("%q is not a probe (health, connect)", o.Probe)}
		}
	}
	return nil
}
