package rules

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/config"
)

const goodFile = `# every kind
kind: Route
metadata: {name: echo-canary}
target: {app: web, service: echo, tags: {lane: canary}}
spec: {cluster: echo-canary}
---
kind: Retry
metadata: {name: echo-get}
target: {app: web, service: echo, method: Get}
spec: {attempts: 3, idempotent: true}
---
kind: Timeout
metadata: {name: echo-get}
target: {app: web, service: echo, method: Get}
spec: {timeout: 800ms}
---
kind: RateLimit
metadata: {name: echo}
target: {app: web, service: echo}
spec: {requests_per_second: 100}
---
kind: Fault
metadata: {name: echo-test}
target: {service: echo, headers: {om-test: "1"}}
spec: {abort: {percent: 5}}
---
kind: Mirror
metadata: {name: echo}
target: {app: web, service: echo}
spec: {cluster: echo-shadow}
---
kind: CircuitBreaker
metadata: {name: echo}
target: {service: echo}
spec: {max_requests: 200}
---
kind: RetryBudget
metadata: {name: echo}
target: {service: echo}
spec: {percent: 10}
---
kind: OutlierDetection
metadata: {name: echo}
target: {service: echo}
spec: {consecutive_failures: 3, interval: 5s}
`

func TestDecodeDocuments(t *testing.T) {
	docs, err := DecodeDocuments("rules.yaml", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 9 {
		t.Fatalf("%d documents", len(docs))
	}
	if r := docs[1].Spec.(*config.Retry); r.Attempts != 3 || !r.Idempotent {
		t.Errorf("retry spec %+v", r)
	}
	if m := docs[5].Spec.(*config.Mirror); m.Percent != 100 {
		t.Errorf("mirror spec %+v: want the default percent 100", m)
	}
	if o := docs[8].Spec.(*config.OutlierDetection); o.MinRequests != 50 || o.Interval.Std() != 5*time.Second {
		t.Errorf("outlier spec %+v: want the defaults beside what is given", o)
	}
	if docs[0].Target.Method != "*" {
		t.Errorf("method %q: want the default *", docs[0].Target.Method)
	}
	if k, key := docs[4].CompiledKey(); k != KindPolicy || key != "echo" {
		t.Errorf("a rule without app goes to %s/%s; want policy/echo", k, key)
	}
	if k, key := docs[1].CompiledKey(); k != KindRoutes || key != "web" {
		t.Errorf("a rule of app web goes to %s/%s; want routes/web", k, key)
	}
}

func TestDecodeDocumentsErrors(t *testing.T) {
	retry := "kind: Retry\nmetadata: {name: echo-get}\ntarget: {app: web, service: echo, method: Get}\n"
	for _, tc := range []struct{ name, in, want string }{
		{"unknown field", retry + "spec: {atempts: 3}\n",
			"rules.yaml:4: document 1 (Retry/echo-get): spec.atempts: unknown field (known: attempts, idempotent, per_try_timeout)"},
		{"unknown top field", retry + "spec: {}\nlabels: {a: b}\n",
			"rules.yaml:5: document 1 (Retry/echo-get): labels: unknown field (known: kind, metadata, spec, target)"},
		{"bad duration", retry + "spec: {per_try_timeout: soon}\n",
			`rules.yaml:4: document 1 (Retry/echo-get): spec.per_try_timeout: "soon" is not a duration (like 250ms, 3s)`},
		{"attempts out of range", "kind: Route\nmetadata: {name: a}\ntarget: {app: web, service: echo}\nspec: {cluster: echo}\n---\n" + retry + "spec:\n  attempts: 11\n",
			"rules.yaml:10: document 2 (Retry/echo-get): spec.attempts: must be between 1 and 10"},
		{"missing target.service", "kind: Retry\nmetadata: {name: r}\ntarget: {app: web}\nspec: {}\n",
			"rules.yaml:3: document 1 (Retry/r): target.service: missing"},
		{"missing target", "kind: CircuitBreaker\nmetadata: {name: r}\nspec: {}\n",
			"rules.yaml:1: document 1 (CircuitBreaker/r): target.service: missing"},
		{"missing spec", "kind: Timeout\nmetadata: {name: r}\ntarget: {app: web, service: echo}\n",
			"rules.yaml:1: document 1 (Timeout/r): spec: missing"},
		{"zero timeout", "kind: Timeout\nmetadata: {name: r}\ntarget: {app: web, service: echo}\nspec: {timeout: 0s}\n",
			"rules.yaml:4: document 1 (Timeout/r): spec.timeout: must be positive"},
		{"authorization without rules", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: echo}\nspec: {}\n",
			"rules.yaml:4: document 1 (Authorization/a): spec.rules: at least one rule is needed (no rule set: every caller is allowed)"},
		{"authorization bad action", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: echo}\nspec:\n  rules:\n  - {action: allow, from: [web]}\n  - {action: permit, from: [web]}\n",
			`document 1 (Authorization/a): spec.rules[1].action: "permit" is not allow or deny`},
		{"authorization bad caller", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: echo}\nspec: {rules: [{action: allow, from: [\"spiffe://mesh.local/web\"]}]}\n",
			`document 1 (Authorization/a): spec.rules[0].from[0]: "spiffe://mesh.local/web": an identity is spiffe://<trust-domain>/app/<app>`},
		{"authorization no from", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: echo}\nspec: {rules: [{action: deny, methods: [Get]}]}\n",
			`document 1 (Authorization/a): spec.rules[0].from: missing`},
		{"authorization empty method", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: echo}\nspec: {rules: [{action: deny, from: [\"*\"], methods: [\"\"]}]}\n",
			`document 1 (Authorization/a): spec.rules[0].methods[0]: empty`},
		{"authorization unknown field", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: echo}\nspec: {rules: [{action: deny, from: [\"*\"], method: [Get]}]}\n",
			`document 1 (Authorization/a): spec.rules[0].method: unknown field`},
		{"authorization with an app", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: echo, app: web}\nspec: {rules: [{action: deny, from: [\"*\"]}]}\n",
			"document 1 (Authorization/a): target.app: unknown field (known: service)"},
		{"authorization service *", "kind: Authorization\nmetadata: {name: a}\ntarget: {service: \"*\"}\nspec: {rules: [{action: deny, from: [\"*\"]}]}\n",
			`document 1 (Authorization/a): target.service: name "*" has '*'`},
		{"unknown kind", "kind: Retries\nmetadata: {name: a}\n",
			`rules.yaml:1: document 1 (Retries/a): kind: "Retries" is not a kind of rule (known: Authorization, CircuitBreaker, Fault, Mirror, OutlierDetection, RateLimit, Retry, RetryBudget, Route, Timeout)`},
		{"no kind", "metadata: {name: a}\n",
			"rules.yaml:1: document 1: kind: missing (one of Authorization, CircuitBreaker, "},
		{"bad yaml", "kind: Retry\nmetadata: {name: a}\n---\nkind: Retry\nmetadata: {name: [b\n",
			"rules.yaml:5: YAML syntax: did not find expected ',' or ']'"},
		{"empty file", "", "rules.yaml: the file holds no YAML document: it is empty, or only comments"},
		{"only comments", "# nothing\n---\n", "rules.yaml: the file holds no YAML document"},
		{"service-side with an app", "kind: CircuitBreaker\nmetadata: {name: cb}\ntarget: {service: echo, app: web}\nspec: {}\n",
			"rules.yaml:3: document 1 (CircuitBreaker/cb): target.app: unknown field (known: service)"},
		{"service-side bad value", "kind: CircuitBreaker\nmetadata: {name: cb}\ntarget: {service: echo}\nspec: {max_requests: 0}\n",
			"rules.yaml:4: document 1 (CircuitBreaker/cb): spec.max_requests: must be at least 1"},
		{"bad name", "kind: Retry\nmetadata: {name: \"a b\"}\ntarget: {app: web, service: echo}\nspec: {}\n",
			`rules.yaml:2: document 1 (Retry/a b): metadata.name: name "a b" has ' ' at byte 1`},
		{"twice in a file", retry + "spec: {}\n---\n" + retry + "spec: {}\n",
			"rules.yaml:7: document 2 (Retry/echo-get): metadata.name: Retry/echo-get is also document 1 of this file"},
		{"service * without app", "kind: Retry\nmetadata: {name: r}\ntarget: {service: \"*\"}\nspec: {}\n",
			`rules.yaml:3: document 1 (Retry/r): target.service: "*" needs target.app`},
		{"split weight", "kind: Route\nmetadata: {name: r}\ntarget: {app: web, service: echo}\nspec: {split: [{cluster: a, weight: 1}, {cluster: b, weight: 0}]}\n",
			"rules.yaml:4: document 1 (Route/r): spec.split[1].weight: must be positive"},
		{"bad tag", "kind: Retry\nmetadata: {name: r}\ntarget: {app: web, service: echo, tags: {\"a b\": x}}\nspec: {}\n",
			"document 1 (Retry/r): target.tags: name \"a b\""},
		{"fault without delay or abort", "kind: Fault\nmetadata: {name: f}\ntarget: {service: echo}\nspec: {}\n",
			"rules.yaml:4: document 1 (Fault/f): spec: give delay, abort or both"},
		{"not a mapping", "- a\n- b\n", "rules.yaml:1: document 1: kind: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDocuments("rules.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to hold\n  %s", err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v is not ErrInvalid", err)
			}
		})
	}
}

var testTime = time.Unix(1700000000, 0)

func TestDocumentJSONRoundTrip(t *testing.T) {
	docs, err := DecodeDocuments("rules.yaml", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range docs {
		b, err := docs[i].Encode(time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeStored(b, 42)
		if err != nil {
			t.Fatalf("%s: %v (%s)", docs[i].Ref(), err, b)
		}
		if !Same(&docs[i], &back) || back.Metadata.Revision != 42 {
			t.Errorf("%s: stored %s, read back %+v", docs[i].Ref(), b, back)
		}
	}
	// And as YAML, the way ctl get -o yaml prints them and apply reads them.
	y, err := EncodeYAML(docs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeDocuments("get.yaml", y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	for i := range docs {
		if !Same(&docs[i], &again[i]) {
			t.Errorf("%s: YAML round trip differs:\n%s", docs[i].Ref(), Diff(&docs[i], &again[i]))
		}
	}
}

func TestDiff(t *testing.T) {
	parse := func(s string) *Document {
		d, err := DecodeDocuments("x.yaml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return &d[0]
	}
	old := parse("kind: Retry\nmetadata: {name: r, revision: 7}\ntarget: {app: web, service: echo}\nspec: {attempts: 2}\n")
	new := parse("kind: Retry\nmetadata: {name: r}\ntarget: {app: web, service: echo}\nspec: {attempts: 3}\n")
	d := Diff(old, new)
	for _, want := range []string{"--- Retry/r (revision 7)\n", "+++ Retry/r (applied)\n", "\n-  attempts: 2\n+  attempts: 3\n", "\n kind: Retry\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff\n%s\nlacks %q", d, want)
		}
	}
	if d := Diff(old, old); d != "" {
		t.Errorf("diff of a document with itself: %q", d)
	}
	if d := Diff(nil, new); !strings.Contains(d, "--- (none)") || !strings.Contains(d, "+kind: Retry") {
		t.Errorf("creation diff:\n%s", d)
	}
}
