package rules

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func mustDecode(t *testing.T, s string) []Document {
	t.Helper()
	docs, err := DecodeDocuments("rules.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCompileMergesOneMatch(t *testing.T) {
	c, err := Compile(mustDecode(t, goodFile))
	if err != nil {
		t.Fatal(err)
	}
	web := c.Routes["web"]
	if web == nil || len(c.Routes) != 1 {
		t.Fatalf("routes: %v", c.Routes)
	}
	got := jsonOf(t, web)
	// Get has its retry and timeout in one rule, with the default
	// destination; the tagged rule goes first among echo's "*" rules.
	want := `{"routes":[` +
		`{"service":"echo","method":"*","tags":{"lane":"canary"},"cluster":"echo-canary"},` +
		`{"service":"echo","method":"*","cluster":"echo","rate_limit":{"requests_per_second":100},"mirror":{"cluster":"echo-shadow","percent":100}},` +
		`{"service":"echo","method":"Get","cluster":"echo","timeout":"800ms","retry":{"attempts":3,"idempotent":true}}]}`
	if got != want {
		t.Errorf("web's rules\n got %s\nwant %s", got, want)
	}
	echo := c.Policies["echo"]
	if echo == nil || len(c.Policies) != 1 {
		t.Fatalf("policies: %v", c.Policies)
	}
	got = jsonOf(t, echo)
	want = `{"circuit_breaker":{"max_requests":200,"max_pending":1024},"retry_budget":{"percent":10,"min_retries_per_second":10},` +
		`"outlier_detection":{"consecutive_failures":3,"interval":"5s","base_ejection_time":"30s","max_ejection_time":"5m0s","max_ejection_percent":10,"min_requests":50,"probe_interval":"1s"},` +
		`"routes":[{"service":"echo","method":"*","headers":{"om-test":"1"},"cluster":"echo","fault":{"abort":{"percent":5}}}]}`
	if got != want {
		t.Errorf("echo's policy\n got %s\nwant %s", got, want)
	}
	if err := web.Validate(); err != nil {
		t.Error(err)
	}
	if err := echo.Validate("echo"); err != nil {
		t.Error(err)
	}
}

func TestCompileServiceOwnRules(t *testing.T) {
	c, err := Compile(mustDecode(t, `
kind: Route
metadata: {name: echo-split}
target: {service: echo}
spec: {split: [{cluster: echo, weight: 90}, {cluster: echo-v2, weight: 10}]}
---
kind: Retry
metadata: {name: echo-split}
target: {service: echo}
spec: {attempts: 3}
---
kind: Timeout
metadata: {name: echo-slow}
target: {service: echo, method: Slow}
spec: {timeout: 10s}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 0 {
		t.Errorf("a service's own rules went to apps: %v", c.Routes)
	}
	got := jsonOf(t, c.Policies["echo"])
	want := `{"routes":[{"service":"echo","method":"*","split":[{"cluster":"echo","weight":90},{"cluster":"echo-v2","weight":10}],"retry":{"attempts":3}},` +
		`{"service":"echo","method":"Slow","cluster":"echo","timeout":"10s"}]}`
	if got != want {
		t.Errorf("echo's policy\n got %s\nwant %s", got, want)
	}
}

func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"two retries on one match", `
kind: Retry
metadata: {name: a}
target: {app: web, service: echo, method: Get}
spec: {attempts: 2}
---
kind: Retry
metadata: {name: b}
target: {app: web, service: echo, method: Get}
spec: {attempts: 3}
`, "rules.yaml:9: document 2 (Retry/b): target: Retry/a (rules.yaml document 1) already sets the Retry of this match (app web, service echo, method Get): one document of a kind per match"},
		{"two circuit breakers on one service", `
kind: CircuitBreaker
metadata: {name: a}
target: {service: echo}
spec: {}
---
kind: CircuitBreaker
metadata: {name: b}
target: {service: echo}
spec: {}
`, "document 2 (CircuitBreaker/b): target: service echo already has a CircuitBreaker: CircuitBreaker/a (rules.yaml document 1)"},
		{"any service without a route", `
kind: Retry
metadata: {name: a}
target: {app: web, service: "*"}
spec: {}
`, `document 1 (Retry/a): target.service: calls to "*" need a Route document giving their cluster`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(mustDecode(t, tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile: %v\nwant %s", err, tc.want)
			}
		})
	}
	// Same kind on different matches (tags, apps) is fine.
	if _, err := Compile(mustDecode(t, `
kind: Retry
metadata: {name: a}
target: {app: web, service: echo}
spec: {}
---
kind: Retry
metadata: {name: b}
target: {app: web, service: echo, tags: {lane: canary}}
spec: {}
---
kind: Retry
metadata: {name: c}
target: {app: api, service: echo}
spec: {}
---
kind: Route
metadata: {name: any}
target: {app: web, service: "*"}
spec: {cluster: gateway}
`)); err != nil {
		t.Error(err)
	}
}

func TestCompileAuthorization(t *testing.T) {
	docs := mustDecode(t, `kind: Authorization
metadata: {name: echo-callers}
target: {service: echo}
spec:
  rules:
  - {action: deny, from: [spiffe://mesh.local/app/batch], methods: [Delete]}
  - {action: allow, from: [web, spiffe://other.domain/app/admin]}
---
kind: CircuitBreaker
metadata: {name: echo-cb}
target: {service: echo}
spec: {max_requests: 10}
`)
	c, err := Compile(docs)
	if err != nil {
		t.Fatal(err)
	}
	echo := c.Policies["echo"]
	if echo == nil {
		t.Fatalf("policies: %v", c.Policies)
	}
	got := jsonOf(t, echo)
	want := `{"circuit_breaker":{"max_requests":10,"max_pending":1024},"authorization":[{"name":"echo-callers","service":"echo","rules":[` +
		`{"action":"deny","from":["spiffe://mesh.local/app/batch"],"methods":["Delete"]},` +
		`{"action":"allow","from":["web","spiffe://other.domain/app/admin"]}]}]}`
	if got != want {
		t.Errorf("echo's policy\n got %s\nwant %s", got, want)
	}
	if err := echo.Validate("echo"); err != nil {
		t.Error(err)
	}
	// The stored form reads back to the same document.
	b, err := docs[0].Encode(time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeStored(b, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !Same(&back, &docs[0]) {
		t.Errorf("stored %s reads back as %+v", b, back)
	}

	// Two rule sets for one service are refused, naming both.
	two := append(docs[:1:1], mustDecode(t, "kind: Authorization\nmetadata: {name: more}\ntarget: {service: echo}\nspec: {rules: [{action: deny, from: [\"*\"]}]}\n")...)
	if _, err := Compile(two); err == nil || !strings.Contains(err.Error(), "service echo already has a Authorization") {
		t.Errorf("two Authorization documents for echo: %v", err)
	}
}
