package xds_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/proxy/server"
)

func applied(s *server.Server) map[string][]string { return s.XDS().Status().Applied.Clusters }

// TestOnDemandSubscription: the first call to a service the sidecar has not
// subscribed to subscribes and waits instead of failing; the subscription
// lands in the file.
func TestOnDemandSubscription(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	s1 := startInstance(t, dir, "s1")
	if _, _, err := e.api.Register(ctxT(t), s1.registration(1), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sc, out := clientSidecar(t, e, dir, "")
	c := dial(t, out)
	start := time.Now()
	if from := c.mustCall("echo"); from != "s1" {
		t.Fatalf("answered by %q", from)
	}
	t.Logf("first call, with on-demand subscription: %v", time.Since(start).Round(time.Millisecond))
	if n := sc.XDS().Stats.OnDemand.Load(); n != 1 {
		t.Errorf("on-demand subscriptions %d, want 1", n)
	}
	// The second call finds the cluster there: no subscription, no wait.
	c.mustCall("echo")
	if n, w := sc.XDS().Stats.OnDemand.Load(), sc.XDS().Stats.AwaitTimeouts.Load(); n != 1 || w != 0 {
		t.Errorf("after the second call: %d on-demand subscriptions, %d awaits timed out; want 1 and 0", n, w)
	}
	b, err := os.ReadFile(filepath.Join(dir, "subscriptions.json"))
	if err != nil || !strings.Contains(string(b), `"echo"`) {
		t.Fatalf("subscriptions file: %s %v", b, err)
	}
	eventually(t, 30*time.Second, "the pilot sees the session's subscription", func() bool { return e.p.XDS.Subscribers("echo") == 1 })
}

// TestUnknownServiceFailsFast: the pilot says at once that a service has no
// instances; the call fails with no_instances, saying so, without waiting
// out the bound.
func TestUnknownServiceFailsFast(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	sc, out := clientSidecar(t, e, dir, "")
	c := dial(t, out)
	msg, meshErr := c.call("ghost", "Echo")
	if meshErr != "no_instances" || !strings.Contains(msg, `octomesh: no instances: service "ghost" has no instances`) {
		t.Fatalf("got %s: %s", meshErr, msg)
	}
	// The pilot's answer ended the wait, not the bound (5s).
	if n := sc.XDS().Stats.AwaitTimeouts.Load(); n != 0 {
		t.Errorf("%d awaits timed out; the pilot's answer should end the wait", n)
	}
	var stats strings.Builder
	sc.WriteStats(&stats)
	if !strings.Contains(stats.String(), "\ndownstream.no_instances 1\n") {
		t.Errorf("downstream.no_instances is not 1:\n%s", stats.String())
	}
}

// TestServiceLosesItsInstances: once the last instance of a service leaves,
// its calls fail with no_instances, not no_route.
func TestServiceLosesItsInstances(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	s1 := startInstance(t, dir, "s1")
	ctx := ctxT(t)
	r1, err := e.api.Keep(ctx, s1.registration(1), 3*time.Second, quiet)
	if err != nil {
		t.Fatal(err)
	}
	_, out := clientSidecar(t, e, dir, "  services: [echo]\n")
	c := dial(t, out)
	c.mustCall("echo")
	if err := r1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var msg, meshErr string
	eventually(t, 10*time.Second, "calls fail with no_instances", func() bool {
		msg, meshErr = c.call("echo", "Echo")
		return meshErr == "no_instances"
	})
	if !strings.Contains(msg, `service "echo" has no instances`) {
		t.Errorf("message %q", msg)
	}
}

// TestWeightChangeAndInstanceRemoval: endpoints follow the registry: a new
// weight, a revoked registration, and an instance whose lease is not kept
// alive, which leaves within its TTL.
func TestWeightChangeAndInstanceRemoval(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	s1, s2 := startInstance(t, dir, "s1"), startInstance(t, dir, "s2")
	ctx := ctxT(t)
	r1, err := e.api.Keep(ctx, s1.registration(1), 3*time.Second, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close(ctx)
	r2, err := e.api.Keep(ctx, s2.registration(1), 3*time.Second, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sc, out := clientSidecar(t, e, dir, "  services: [echo]\n")
	c := dial(t, out)
	eventually(t, 30*time.Second, "both endpoints applied", func() bool { return len(applied(sc)["echo"]) == 2 })
	if got := spread(c, 20); got["s1"] != 10 || got["s2"] != 10 {
		t.Fatalf("equal weights: %v", got)
	}

	if err := r2.SetWeight(ctx, 3); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the new weight applied", func() bool {
		return strings.Contains(fmt.Sprint(applied(sc)["echo"]), s2.address+" (weight 3)")
	})
	if got := spread(c, 40); got["s1"] != 10 || got["s2"] != 30 {
		t.Fatalf("weights 1 and 3: %v", got)
	}

	if err := r2.Close(ctx); err != nil { // graceful: the lease is revoked
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "s2 gone after deregistering", func() bool { return len(applied(sc)["echo"]) == 1 })
	if got := spread(c, 10); got["s1"] != 10 {
		t.Fatalf("after s2 left: %v", got)
	}

	// s3 registers with a lease nobody renews, as if its process died.
	s3 := startInstance(t, dir, "s3")
	if _, _, err := e.api.Register(ctx, s3.registration(1), registry.MinTTL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "s3 applied", func() bool { return len(applied(sc)["echo"]) == 2 })
	start := time.Now()
	// How soon after its TTL depends on the machine (etcd's lessor, the
	// watch, the push): only that it goes is checked; the time is logged.
	eventually(t, registry.MinTTL+30*time.Second, "s3 gone when its lease expired", func() bool { return len(applied(sc)["echo"]) == 1 })
	t.Logf("an instance of TTL %v left the sidecar's cluster %v after it was applied", registry.MinTTL, time.Since(start).Round(10*time.Millisecond))
	c.mustCall("echo")
}

// TestPilotRestart: with the pilot away the sidecar keeps serving its last
// configuration; when the pilot is back the sidecar resyncs and gets what
// changed.
func TestPilotRestart(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	s1, s2 := startInstance(t, dir, "s1"), startInstance(t, dir, "s2")
	ctx := ctxT(t)
	r1, err := e.api.Keep(ctx, s1.registration(1), 10*time.Second, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close(ctx)
	sc, out := clientSidecar(t, e, dir, "")
	c := dial(t, out)
	c.mustCall("echo")
	connects := sc.XDS().Stats.Connects.Load()

	e.stop()
	eventually(t, 30*time.Second, "the sidecar notices", func() bool { return !sc.XDS().Status().Connected })
	for range 20 {
		if from := c.mustCall("echo"); from != "s1" {
			t.Fatalf("while the pilot is away: answered by %s", from)
		}
	}

	e.start()
	// s2 joins through the restarted pilot; s1's registration survived in
	// etcd (its keeper reconnects to the same API socket).
	if _, _, err := e.api.Register(ctx, s2.registration(1), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "resynced with both instances", func() bool {
		return sc.XDS().Stats.Connects.Load() > connects && len(applied(sc)["echo"]) == 2
	})
	if got := spread(c, 10); got["s1"] != 5 || got["s2"] != 5 {
		t.Fatalf("after the resync: %v", got)
	}
}

// TestNackKeepsLastGoodConfig: route rules the sidecar cannot apply (two
// rules for one match, written straight into the store) are NACKed with
// the reason; the pilot counts the NACK and keeps the session on its last
// acknowledged version; the sidecar keeps serving the last good routes, and
// the next good rules apply.
func TestNackKeepsLastGoodConfig(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	s1, s2 := startInstance(t, dir, "s1"), startInstance(t, dir, "s2")
	ctx := ctxT(t)
	for _, in := range []registry.Instance{s1.registration(1)} {
		if _, _, err := e.api.Register(ctx, in, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	other := s2.registration(1)
	other.Service = "echo-v2"
	if _, _, err := e.api.Register(ctx, other, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	sc, out := clientSidecar(t, e, dir, "  services: [echo]\n")
	c := dial(t, out)
	c.mustCall("echo")

	// Good rules: method Slow of echo goes to echo-v2.
	if err := e.api.PutRoutes(ctx, "web", []registry.RouteRule{{Service: "echo"}, {Service: "echo", Method: "Slow", Cluster: "echo-v2"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "rules applied", func() bool {
		from, _ := c.call("echo", "Slow")
		return from == "s2"
	})
	good := sc.XDS().Status().Routes["web"]

	// Bad rules, bypassing the API's validation.
	bad := `{"routes":[{"service":"echo","method":"Slow","cluster":"echo"},{"service":"echo","method":"Slow","cluster":"echo-v2"}]}`
	if err := e.p.Store.PutRoutes(ctx, "web", []byte(bad)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the pilot counts the NACK", func() bool { return e.p.XDS.Stats.Nacks.Load() == 1 })
	if n := sc.XDS().Stats.Nacks.Load(); n != 1 {
		t.Errorf("sidecar NACKs %d", n)
	}
	var sess []struct {
		Node     string                       `json:"node"`
		Nacks    int                          `json:"nacks"`
		LastNack string                       `json:"last_nack"`
		Acked    map[string]map[string]string `json:"acked"`
	}
	getJSON(t, e.apiAddr, "/debug/sessions", &sess)
	if len(sess) != 1 || sess[0].Nacks != 1 || !strings.Contains(sess[0].LastNack, `another route already matches service "echo" method "Slow"`) ||
		sess[0].Acked["route"]["web"] != good {
		t.Fatalf("pilot's view of the session: %+v; want 1 NACK, route web acked at %s", sess, good)
	}
	if v := sc.XDS().Status().Routes["web"]; v != good {
		t.Errorf("sidecar holds routes %s, want the last good %s", v, good)
	}
	for range 5 {
		if from, _ := c.call("echo", "Slow"); from != "s2" {
			t.Fatalf("after the NACK, Slow answered by %q; the last good rules send it to s2", from)
		}
	}

	// Good rules again.
	if err := e.api.PutRoutes(ctx, "web", []registry.RouteRule{{Service: "echo"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "next good rules applied", func() bool {
		from, _ := c.call("echo", "Slow")
		return from == "s1"
	})
}

// TestPreloadFromSubscriptionsFile: a restarted sidecar subscribes to what
// its file lists before the app calls.
func TestPreloadFromSubscriptionsFile(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	s1 := startInstance(t, dir, "s1")
	if _, _, err := e.api.Register(ctxT(t), s1.registration(1), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "subscriptions.json"), []byte(`{"services": ["echo"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, out := clientSidecar(t, e, dir, "")
	eventually(t, 30*time.Second, "echo preloaded", func() bool { return len(applied(sc)["echo"]) == 1 })
	dial(t, out).mustCall("echo")
	if n := sc.XDS().Stats.OnDemand.Load(); n != 0 {
		t.Errorf("on-demand subscriptions %d; the preload should have made them unnecessary", n)
	}
}

// TestSubscribeEndpoint: the admin endpoint the sdk calls.
func TestSubscribeEndpoint(t *testing.T) {
	e := startPilot(t)
	dir := tempDir(t)
	sc, _ := clientSidecar(t, e, dir, "")
	admin := "http://" + sc.Ready().Admin
	cases := []struct {
		body, ctype string
		code        int
		want        string
	}{
		{`["echo","user.profile"]`, "application/json", 200, `{"subscribed":["echo","user.profile"]}`},
		{"service=orders&service=stock", "application/x-www-form-urlencoded", 200, `{"subscribed":["orders","stock"]}`},
		{`["bad name"]`, "application/json", 400, `subscribe: services[0]: name "bad name" has ' ' at byte 3`},
		{`{"services":"echo"}`, "application/json", 400, "subscribe: body: want a JSON list of service names"},
		{`[]`, "application/json", 400, "subscribe: no services given"},
	}
	for _, tc := range cases {
		resp, err := http.Post(admin+"/subscribe", tc.ctype, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.HasPrefix(strings.TrimSpace(string(b[:n])), tc.want) {
			t.Errorf("POST %s: %d %q, want %d %q", tc.body, resp.StatusCode, b[:n], tc.code, tc.want)
		}
	}
	if got := strings.Join(sc.XDS().Status().Subscriptions, ","); got != "echo,orders,stock,user.profile" {
		t.Errorf("subscriptions %s", got)
	}
}

func getJSON(t *testing.T, apiAddr, path string, v any) {
	t.Helper()
	resp, err := unixGet(apiAddr, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp, v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, resp)
	}
}
