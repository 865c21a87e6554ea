package dispatcher_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
)

// The rule store behind the dispatcher's operator API: a rule applied
// through its client (what ctl apply sends) reaches the interested sidecar through a notice (the pilot no longer
// watches rule keys), and a bad rule is refused with its document and field
// named and never reaches it.
func TestCtlApplyReachesTheSidecarAndABadRuleNever(t *testing.T) {
	st := startEtcd(t)
	dir := t.TempDir()
	d := startDispatcher(t, dispatcher.Options{DataDir: dir, EtcdEndpoints: []string{st.Endpoints()}, BackCheck: -1})
	defer d.Close()
	addApp(t, st, "web", "echo")
	p := startPilot(t, st, d.Addrs().NATS, "")
	sc := startSidecar(t, "web", p.Addrs().XDS)
	api := strings.TrimPrefix(d.Addrs().API, "tcp://")
	token := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "operator.token"))))
	client, err := rules.NewClient(api, token)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	apply := func(c *rules.Client, file, body string) (string, error) {
		r, err := c.Apply(ctx, file, []byte(body), false)
		if err != nil {
			return "", err
		}
		var out []string
		for _, x := range r.Results {
			out = append(out, x.Kind+"/"+x.Name+" "+x.Action)
		}
		return strings.Join(out, "\n"), nil
	}
	good := `kind: Route
metadata: {name: web-echo}
target: {app: web, service: echo}
spec: {cluster: echo-v2}
---
kind: Retry
metadata: {name: web-echo-retry}
target: {app: web, service: echo}
spec: {attempts: 3}
`
	if out, err := apply(client, "web.yaml", good); err != nil || !strings.Contains(out, "Route/web-echo created") {
		t.Fatalf("apply: %s %v", out, err)
	}
	waitFor(t, 20*time.Second, "the sidecar routes echo to echo-v2", func() bool { c, _, _ := sc.state(); return c == "echo-v2" })

	bad := `kind: Route
metadata: {name: web-echo}
target: {app: web, service: echo}
spec: {cluster: echo-v3}
---
kind: Retry
metadata: {name: web-echo-retry}
target: {app: web, service: echo}
spec: {attempts: 99}
`
	if _, err := apply(client, "bad.yaml", bad); err == nil || !strings.Contains(err.Error(), "document 2 (Retry/web-echo-retry)") || !strings.Contains(err.Error(), "spec.attempts") {
		t.Fatalf("a bad rule: %v; want an error naming document 2 and spec.attempts", err)
	}
	// Nothing of the refused file was written: a later good change is the
	// next thing the sidecar sees, never echo-v3.
	if out, err := apply(client, "later.yaml", strings.Replace(good, "echo-v2", "echo-v4", 1)); err != nil || !strings.Contains(out, "Route/web-echo configured") {
		t.Fatalf("apply: %s %v", out, err)
	}
	var seen []string
	waitFor(t, 20*time.Second, "the sidecar routes echo to echo-v4", func() bool {
		c, _, _ := sc.state()
		if len(seen) == 0 || seen[len(seen)-1] != c {
			seen = append(seen, c)
		}
		return c == "echo-v4"
	})
	for _, c := range seen {
		if c == "echo-v3" {
			t.Fatalf("the refused rule reached the sidecar: %v", seen)
		}
	}
	// And without the token, nothing is written.
	anonymous, err := rules.NewClient(api, "")
	if err != nil {
		t.Fatal(err)
	}
	defer anonymous.Close()
	if _, err := apply(anonymous, "web.yaml", strings.Replace(good, "echo-v2", "echo-v5", 1)); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("apply without a token: %v", err)
	}
	if got := d.StatsMap()["rules.unauthorized"]; got != 1 {
		t.Errorf("rules.unauthorized %d, want 1", got)
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
