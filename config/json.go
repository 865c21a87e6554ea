package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// JSON forms of the policy types, for the control plane's API and store
// (api/registry). Field names are the YAML ones, and decoding is as strict
// as DecodeYAML: an unknown field is an error, a policy object that is
// given starts from its defaults (a "retry": {} has 2 attempts, a mirror
// 100 percent), and a Duration is a string like "250ms". Encoding writes
// every field whose default is not its zero value, so that decoding what
// was encoded gives the same value.

// MarshalJSON writes d as a string like "250ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a string like "250ms" or "3s"; "" is 0. A negative
// duration is an error, as in YAML.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s is not a duration (a string like \"250ms\", \"3s\")", b)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration (like 250ms, 3s)", s)
	}
	*d = Duration(v)
	return nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields;
// errors name the object (what).
func decodeStrict(b []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %s", what, strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// The plain types decode without the methods below (no recursion).
type (
	weightedClusterJSON  WeightedCluster
	retryJSON            Retry
	rateLimitJSON        RateLimit
	faultJSON            Fault
	faultDelayJSON       FaultDelay
	faultAbortJSON       FaultAbort
	mirrorJSON           Mirror
	circuitBreakerJSON   CircuitBreaker
	retryBudgetJSON      RetryBudget
	outlierDetectionJSON OutlierDetection
)

// UnmarshalJSON decodes strictly.
func (w *WeightedCluster) UnmarshalJSON(b []byte) error {
	*w = WeightedCluster{}
	return decodeStrict(b, (*weightedClusterJSON)(w), "split")
}

// UnmarshalJSON decodes strictly, from the defaults.
func (r *Retry) UnmarshalJSON(b []byte) error {
	*r = NewRetry()
	return decodeStrict(b, (*retryJSON)(r), "retry")
}

// UnmarshalJSON decodes strictly.
func (r *RateLimit) UnmarshalJSON(b []byte) error {
	*r = RateLimit{}
	return decodeStrict(b, (*rateLimitJSON)(r), "rate_limit")
}

// UnmarshalJSON decodes strictly.
func (f *Fault) UnmarshalJSON(b []byte) error {
	*f = Fault{}
	return decodeStrict(b, (*faultJSON)(f), "fault")
}

// UnmarshalJSON decodes strictly.
func (d *FaultDelay) UnmarshalJSON(b []byte) error {
	*d = FaultDelay{}
	return decodeStrict(b, (*faultDelayJSON)(d), "delay")
}

// UnmarshalJSON decodes strictly.
func (a *FaultAbort) UnmarshalJSON(b []byte) error {
	*a = FaultAbort{}
	return decodeStrict(b, (*faultAbortJSON)(a), "abort")
}

// UnmarshalJSON decodes strictly, from the defaults.
func (m *Mirror) UnmarshalJSON(b []byte) error {
	*m = Mirror{}
	m.setDefaults()
	return decodeStrict(b, (*mirrorJSON)(m), "mirror")
}

// UnmarshalJSON decodes strictly, from the defaults.
func (cb *CircuitBreaker) UnmarshalJSON(b []byte) error {
	*cb = NewCircuitBreaker()
	return decodeStrict(b, (*circuitBreakerJSON)(cb), "circuit_breaker")
}

// UnmarshalJSON decodes strictly, from the defaults.
func (rb *RetryBudget) UnmarshalJSON(b []byte) error {
	*rb = NewRetryBudget()
	return decodeStrict(b, (*retryBudgetJSON)(rb), "retry_budget")
}

// UnmarshalJSON decodes strictly, from the defaults.
func (o *OutlierDetection) UnmarshalJSON(b []byte) error {
	*o = NewOutlierDetection()
	return decodeStrict(b, (*outlierDetectionJSON)(o), "outlier_detection")
}
