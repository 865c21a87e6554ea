package config

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse as a config file. It must never
// panic; a refusal names the file (an *Error, or a YAML error wrapped with
// the file name); and a config it accepts is valid again, field by field, as
// the sidecar relies on it.
func FuzzParse(f *testing.F) {
	for _, doc := range []string{good, governed, xdsGood, secureBase, "listeners: [{name: a, address: ':1', routes: [{cluster: c}]}]\nclusters: [{name: c}]\n"} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		c, err := Parse(file, data)
		if err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				if ce.File != file || ce.Msg == "" {
					t.Fatalf("*Error %+v does not name the file or the problem", ce)
				}
			} else if !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("error %q (%T) does not name the file", err, err)
			}
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("a parsed config does not validate again: %v", err)
		}
		clusters := map[string]bool{}
		for i := range c.Clusters {
			cl := &c.Clusters[i]
			if fe := cl.Check(); fe != nil {
				t.Fatalf("clusters[%d]: %v", i, fe)
			}
			if clusters[cl.Name] {
				t.Fatalf("cluster %q twice", cl.Name)
			}
			clusters[cl.Name] = true
		}
		if len(c.Listeners) == 0 {
			t.Fatal("a config without listeners")
		}
		for i, l := range c.Listeners {
			if _, _, err := ParseAddress(l.Address); err != nil {
				t.Fatalf("listeners[%d]: %v", i, err)
			}
			if fe := CheckRoutes(l.Routes, clusters); fe != nil {
				t.Fatalf("listeners[%d]: %v", i, fe)
			}
			for j := range l.Routes {
				checkRouteInvariants(t, &l.Routes[j])
			}
		}
	})
}

// checkRouteInvariants checks what the request path assumes of a route
// that CheckRoutes accepted (proxy/downstream builds it).
func checkRouteInvariants(t *testing.T, r *Route) {
	t.Helper()
	var total uint64
	for _, w := range r.Split {
		total += uint64(w.Weight)
	}
	if total > math.MaxUint32 {
		t.Fatalf("route %s: split weights sum to %d, past the uint32 a route's pick draws from", r.describeMatch(), total)
	}
	if (r.Cluster == "") == (len(r.Split) == 0) {
		t.Fatalf("route %s: cluster %q and a split of %d", r.describeMatch(), r.Cluster, len(r.Split))
	}
	if rt := r.Retry; rt != nil && (rt.Attempts < 1 || rt.Attempts > MaxAttempts) {
		t.Fatalf("retry attempts %d", rt.Attempts)
	}
	if rl := r.RateLimit; rl != nil && (!(rl.RequestsPerSecond > 0) || math.IsInf(rl.RequestsPerSecond, 0) || rl.BurstOrDefault() < 1) {
		t.Fatalf("rate limit %+v", rl)
	}
	if m := r.Mirror; m != nil && !(m.Percent >= 0 && m.Percent <= 100) {
		t.Fatalf("mirror %+v", m)
	}
}

// FuzzPolicyJSON feeds arbitrary bytes to the policy types' JSON decoding
// (the registry API's and store's form). It must never panic; what decodes
// encodes to JSON that decodes to the same value; and a document that both
// decoders accept means the same through encoding/json as through
// DecodeYAML (JSON is YAML).
func FuzzPolicyJSON(f *testing.F) {
	for _, doc := range []string{
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
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p policies
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("a decoded value does not encode: %v", err)
		}
		var again policies
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("%s decodes, but what it encodes to, %s, does not: %v", data, b, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("%s decodes to\n %+v\nwhich encodes to %s, which decodes to\n %+v", data, p, b, again)
		}
		var fromYAML policies
		if err := DecodeYAML("doc.json", data, &fromYAML); err == nil && !reflect.DeepEqual(fromYAML, p) {
			t.Fatalf("%s means\n %+v in JSON and\n %+v in YAML", data, p, fromYAML)
		}
	})
}
