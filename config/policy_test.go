package config

import (
	"strings"
	"testing"
	"time"
)

const governed = `
listeners:
  - name: outbound
    address: unix:///tmp/om-g.sock
    filters: [rate_limit, fault]
    routes:
      - service: echo
        tags: {lane: canary}
        cluster: echo-canary
      - service: echo
        split: [{cluster: echo, weight: 90}, {cluster: echo-canary, weight: 10}]
        timeout: 800ms
        retry: {per_try_timeout: 200ms, idempotent: true}
        rate_limit: {requests_per_second: 1000, per_caller: true}
        fault: {abort: {percent: 10}, delay: {percent: 5, duration: 50ms}, headers: {om-test: "1"}}
        mirror: {cluster: echo-shadow}
clusters:
  - name: echo
    circuit_breaker: {max_requests: 100}
    retry_budget: {percent: 10}
    outlier_detection: {interval: 1s, latency_factor: 5}
    endpoints: [{address: "127.0.0.1:7001"}]
  - {name: echo-canary, endpoints: [{address: "127.0.0.1:7002"}]}
  - {name: echo-shadow, endpoints: [{address: "127.0.0.1:7003"}]}
`

func TestParsePoliciesWithDefaults(t *testing.T) {
	c, err := Parse("g.yaml", []byte(governed))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listeners[0]
	if strings.Join(l.Filters, ",") != "rate_limit,fault" {
		t.Errorf("filters %v", l.Filters)
	}
	tagged, r := l.Routes[0], l.Routes[1]
	if m := tagged.Match(); len(m) != 1 || m[0] != [2]string{"RPC_PERSIST_lane", "canary"} {
		t.Errorf("tag match %v", m)
	}
	if r.Retry.Attempts != 2 || r.Retry.PerTryTimeout.Std() != 200*time.Millisecond || !r.Retry.Idempotent {
		t.Errorf("retry %+v (want the default of 2 attempts)", r.Retry)
	}
	if r.RateLimit.BurstOrDefault() != 100 || !r.RateLimit.PerCaller {
		t.Errorf("rate limit %+v, burst %d (want a tenth of a second's worth)", r.RateLimit, r.RateLimit.BurstOrDefault())
	}
	if r.Fault.Abort.Percent != 10 || r.Fault.Delay.Duration.Std() != 50*time.Millisecond || r.Fault.Headers["om-test"] != "1" {
		t.Errorf("fault %+v", r.Fault)
	}
	if r.Mirror.Percent != 100 {
		t.Errorf("mirror %+v (want 100%% by default)", r.Mirror)
	}
	if got := strings.Join(r.Clusters(), ","); got != "echo,echo-canary,echo-shadow" {
		t.Errorf("Clusters() = %s", got)
	}
	cl := c.Clusters[0]
	if cl.CircuitBreaker.MaxRequests != 100 || cl.CircuitBreaker.MaxPending != 1024 || cl.CircuitBreaker.MaxRetries != 0 {
		t.Errorf("breaker %+v", cl.CircuitBreaker)
	}
	if cl.RetryBudget.Percent != 10 || cl.RetryBudget.MinRetriesPerSecond != 10 {
		t.Errorf("budget %+v", cl.RetryBudget)
	}
	if o := cl.OutlierDetection; o.Interval.Std() != time.Second || o.ConsecutiveFailures != 5 || o.LatencyFactor != 5 ||
		o.BaseEjectionTime.Std() != 30*time.Second || o.MaxEjectionPercent != 10 || o.MinRequests != 50 {
		t.Errorf("outlier detection %+v", o)
	}
	if c.Clusters[1].CircuitBreaker != nil || c.Clusters[1].OutlierDetection != nil {
		t.Error("policies appear on a cluster that sets none")
	}
}

func TestPolicyErrorsNameTheField(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"cluster and split", "        split: [", "        cluster: echo\n        split: [", "listeners[0].routes[1].split: give cluster or split, not both"},
		{"neither", "cluster: echo-canary", "timeout: 1s", "listeners[0].routes[0].cluster: missing (or give split)"},
		{"zero weight", "weight: 90", "weight: 0", "listeners[0].routes[1].split[0].weight: must be positive"},
		{"weights past 32 bits", "weight: 90}, {cluster: echo-canary, weight: 10}", "weight: 4294967295}, {cluster: echo-canary, weight: 1}",
			"listeners[0].routes[1].split: the weights sum to 4294967296, more than 4294967295"},
		{"split twice", "cluster: echo-canary, weight: 10", "cluster: echo, weight: 10", `routes[1].split[1].cluster: cluster "echo" is in the split twice`},
		{"unknown split cluster", "cluster: echo-canary, weight: 10", "cluster: nope, weight: 10", `routes[1].split[1].cluster: unknown cluster "nope"`},
		{"unknown mirror cluster", "mirror: {cluster: echo-shadow}", "mirror: {cluster: shadow}", `routes[1].mirror.cluster: unknown cluster "shadow"`},
		{"attempts", "retry: {", "retry: {attempts: 0, ", "routes[1].retry.attempts: must be between 1 and 10"},
		{"rate", "requests_per_second: 1000", "requests_per_second: 0", "routes[1].rate_limit.requests_per_second: must be positive"},
		{"abort percent", "abort: {percent: 10}", "abort: {percent: 110}", "routes[1].fault.abort.percent: must be between 0 and 100"},
		{"empty fault", "fault: {abort: {percent: 10}, delay: {percent: 5, duration: 50ms}, headers: {om-test: \"1\"}}", "fault: {}", "routes[1].fault: give delay, abort or both"},
		{"delay duration", "duration: 50ms", "duration: 0s", "routes[1].fault.delay.duration: must be positive"},
		{"bad tag", "{lane: canary}", "{\"la ne\": canary}", "routes[0].tags: name \"la ne\""},
		{"unknown policy field", "retry: {", "retry: {tries: 3, ", "listeners[0].routes[1].retry.tries: unknown field"},
		{"same match", "tags: {lane: canary}", "tags: {}", "listeners[0].routes[1]: another route already matches service \"echo\" method \"*\""},
		{"breaker", "max_requests: 100", "max_requests: 0", "clusters[0].circuit_breaker.max_requests: must be at least 1"},
		{"budget", "retry_budget: {percent: 10}", "retry_budget: {percent: -1}", "clusters[0].retry_budget.percent: must be between 0 and 100"},
		{"latency factor", "latency_factor: 5", "latency_factor: 0.5", "clusters[0].outlier_detection.latency_factor: must be more than 1"},
		{"probe", "latency_factor: 5", "probe: ping", `clusters[0].outlier_detection.probe: "ping" is not a probe (health, connect)`},
		{"ejection times", "interval: 1s", "interval: 1s, max_ejection_time: 1s", "clusters[0].outlier_detection.max_ejection_time: must be at least base_ejection_time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(governed, tc.from, tc.to, 1)
			if y == governed {
				t.Fatalf("%q is not in the config", tc.from)
			}
			_, err := Parse("g.yaml", []byte(y))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
