package registration

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// putRaw sends body as it is, bypassing the client's types, and reads an
// error answer as the client does.
func putRaw(t *testing.T, url, path, body string) error {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 != 2 {
		return registry.StatusError(resp.StatusCode, b)
	}
	return nil
}

func TestAPIRoutePolicies(t *testing.T) {
	store, c, url := newAPI(t)
	ctx := context.Background()
	full := `{"routes": [
	  {"service": "echo", "method": "Get", "headers": {"om-lane": "blue"}, "tags": {"env": "canary"},
	   "split": [{"cluster": "echo", "weight": 90}, {"cluster": "echo-v2", "weight": 10}],
	   "timeout": "800ms", "retry": {"per_try_timeout": "200ms", "idempotent": true},
	   "rate_limit": {"requests_per_second": 100, "per_caller": true},
	   "fault": {"delay": {"percent": 5, "duration": "50ms"}, "abort": {"percent": 1}, "headers": {"om-test": "1"}},
	   "mirror": {"cluster": "echo-shadow"}},
	  {"service": "echo", "method": "Get"}]}`
	if err := putRaw(t, url, "/v1/routes/web", full); err != nil {
		t.Fatal(err)
	}
	got, err := c.Routes(ctx, "web")
	if err != nil || len(got) != 2 {
		t.Fatalf("Routes: %+v %v", got, err)
	}
	want := registry.RouteRule{Service: "echo", Method: "Get", Headers: map[string]string{"om-lane": "blue"}, Tags: map[string]string{"env": "canary"},
		Split:     []config.WeightedCluster{{Cluster: "echo", Weight: 90}, {Cluster: "echo-v2", Weight: 10}},
		Timeout:   config.Duration(800 * time.Millisecond),
		Retry:     &config.Retry{Attempts: 2, PerTryTimeout: config.Duration(200 * time.Millisecond), Idempotent: true},
		RateLimit: &config.RateLimit{RequestsPerSecond: 100, PerCaller: true},
		Fault: &config.Fault{Delay: &config.FaultDelay{Percent: 5, Duration: config.Duration(50 * time.Millisecond)},
			Abort: &config.FaultAbort{Percent: 1}, Headers: map[string]string{"om-test": "1"}},
		Mirror: &config.Mirror{Cluster: "echo-shadow", Percent: 100}}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("stored rule\n %+v\nwant (with the defaults)\n %+v", got[0], want)
	}
	if got[1].Cluster != "echo" || got[1].Retry != nil || len(got[1].Headers) != 0 {
		t.Errorf("second rule (the same method without headers: another match) %+v", got[1])
	}
	if !strings.Contains(string(store.routes["web"]), `"timeout":"800ms"`) {
		t.Errorf("stored %s: want durations as strings", store.routes["web"])
	}

	for body, wantErr := range map[string]string{
		`{"routes":[{"service":"echo","retry":{"attempts":11}}]}`:                              "routes[0].retry.attempts: must be between 1 and 10",
		`{"routes":[{"service":"echo","retry":{"atempts":2}}]}`:                                `retry: unknown field "atempts"`,
		`{"routes":[{"service":"echo","cluster":"a","split":[{"cluster":"b","weight":1}]}]}`:   "routes[0].split: give cluster or split, not both",
		`{"routes":[{"service":"echo","split":[{"cluster":"b","weight":0}]}]}`:                 "routes[0].split[0].weight: must be positive",
		`{"routes":[{"service":"echo","split":[{"cluster":"b/c","weight":1}]}]}`:               "routes[0].split[0].cluster: name",
		`{"routes":[{"service":"echo","rate_limit":{"requests_per_second":0}}]}`:               "routes[0].rate_limit.requests_per_second: must be positive",
		`{"routes":[{"service":"echo","fault":{"abort":{"percent":101}}}]}`:                    "routes[0].fault.abort.percent: must be between 0 and 100",
		`{"routes":[{"service":"echo","fault":{}}]}`:                                           "routes[0].fault: give delay, abort or both",
		`{"routes":[{"service":"echo","fault":{"delay":{"percent":1}}}]}`:                      "routes[0].fault.delay.duration: must be positive",
		`{"routes":[{"service":"echo","mirror":{"cluster":""}}]}`:                              "routes[0].mirror.cluster: missing",
		`{"routes":[{"service":"echo","tags":{"a b":"x"}}]}`:                                   "routes[0].tags: name",
		`{"routes":[{"service":"echo","timeout":"-1s"}]}`:                                      `"-1s" is not a duration`,
		`{"routes":[{"service":"echo","tags":{"x":"1"}},{"service":"echo","tags":{"x":"1"}}]}`: `routes[1]: another route already matches service "echo" method "*" with RPC_PERSIST_x=1`,
	} {
		if err := putRaw(t, url, "/v1/routes/web", body); !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: %v, want %q", body, err, wantErr)
		}
	}
	if err := c.DeleteRoutes(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Routes(ctx, "web"); err != nil || len(got) != 0 {
		t.Fatalf("after delete: %+v %v", got, err)
	}
}

func TestAPIServicePolicy(t *testing.T) {
	store, c, url := newAPI(t)
	ctx := context.Background()
	if p, err := c.Policy(ctx, "echo"); err != nil || !reflect.DeepEqual(p, registry.ServicePolicy{}) {
		t.Fatalf("policy of a service without one: %+v %v", p, err)
	}
	if err := putRaw(t, url, "/v1/policies/echo", `{
	  "circuit_breaker": {"max_requests": 100},
	  "retry_budget": {"percent": 10},
	  "outlier_detection": {"interval": "1s", "latency_factor": 3, "probe": "connect"},
	  "routes": [{"method": "Get", "retry": {"attempts": 3}}]}`); err != nil {
		t.Fatal(err)
	}
	p, err := c.Policy(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	od := config.NewOutlierDetection()
	od.Interval, od.LatencyFactor, od.Probe = config.Duration(time.Second), 3, "connect"
	want := registry.ServicePolicy{
		CircuitBreaker:   &config.CircuitBreaker{MaxRequests: 100, MaxPending: 1024},
		RetryBudget:      &config.RetryBudget{Percent: 10, MinRetriesPerSecond: 10},
		OutlierDetection: &od,
		Routes:           []registry.RouteRule{{Service: "echo", Method: "Get", Cluster: "echo", Retry: &config.Retry{Attempts: 3}}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("policy\n %+v\nwant (with the defaults)\n %+v", p, want)
	}
	if got, _ := registry.DecodePolicy("echo", store.policies["echo"]); !reflect.DeepEqual(got, want) {
		t.Errorf("stored %s", store.policies["echo"])
	}

	for body, wantErr := range map[string]string{
		`{"circuit_breaker":{"max_requests":0}}`:                                                        "circuit_breaker.max_requests: must be at least 1",
		`{"circuit_breaker":{"max_retries":-1}}`:                                                        "circuit_breaker.max_retries: must not be negative",
		`{"retry_budget":{"percent":120}}`:                                                              "retry_budget.percent: must be between 0 and 100",
		`{"outlier_detection":{"base_ejection_time":"1m","max_ejection_time":"30s"}}`:                   "outlier_detection.max_ejection_time: must be at least base_ejection_time",
		`{"outlier_detection":{"latency_factor":0.5}}`:                                                  "outlier_detection.latency_factor: must be more than 1",
		`{"outlier_detection":{"probe":"ping"}}`:                                                        `outlier_detection.probe: "ping" is not a probe`,
		`{"outlier_detection":{"interval":"soon"}}`:                                                     `"soon" is not a duration`,
		`{"routes":[{"service":"user"}]}`:                                                               `routes[0].service: "user": the rules of service "echo" are for calls to it`,
		`{"routes":[{"retry":{"attempts":0}}]}`:                                                         "routes[0].retry.attempts: must be between 1 and 10",
		`{"breaker":{}}`:                                                                                `unknown field "breaker"`,
		`{"routes":[{"method":"Get","fault":{"abort":{"percent":10}}},{"method":"Get","cluster":"x"}]}`: `routes[1]: another route already matches service "echo" method "Get"`,
	} {
		if err := putRaw(t, url, "/v1/policies/echo", body); !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: %v, want %q", body, err, wantErr)
		}
	}
	if err := c.PutPolicy(ctx, "bad!name", registry.ServicePolicy{}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("a bad service name: %v", err)
	}
	if err := c.DeletePolicy(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.policies["echo"]; ok {
		t.Error("policy still stored after delete")
	}
}
