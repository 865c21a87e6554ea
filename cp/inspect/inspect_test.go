package inspect_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/inspect"
	"github.com/octomesh/octomesh/cp/inspect/inspecttest"
)

func newInspector(t *testing.T, opts inspect.Options) *inspect.Inspector {
	t.Helper()
	in, err := inspect.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return in
}

// sidecarOf returns node's status (fails the test if it is not there).
func sidecarOf(t *testing.T, in *inspect.Inspector, node string) (inspect.SidecarStatus, inspect.ProxyStatus) {
	t.Helper()
	st, err := in.ProxyStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	list := st.FindSidecar(node)
	if len(list) != 1 {
		return inspect.SidecarStatus{}, st
	}
	return list[0], st
}

// TestProxyStatusSyncedStaleNacked drives a fake sidecar's ACKs: SYNCED
// once it ACKed everything, STALE (with both versions) while it has not
// ACKed a new version, NACKED once it refused it; a pilot that does not
// answer is reported as such while the other's sidecars are listed.
func TestProxyStatusSyncedStaleNacked(t *testing.T) {
	p := inspecttest.StartPilot(t)
	ctx := context.Background()
	in0 := registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1, Zone: "z1"}
	lease, _, err := p.API.Register(ctx, in0, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sc := inspecttest.Connect(t, p.XDS, "web-1", "web", "")
	sc.Subscribe(inspecttest.Clusters, "echo")
	sc.Subscribe(inspecttest.Endpoints, "echo")
	sc.Subscribe(inspecttest.Routes, "web")
	for range 3 {
		sc.Ack(sc.Recv())
	}
	silent := inspecttest.Silent(t)
	in := newInspector(t, inspect.Options{Pilots: []string{p.HTTP, silent}, Timeout: 500 * time.Millisecond})

	var s inspect.SidecarStatus
	var st inspect.ProxyStatus
	inspecttest.Eventually(t, "web-1 synced", func() (bool, string) {
		s, st = sidecarOf(t, in, "web-1")
		return s.CDS.State == inspect.StateSynced && s.EDS.State == inspect.StateSynced && s.RDS.State == inspect.StateSynced,
			s.CDS.Summary + " " + s.EDS.Summary + " " + s.RDS.Summary
	})
	if s.App != "web" || s.Pilot != p.HTTP || s.LDS.State != inspect.StateNotSent || !s.Synced() || s.ConnectedSince.IsZero() {
		t.Errorf("status: %+v", s)
	}
	if len(st.Unreachable) != 1 || st.Unreachable[0].Source != "pilot "+silent || !strings.Contains(st.Unreachable[0].Error, "no answer within") {
		t.Errorf("unreachable: %+v", st.Unreachable)
	}
	if len(st.Pilots) != 2 || st.Pilots[0].Sessions != 1 || st.Pilots[1].Error == "" {
		t.Errorf("pilots: %+v", st.Pilots)
	}
	acked := s.EDS.Resources[0].Acked

	// A new weight: a new assignment, which the sidecar does not ACK.
	in0.Weight = 5
	if err := p.API.Update(ctx, lease, in0); err != nil {
		t.Fatal(err)
	}
	pushed := sc.RecvType(inspecttest.Endpoints)
	current := pushed.GetResources()[0].GetVersion()
	inspecttest.Eventually(t, "web-1 EDS stale", func() (bool, string) {
		s, _ = sidecarOf(t, in, "web-1")
		return s.EDS.State == inspect.StateStale, s.EDS.Summary
	})
	want := "STALE (acked " + acked[:8] + ", current " + current[:8] + ")"
	if s.EDS.Summary != want || !s.EDS.Pending || !s.EDS.Stale || s.CDS.Stale || s.CDS.State != inspect.StateSynced || s.Synced() {
		t.Errorf("EDS %q (want %q), pending %v, CDS %s", s.EDS.Summary, want, s.EDS.Pending, s.CDS.State)
	}

	// The sidecar refuses it.
	sc.Nack(pushed, "bad endpoint")
	inspecttest.Eventually(t, "web-1 EDS nacked", func() (bool, string) {
		s, _ = sidecarOf(t, in, "web-1")
		return s.EDS.State == inspect.StateNacked, s.EDS.Summary
	})
	if s.Nacks != 1 || s.LastNack != "bad endpoint" || !strings.Contains(s.EDS.Summary, "refused "+current[:8]) || !strings.Contains(s.EDS.Summary, "holds "+acked[:8]) {
		t.Errorf("after the NACK: %+v", s)
	}
}

// TestProxyConfig: the pilot's view of a node (with summaries and Envoy
// JSON), the sidecar's through the admin address its node metadata names,
// and the differences; an unknown node is a clear error; a sidecar that
// does not answer is reported, the pilot's view still given.
func TestProxyConfig(t *testing.T) {
	p := inspecttest.StartPilot(t)
	ctx := context.Background()
	if _, _, err := p.API.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 3, Zone: "z1", Set: "s1"}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.API.PutRoutes(ctx, "web", []registry.RouteRule{{Service: "echo", Method: "Slow", Timeout: config.Duration(2 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	admin := inspecttest.StartAdmin(t)
	sc := inspecttest.Connect(t, p.XDS, "web-1", "web", admin.Addr)
	sc.Subscribe(inspecttest.Clusters, "echo")
	sc.Subscribe(inspecttest.Endpoints, "echo")
	sc.Subscribe(inspecttest.Routes, "web")
	versions := map[string]string{}
	for range 3 {
		r := sc.Recv()
		for _, res := range r.GetResources() {
			versions[r.GetTypeUrl()] = res.GetVersion()
		}
		sc.Ack(r)
	}
	// The sidecar holds the pilot's cluster and routes, an old assignment,
	// and a cluster the pilot knows nothing of.
	admin.SetXDS(map[string]any{"pilot": p.XDS, "connected": true,
		"clusters":  map[string]string{"echo": versions[inspecttest.Clusters], "gone": "0123456789abcdef"},
		"endpoints": map[string]string{"echo": "00000000deadbeef"},
		"routes":    map[string]string{"web": versions[inspecttest.Routes]},
		"applied":   map[string]any{"clusters": map[string][]string{"echo": {"127.0.0.1:7001 (weight 3)"}}, "routes": []string{"echo/Slow -> echo"}}})

	in := newInspector(t, inspect.Options{Pilots: []string{p.HTTP}})
	pc, err := in.ProxyConfig(ctx, "web-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if pc.App != "web" || pc.Admin != admin.Addr || pc.SidecarView == nil || len(pc.Unreachable) != 0 {
		t.Fatalf("proxy config: %+v", pc)
	}
	v := pc.PilotView
	if len(v.Clusters) != 1 || v.Clusters[0].Version != versions[inspecttest.Clusters] || !strings.Contains(strings.Join(v.Clusters[0].Summary, "\n"), "type EDS") ||
		!strings.Contains(string(v.Clusters[0].Envoy), `"name":"echo"`) {
		t.Errorf("clusters: %+v", v.Clusters)
	}
	if len(v.Endpoints) != 1 || strings.Join(v.Endpoints[0].Summary, "\n") != "127.0.0.1:7001 weight 3 HEALTHY zone z1 set s1" {
		t.Errorf("endpoints: %+v", v.Endpoints)
	}
	if len(v.Routes) != 1 || !strings.Contains(strings.Join(v.Routes[0].Summary, "\n"), "echo/Slow -> echo timeout 2s") {
		t.Errorf("routes: %+v", v.Routes)
	}
	diffs := map[string]inspect.Difference{}
	for _, d := range pc.Differences {
		diffs[d.Kind+"/"+d.Name] = d
	}
	if len(diffs) != 2 || diffs["endpoint/echo"].Sidecar != "00000000deadbeef" || diffs["endpoint/echo"].Pilot != versions[inspecttest.Endpoints] ||
		!strings.Contains(diffs["cluster/gone"].Reason, "no subscription") {
		t.Errorf("differences: %+v", pc.Differences)
	}

	// An unknown node.
	_, err = in.ProxyConfig(ctx, "nobody", "")
	if !errors.Is(err, inspect.ErrUnknownNode) || !strings.Contains(err.Error(), `node "nobody" has no session on the 1 pilot(s) asked`) {
		t.Errorf("unknown node: %v", err)
	}

	// A sidecar that does not answer: the pilot's view, and the reason.
	in = newInspector(t, inspect.Options{Pilots: []string{p.HTTP}, Timeout: 300 * time.Millisecond})
	silent := inspecttest.Silent(t)
	pc, err = in.ProxyConfig(ctx, "web-1", silent)
	if err != nil {
		t.Fatal(err)
	}
	if pc.SidecarView != nil || len(pc.PilotView.Clusters) != 1 || len(pc.Unreachable) != 1 ||
		pc.Unreachable[0].Source != "sidecar web-1 ("+silent+")" || !strings.Contains(pc.Unreachable[0].Error, "no answer within 300ms") {
		t.Errorf("silent sidecar: %+v", pc)
	}
}

// TestDescribeService: instances with zone, SET and weight, a scanner's
// health mark, the policy, the apps' rules that send to it, its
// subscribers.
func TestDescribeService(t *testing.T) {
	p := inspecttest.StartPilot(t)
	ctx := context.Background()
	for _, in := range []registry.Instance{
		{Service: "echo", App: "echo", Address: "127.0.0.1:7002", Weight: 1, Zone: "z2"},
		{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 2, Zone: "z1", Set: "blue"},
		{Service: "echo", App: "echo", Address: "127.0.0.1:7003", Weight: 0, Zone: "z2"},
	} {
		if _, _, err := p.API.Register(ctx, in, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	since := time.Now().UTC().Truncate(time.Second)
	if ok, err := p.Store.PutHealthMark(ctx, registry.HealthMark{Service: "echo", Address: "127.0.0.1:7002", Scanner: "sc-1", Confirmer: "sc-2", Since: since, Reason: "connection refused"}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := p.API.PutPolicy(ctx, "echo", registry.ServicePolicy{CircuitBreaker: &config.CircuitBreaker{MaxRequests: 200, MaxPending: 100}}); err != nil {
		t.Fatal(err)
	}
	if err := p.API.PutRoutes(ctx, "web", []registry.RouteRule{
		{Service: "user", Cluster: "user"},
		{Service: "echo", Method: "Slow", Cluster: "echo-v2"},
		{Service: "user", Method: "Get", Split: []config.WeightedCluster{{Cluster: "user", Weight: 90}, {Cluster: "echo", Weight: 10}}},
	}); err != nil {
		t.Fatal(err)
	}
	sc := inspecttest.Connect(t, p.XDS, "web-1", "web", "")
	sc.Subscribe(inspecttest.Endpoints, "echo")
	sc.Ack(sc.Recv())

	in := newInspector(t, inspect.Options{Pilots: []string{inspecttest.Silent(t), p.HTTP}, Timeout: 500 * time.Millisecond})
	d, err := in.DescribeService(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Instances) != 3 {
		t.Fatalf("instances: %+v", d.Instances)
	}
	got := []string{}
	for _, i := range d.Instances {
		got = append(got, i.Address+" "+i.Zone+" "+i.Set+" "+i.Health)
	}
	if strings.Join(got, "; ") != "127.0.0.1:7001 z1 blue healthy; 127.0.0.1:7002 z2  down; 127.0.0.1:7003 z2  draining" {
		t.Errorf("instances: %q", got)
	}
	if m := d.Instances[1].Mark; m == nil || m.Scanner != "sc-1" || m.Reason != "connection refused" || !m.Since.Equal(since) {
		t.Errorf("mark: %+v", m)
	}
	if d.Policy.CircuitBreaker == nil || d.Policy.CircuitBreaker.MaxRequests != 200 {
		t.Errorf("policy: %+v", d.Policy)
	}
	if len(d.Rules) != 2 || d.Rules[0].App != "web" || d.Rules[0].Index != 1 || d.Rules[0].Why != "service" || d.Rules[1].Index != 2 || d.Rules[1].Why != "split" {
		t.Errorf("rules: %+v", d.Rules)
	}
	if strings.Join(d.Subscribers, ",") != "web-1" || d.Source != p.HTTP {
		t.Errorf("subscribers %v, source %s", d.Subscribers, d.Source)
	}
	if len(d.Unreachable) < 2 { // the silent pilot, as a registry and as a pilot
		t.Errorf("unreachable: %+v", d.Unreachable)
	}

	if _, err := in.DescribeService(ctx, "bad name"); err == nil || !strings.Contains(err.Error(), "service") {
		t.Errorf("a bad name: %v", err)
	}
}

// TestOptions: bad options are refused, naming what is wrong; Meta not
// answering is the view's error, naming it.
func TestOptions(t *testing.T) {
	if _, err := inspect.New(inspect.Options{Pilots: []string{"a:1"}, Meta: "b:2"}); err == nil {
		t.Error("pilots and meta together: no error")
	}
	if _, err := inspect.New(inspect.Options{Pilots: []string{"nohost"}}); err == nil || !strings.Contains(err.Error(), "nohost") {
		t.Errorf("a bad address: %v", err)
	}
	in := newInspector(t, inspect.Options{Meta: inspecttest.Silent(t), Timeout: 200 * time.Millisecond})
	if _, err := in.ProxyStatus(context.Background()); err == nil || !strings.Contains(err.Error(), "meta") {
		t.Errorf("a silent meta: %v", err)
	}
}

// TestMetaAssignment: with Meta, the pilots are those of its assignment,
// named by id: one answers, one is silent, one publishes no HTTP address;
// each is reported, and the view goes on. Describe falls back from Meta's
// registration API to a pilot's.
func TestMetaAssignment(t *testing.T) {
	p := inspecttest.StartPilot(t)
	ctx := context.Background()
	if _, _, err := p.API.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	sc := inspecttest.Connect(t, p.XDS, "web-1", "web", "")
	sc.Subscribe(inspecttest.Routes, "web")
	sc.Ack(sc.Recv())
	silent := inspecttest.Silent(t)
	assignment := meta.AssignmentInfo{Pilots: []meta.PilotLoad{
		{PilotInfo: meta.PilotInfo{ID: "p2", XDS: "tcp://" + silent, HTTP: "tcp://" + silent}},
		{PilotInfo: meta.PilotInfo{ID: "p1", XDS: p.Addrs().XDS, HTTP: p.Addrs().HTTP}, Apps: 1},
		{PilotInfo: meta.PilotInfo{ID: "p3", XDS: "tcp://127.0.0.1:1"}},
	}, Apps: map[string]string{"web": "p1"}}
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/assignment" {
			http.Error(w, `{"error":"not here"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(assignment)
	}))
	t.Cleanup(m.Close)
	metaAddr := strings.TrimPrefix(m.URL, "http://")
	in := newInspector(t, inspect.Options{Meta: metaAddr, Timeout: 300 * time.Millisecond})
	var s inspect.SidecarStatus
	var st inspect.ProxyStatus
	inspecttest.Eventually(t, "web-1 on p1", func() (bool, string) {
		s, st = sidecarOf(t, in, "web-1")
		return s.RDS.State == inspect.StateSynced, s.RDS.Summary
	})
	if s.Pilot != "p1" || s.PilotHTTP != p.Addrs().HTTP {
		t.Errorf("sidecar: %+v", s)
	}
	bad := map[string]string{}
	for _, u := range st.Unreachable {
		bad[u.Source] = u.Error
	}
	if len(bad) != 2 || !strings.Contains(bad["pilot p2"], "no answer within 300ms") || !strings.Contains(bad["pilot p3"], "no HTTP address") {
		t.Errorf("unreachable: %+v", st.Unreachable)
	}
	if len(st.Pilots) != 2 || st.Pilots[0].ID != "p1" || st.Pilots[0].Sessions != 1 {
		t.Errorf("pilots: %+v", st.Pilots)
	}

	d, err := in.DescribeService(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != p.Addrs().HTTP || len(d.Instances) != 1 || d.Instances[0].Health != "healthy" {
		t.Errorf("describe: %+v", d)
	}
}
