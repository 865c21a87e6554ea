package ctlview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cmd/internal/ctlview"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/inspect"
	"github.com/octomesh/octomesh/cp/inspect/inspecttest"
	"github.com/octomesh/octomesh/proxy/server"
)

func run(cmd string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := ctlview.Main(cmd, args, &out, &errb)
	return code, out.String(), errb.String()
}

// row finds the table row that starts with first and returns its cells
// (split on runs of 2+ spaces), or nil.
func row(table, first string) []string {
	for _, line := range strings.Split(table, "\n") {
		cells := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
		if len(cells) > 0 && cells[0] == first {
			return cells
		}
	}
	return nil
}

// TestProxyStatusTable: the table's columns through SYNCED, STALE and
// NACKED; JSON and YAML; a pilot that does not answer is a warning.
func TestProxyStatusTable(t *testing.T) {
	p := inspecttest.StartPilot(t)
	ctx := context.Background()
	in0 := registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}
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
	var out, stderr string
	var code int
	inspecttest.Eventually(t, "a SYNCED row", func() (bool, string) {
		code, out, stderr = run("proxy-status", "--pilot", p.HTTP)
		r := row(out, "web-1")
		return code == 0 && len(r) == 6 && r[3] == "SYNCED" && r[4] == "SYNCED" && r[5] == "SYNCED", out + stderr
	})
	if h := row(out, "NODE"); strings.Join(h, "|") != "NODE|APP|PILOT|CDS|EDS|RDS" {
		t.Errorf("header %q in\n%s", h, out)
	}
	if r := row(out, "web-1"); r[1] != "web" || r[2] != p.HTTP {
		t.Errorf("row %q", r)
	}

	in0.Weight = 4
	if err := p.API.Update(ctx, lease, in0); err != nil {
		t.Fatal(err)
	}
	pushed := sc.RecvType(inspecttest.Endpoints)
	inspecttest.Eventually(t, "a STALE EDS", func() (bool, string) {
		code, out, _ = run("proxy-status", "web-1", "--pilot", p.HTTP)
		r := row(out, "web-1")
		return len(r) == 6 && strings.HasPrefix(r[4], "STALE (acked "), out
	})
	cur := pushed.GetResources()[0].GetVersion()[:8]
	if r := row(out, "web-1"); !regexp.MustCompile(`^STALE \(acked [0-9a-f]{8}, current `+cur+`\)$`).MatchString(r[4]) || r[3] != "SYNCED" {
		t.Errorf("stale row %q", r)
	}

	sc.Nack(pushed, "cannot apply")
	silent := inspecttest.Silent(t)
	inspecttest.Eventually(t, "a NACKED EDS", func() (bool, string) {
		code, out, stderr = run("proxy-status", "--pilot", p.HTTP, "--pilot", silent, "--timeout", "300ms")
		r := row(out, "web-1")
		return code == 0 && len(r) == 6 && strings.HasPrefix(r[4], "NACKED"), out + stderr
	})
	if !strings.Contains(stderr, "warning: pilot "+silent+": GET /debug/status: no answer within 300ms") {
		t.Errorf("stderr: %s", stderr)
	}

	code, out, _ = run("proxy-status", "-o", "json", "--pilot", p.HTTP)
	var st inspect.ProxyStatus
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || len(st.Sidecars) != 1 || st.Sidecars[0].EDS.State != inspect.StateNacked {
		t.Errorf("json (%d, %v): %s", code, err, out)
	}
	code, out, _ = run("proxy-status", "-o", "yaml", "--pilot", p.HTTP)
	if code != 0 || !strings.Contains(out, "node: web-1") || !strings.Contains(out, "state: NACKED") {
		t.Errorf("yaml (%d): %s", code, out)
	}
	if code, _, stderr = run("proxy-status", "nobody", "--pilot", p.HTTP); code != 1 || !strings.Contains(stderr, `node "nobody" has no session`) {
		t.Errorf("unknown node: %d %s", code, stderr)
	}
}

// TestProxyConfigAndDescribe: proxy-config's sections and differences, an
// unknown node; describe service with instances, a health mark and rules.
func TestProxyConfigAndDescribe(t *testing.T) {
	p := inspecttest.StartPilot(t)
	ctx := context.Background()
	for _, in := range []registry.Instance{
		{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 2, Zone: "z1", Set: "blue"},
		{Service: "echo", App: "echo", Address: "127.0.0.1:7002", Weight: 1, Zone: "z2"},
	} {
		if _, _, err := p.API.Register(ctx, in, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Store.PutHealthMark(ctx, registry.HealthMark{Service: "echo", Address: "127.0.0.1:7002", Scanner: "sc-1", Confirmer: "sc-2",
		Since: time.Now().Add(-time.Minute), Reason: "connection refused"}); err != nil {
		t.Fatal(err)
	}
	if err := p.API.PutRoutes(ctx, "web", []registry.RouteRule{{Service: "echo", Method: "Slow", Cluster: "echo", Timeout: config.Duration(2 * time.Second)}}); err != nil {
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
	admin.SetXDS(map[string]any{"pilot": "tcp://" + p.XDS, "connected": true,
		"clusters":  map[string]string{"echo": versions[inspecttest.Clusters]},
		"endpoints": map[string]string{"echo": "00000000deadbeef"},
		"routes":    map[string]string{"web": versions[inspecttest.Routes]},
		"applied":   map[string]any{"clusters": map[string][]string{"echo": {"127.0.0.1:7001 (weight 2)"}}}})

	code, out, stderr := run("proxy-config", "web-1", "--pilot", p.HTTP)
	if code != 0 {
		t.Fatalf("proxy-config: %d %s", code, stderr)
	}
	for _, want := range []string{"Node web-1 (app web) on pilot " + p.HTTP, "Sidecar admin " + admin.Addr + ": connected to tcp://" + p.XDS,
		"CLUSTERS", "ENDPOINTS", "ROUTES", "DIFFERENCES", "type EDS, lb ROUND_ROBIN", "127.0.0.1:7001 weight 2 HEALTHY zone z1 set blue",
		"127.0.0.1:7002 weight 1 UNHEALTHY zone z2", "sidecar applied: 127.0.0.1:7001 (weight 2)", "echo/Slow -> echo timeout 2s"} {
		if !strings.Contains(out, want) {
			t.Errorf("proxy-config lacks %q:\n%s", want, out)
		}
	}
	if r := row(out, "endpoint"); len(r) != 5 || r[1] != "echo" || r[2] != versions[inspecttest.Endpoints][:8] || r[3] != "00000000" || r[4] != "the sidecar holds another version" {
		t.Errorf("difference row %q in\n%s", r, out)
	}
	code, out, _ = run("proxy-config", "web-1", "routes", "-o", "json", "--pilot", p.HTTP)
	var pc inspect.ProxyConfig
	if err := json.Unmarshal([]byte(out), &pc); code != 0 || err != nil || len(pc.PilotView.Routes) != 1 || pc.PilotView.Clusters != nil || len(pc.Differences) != 0 {
		t.Errorf("routes as json (%d, %v): %s", code, err, out)
	}
	code, _, stderr = run("proxy-config", "nobody", "--pilot", p.HTTP)
	if code != 1 || !strings.Contains(stderr, `octomesh ctl proxy-config: inspect: node "nobody" has no session on the 1 pilot(s) asked`) {
		t.Errorf("unknown node: %d %s", code, stderr)
	}

	code, out, stderr = run("describe", "service", "echo", "--pilot", p.HTTP)
	if code != 0 {
		t.Fatalf("describe: %d %s", code, stderr)
	}
	if r := row(out, "127.0.0.1:7001"); strings.Join(r, "|") != "127.0.0.1:7001|echo|z1|blue|2|healthy" {
		t.Errorf("instance row %q in\n%s", r, out)
	}
	if r := row(out, "127.0.0.1:7002"); len(r) != 6 || !strings.HasPrefix(r[5], "down since ") || !strings.Contains(r[5], "marked by sc-1, confirmed by sc-2: connection refused") {
		t.Errorf("marked row %q in\n%s", r, out)
	}
	if r := row(out, "web"); strings.Join(r, "|") != "web|0|service,cluster|echo/Slow -> echo timeout 2s" {
		t.Errorf("rule row %q in\n%s", r, out)
	}
	if !strings.Contains(out, "Subscribers (EDS): web-1") || !strings.Contains(out, "(none: the sidecars' defaults apply)") {
		t.Errorf("describe:\n%s", out)
	}
}

// TestUsage: bad calls exit 2 and say what is wrong.
func TestUsage(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		args []string
		want string
	}{
		{"nope", nil, `unknown view "nope"`},
		{"proxy-status", []string{"-o", "xml"}, `-o "xml": use table, json or yaml`},
		{"proxy-status", []string{"--pilot", "a:1", "--meta", "b:2"}, "give pilots or Meta, not both"},
		{"proxy-status", []string{"--pilot", "nohost"}, `"nohost" is not host:port`},
		{"proxy-config", nil, "give a node id"},
		{"proxy-config", []string{"web-1", "listeners"}, `"listeners": show clusters, endpoints, routes or all`},
		{"describe", []string{"echo"}, "describe service SERVICE"},
		{"describe", []string{"service", "echo", "--bogus"}, "flag provided but not defined: -bogus"},
	} {
		code, _, stderr := run(c.cmd, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s %q: %d %s", c.cmd, c.args, code, stderr)
		}
	}
	if code, _, _ := run("describe", "-h"); code != 0 {
		t.Errorf("-h: %d", code)
	}
}

// TestRealSidecar: a real sidecar (proxy/server) names its admin address
// in its node metadata; once it has ACKed everything proxy-status says
// SYNCED, and proxy-config reads its /xds and /config_dump and finds no
// difference with the pilot.
func TestRealSidecar(t *testing.T) {
	p := inspecttest.StartPilot(t)
	ctx := context.Background()
	if _, _, err := p.API.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ctlview")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg, err := config.Parse("web.yaml", []byte(fmt.Sprintf(`
node: {id: web-1, app: web, zone: z1}
admin: {address: "127.0.0.1:0"}
listeners: [{name: outbound, address: "unix://%s"}]
xds: {pilot: "%s", services: [echo]}
`, filepath.Join(dir, "out.sock"), p.XDS)))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.Close)
	var out string
	inspecttest.Eventually(t, "the sidecar SYNCED", func() (bool, string) {
		_, out, _ = run("proxy-status", "--pilot", p.HTTP)
		r := row(out, "web-1")
		return len(r) == 6 && r[3] == "SYNCED" && r[4] == "SYNCED" && r[5] == "SYNCED", out
	})
	code, out, stderr := run("proxy-config", "web-1", "--pilot", p.HTTP)
	if code != 0 || stderr != "" {
		t.Fatalf("proxy-config: %d %s", code, stderr)
	}
	for _, want := range []string{"Sidecar admin " + sc.Ready().Admin + ": connected to", "none: the sidecar holds what the pilot would send",
		"127.0.0.1:7001 weight 1 HEALTHY", "sidecar applied: 127.0.0.1:7001 (weight 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("proxy-config lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run("proxy-config", "web-1", "-o", "json", "--pilot", p.HTTP)
	var pc inspect.ProxyConfig
	if err := json.Unmarshal([]byte(out), &pc); code != 0 || err != nil || pc.SidecarView == nil || !strings.Contains(string(pc.SidecarView.ConfigDump), `"outbound"`) {
		t.Errorf("json (%d, %v): %.2000s", code, err, out)
	}
}
