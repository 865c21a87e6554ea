package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// policies holds every policy type, as the control plane's API carries
// them.
type policies struct {
	Split            []WeightedCluster `yaml:"split" json:"split"`
	Timeout          Duration          `yaml:"timeout" json:"timeout"`
	Retry            *Retry            `yaml:"retry" json:"retry"`
	RateLimit        *RateLimit        `yaml:"rate_limit" json:"rate_limit"`
	Fault            *Fault            `yaml:"fault" json:"fault"`
	Mirror           *Mirror           `yaml:"mirror" json:"mirror"`
	CircuitBreaker   *CircuitBreaker   `yaml:"circuit_breaker" json:"circuit_breaker"`
	RetryBudget      *RetryBudget      `yaml:"retry_budget" json:"retry_budget"`
	OutlierDetection *OutlierDetection `yaml:"outlier_detection" json:"outlier_detection"`
}

// TestPolicyJSONIsTheYAML: a JSON document (which is also YAML) decodes to
// the same value through encoding/json as through DecodeYAML, defaults
// included, and encodes back to a document that decodes to it again.
func TestPolicyJSONIsTheYAML(t *testing.T) {
	docs := []string{
		`{}`,
		`{"split": [{"cluster": "a", "weight": 9}, {"cluster": "b", "weight": 1}], "timeout": "1m30s"}`,
		`{"retry": {}, "mirror": {"cluster": "shadow"}, "circuit_breaker": {}, "retry_budget": {}, "outlier_detection": {}}`,
		`{"retry": {"attempts": 3, "per_try_timeout": "250ms", "idempotent": true},
		  "rate_limit": {"requests_per_second": 2.5, "burst": 4, "per_caller": true},
		  "fault": {"delay": {"percent": 12.5, "duration": "20ms"}, "abort": {"percent": 100}, "headers": {"om-test": "1"}},
		  "mirror": {"cluster": "shadow", "percent": 0},
		  "circuit_breaker": {"max_requests": 10, "max_pending": 5, "max_retries": 0},
		  "retry_budget": {"percent": 0, "min_retries_per_second": 0},
		  "outlier_detection": {"consecutive_failures": 0, "interval": "1s", "base_ejection_time": "2s", "max_ejection_time": "3s",
		    "max_ejection_percent": 0, "failure_percent": 50, "latency_factor": 3, "min_requests": 1, "probe_interval": "100ms", "probe": "connect"}}`,
	}
	for _, doc := range docs {
		var fromYAML, fromJSON, again policies
		if err := DecodeYAML("doc.json", []byte(doc), &fromYAML); err != nil {
			t.Fatalf("%s: YAML: %v", doc, err)
		}
		if err := json.Unmarshal([]byte(doc), &fromJSON); err != nil {
			t.Fatalf("%s: JSON: %v", doc, err)
		}
		if !reflect.DeepEqual(fromJSON, fromYAML) {
			t.Errorf("%s:\n JSON %+v\n YAML %+v", doc, fromJSON, fromYAML)
		}
		b, err := json.Marshal(fromJSON)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(again, fromJSON) {
			t.Errorf("%s encoded as %s decodes to %+v (%v)", doc, b, again, err)
		}
	}
	// The zero values that are not defaults survive the trip.
	var p policies
	if err := json.Unmarshal([]byte(docs[3]), &p); err != nil {
		t.Fatal(err)
	}
	if p.Mirror.Percent != 0 || p.RetryBudget.MinRetriesPerSecond != 0 || p.OutlierDetection.ConsecutiveFailures != 0 {
		t.Errorf("explicit zeros lost: %+v %+v %+v", p.Mirror, p.RetryBudget, p.OutlierDetection)
	}
	if p.Fault.Delay.Duration.Std() != 20*time.Millisecond {
		t.Errorf("fault delay %v", p.Fault.Delay.Duration.Std())
	}
}

func TestPolicyJSONIsStrict(t *testing.T) {
	for doc, want := range map[string]string{
		`{"retry": {"atempts": 3}}`:                          `retry: unknown field "atempts"`,
		`{"fault": {"delay": {"percent": 1, "time": "1s"}}}`: `delay: unknown field "time"`,
		`{"timeout": "soon"}`:                                `"soon" is not a duration`,
		`{"timeout": "-1s"}`:                                 `"-1s" is not a duration`,
		`{"timeout": 5}`:                                     `5 is not a duration`,
		`{"outlier_detection": {"probe_interval": 1}}`:       `is not a duration`,
		`{"split": [{"cluster": "a", "weigth": 1}]}`:         `split: unknown field "weigth"`,
	} {
		var p policies
		if err := json.Unmarshal([]byte(doc), &p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

// TestPolicyTagsAgree: every policy field has the same name in JSON as in
// YAML.
func TestPolicyTagsAgree(t *testing.T) {
	for _, v := range []any{WeightedCluster{}, Retry{}, RateLimit{}, Fault{}, FaultDelay{}, FaultAbort{}, Mirror{},
		CircuitBreaker{}, RetryBudget{}, OutlierDetection{}} {
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			y, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			j, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if y == "" || y != j {
				t.Errorf("%s.%s: yaml %q, json %q", rt.Name(), f.Name, y, j)
			}
		}
	}
}
