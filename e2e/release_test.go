package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/agent"
	releaseapi "github.com/octomesh/octomesh/api/release"
	"github.com/octomesh/octomesh/cp/release"
	"github.com/octomesh/octomesh/examples/echo"
)

// releaseMesh is six sidecars, each run by an agent that follows the
// control plane's releases: three in front of one echo server (b1..b3,
// app echo) and three for callers (a1..a3, app echo-client), each caller
// sidecar balancing over the three server sidecars. The release API runs
// in the test process.
type releaseMesh struct {
	dir     string
	handler *echo.Handler
	agents  map[string]*agentProc
	clients []echoClient
	ctrl    *release.Controller
	server  string // the release API's address
}

func startReleaseMesh(t *testing.T) *releaseMesh {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-rel")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &releaseMesh{dir: dir, handler: echo.NewHandler("echo-1"), agents: map[string]*agentProc{}}

	h, err := release.NewHandler(release.Config{DataDir: filepath.Join(dir, "cp"), OperatorToken: "e2e-operator", Tick: 100 * time.Millisecond, Staleness: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() }) // after the agents
	m.ctrl, m.server = h.Controller(), srv.Listener.Addr().String()

	app := filepath.Join(dir, "app.sock")
	svr, err := echo.NewServer(app, "echo-1", m.handler)
	if err != nil {
		t.Fatal(err)
	}
	go svr.Run()
	t.Cleanup(func() { svr.Stop() })
	write := func(name, yaml string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	follow := func(node, app, zone string) []string {
		return []string{"--control-plane", m.server, "--node", node, "--app", app, "--zone", zone,
			"--poll-wait", "5s", "--poll-interval", "1s", "--report-interval", "300ms", "--watch-window", "1s"}
	}
	var bAddrs []string
	for i := 1; i <= 3; i++ {
		node, addr := fmt.Sprintf("b%d", i), reservePort(t)
		bAddrs = append(bAddrs, fmt.Sprintf("{address: \"tcp://%s\"}", addr))
		cfg := write(node+".yaml", fmt.Sprintf(`
node: {id: %s, app: echo}
admin: {address: "127.0.0.1:0"}
hot_restart: {socket: "%s/%s.hr", drain_time: 2s}
listeners:
  - {name: inbound, address: "%s", routes: [{cluster: local-app}]}
clusters:
  - {name: local-app, connections_per_endpoint: 4, endpoints: [{address: "unix://%s"}]}
`, node, dir, node, addr, app))
		m.agents[node] = startAgent(t, cfg, filepath.Join(dir, node+"-agent"), follow(node, "echo", fmt.Sprintf("z%d", i))...)
	}
	for i := 1; i <= 3; i++ {
		node := fmt.Sprintf("a%d", i)
		cfg := write(node+".yaml", fmt.Sprintf(`
node: {id: %s, app: echo-client}
admin: {address: "127.0.0.1:0"}
hot_restart: {socket: "%s/%s.hr", drain_time: 2s}
listeners:
  - {name: outbound, address: "unix://%s/%s.sock", routes: [{service: echo, cluster: echo}]}
clusters:
  - {name: echo, endpoints: [%s]}
`, node, dir, node, dir, node, strings.Join(bAddrs, ", ")))
		m.agents[node] = startAgent(t, cfg, filepath.Join(dir, node+"-agent"), follow(node, "echo-client", fmt.Sprintf("z%d", i))...)
		c, err := echo.NewClient(filepath.Join(dir, node+".sock"))
		if err != nil {
			t.Fatal(err)
		}
		m.clients = append(m.clients, c)
	}
	// Every node has told the control plane what it runs.
	if !waitFor(60*time.Second, func() bool {
		n := 0
		for _, r := range m.ctrl.Nodes(time.Now()) {
			if r.SHA256 != "" && r.State == releaseapi.NodeReady {
				n++
			}
		}
		return n == 6
	}) {
		t.Fatalf("not every node reported ready: %+v", m.ctrl.Nodes(time.Now()))
	}
	return m
}

// operator is the release API's client with the operator token (what
// `octomesh ctl release` uses; cmd/internal/ctlrelease has its own tests).
func (m *releaseMesh) operator() *releaseapi.Client {
	return releaseapi.NewClient(m.server, "e2e-operator")
}

func (m *releaseMesh) upload(t *testing.T, file, version string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := m.operator().Upload(context.Background(), f, version, sha256File(t, file)); err != nil {
		t.Fatal(err)
	}
}

func (m *releaseMesh) logs() string {
	var b strings.Builder
	for name, a := range m.agents {
		fmt.Fprintf(&b, "--- %s\n%s", name, a.logs)
	}
	return b.String()
}

// waitRelease waits for the release to reach state.
func (m *releaseMesh) waitRelease(t *testing.T, name, state string) releaseapi.Release {
	t.Helper()
	var r releaseapi.Release
	if !waitFor(120*time.Second, func() bool {
		var err error
		r, err = m.ctrl.Release(name)
		return err == nil && r.State == state
	}) {
		t.Fatalf("release %s is %s, not %s: %s\nstages %+v\nnodes %+v\n%s", name, r.State, state, r.Reason, r.Stages, m.ctrl.Nodes(time.Now()), m.logs())
	}
	return r
}

// A staged release of a new build across six agents in three stages
// (a canary, then two batches) under 51 callers through the sidecars: no
// call fails. Then a release of a build that cannot serve onto the three
// server sidecars: its canary's agent rolls it back, the gate fails, the
// release stops after the canary and rolls back; the other two never get
// it, and no call fails. Last, a release back to the first build onto the
// caller sidecars, aborted by the operator once its canary passed: the
// control plane sends the canary back to the build it ran, its agent
// hot-restarts it, and no call fails.
func TestStagedReleaseAcrossSixAgents(t *testing.T) {
	start := time.Now()
	m := startReleaseMesh(t)
	next := buildVersion(t, m.dir, "e2e-next")
	broken := filepath.Join(m.dir, "octomesh-broken")
	script := "#!/bin/sh\n[ \"$1\" = version ] && { echo octomesh e2e-broken; exit 0; }\necho 'this build cannot serve' >&2\nexit 3\n"
	if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("six agents and a second build ready after %v", time.Since(start).Round(time.Millisecond))
	var loads []*load
	for _, c := range m.clients {
		l := startLoadN(c, 17)
		defer l.end()
		loads = append(loads, l)
	}
	waitCalls := func(n int64) {
		t.Helper()
		for _, l := range loads {
			l.waitOK(t, n)
		}
	}
	waitCalls(300)

	// The staged release.
	before := map[string]int{}
	for name, a := range m.agents {
		before[name] = a.status(t).Sidecar.PID
	}
	upStart := time.Now()
	m.upload(t, next, "e2e-next")
	m.upload(t, broken, "e2e-broken")
	t.Logf("load running after %v; uploads took %v", upStart.Sub(start).Round(time.Millisecond), time.Since(upStart).Round(time.Millisecond))
	ctx := context.Background()
	relStart := time.Now()
	spec := releaseapi.Spec{Name: "staged", Version: "e2e-next", Canary: 1, Batches: 2, Pause: releaseapi.Duration(500 * time.Millisecond),
		Gate: releaseapi.Gate{MaxErrorRate: 0.01, Window: releaseapi.Duration(1500 * time.Millisecond)}}
	if _, err := m.operator().Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	r := m.waitRelease(t, "staged", releaseapi.Succeeded)
	took := time.Since(relStart)
	waitCalls(300)
	if len(r.Stages) != 3 || len(r.Stages[0].Nodes) != 1 || len(r.Stages[1].Nodes) != 3 || len(r.Stages[2].Nodes) != 2 {
		t.Fatalf("stages %+v; want 1, 3 and 2 nodes", r.Stages)
	}
	for i, s := range r.Stages {
		t.Logf("stage %d %v: started %v, watched from %v, passed %v", i, s.Nodes, s.StartedAt.Sub(relStart).Round(time.Millisecond),
			s.WatchFrom.Sub(relStart).Round(time.Millisecond), s.EndedAt.Sub(relStart).Round(time.Millisecond))
		if i > 0 && s.StartedAt.Before(r.Stages[i-1].EndedAt.Add(500*time.Millisecond)) {
			t.Errorf("stage %d started at %v, before stage %d passed (%v) and the pause", i, s.StartedAt, i-1, r.Stages[i-1].EndedAt)
		}
	}
	for name, a := range m.agents {
		st := a.status(t)
		if st.Sidecar.Version != "e2e-next" || st.Sidecar.PID == before[name] || st.LastUpgrade == nil || st.LastUpgrade.Outcome != agent.Upgraded {
			t.Errorf("%s after the release: %+v, last upgrade %+v", name, st.Sidecar, st.LastUpgrade)
		}
		if f := st.Follow; f == nil || f.Node != name || f.Target == nil || f.Target.Version != "e2e-next" || f.State != "" || f.LastReport == nil || f.PollError != "" || f.ReportError != "" {
			t.Errorf("%s follows: %+v", name, f)
		}
	}
	nodes, err := m.operator().Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Version.Version != "e2e-next" || n.SHA256 != sha256File(t, next) || !n.Ready || n.State != releaseapi.NodeReady || n.PID == 0 || n.RSSBytes == 0 || n.ConfigVersion == "" {
			t.Errorf("node report of %s: %+v", n.Node, n)
		}
		t.Logf("node %s: app %s, zone %s, %s (%.12s), %s, ready %v, restarts %d, config %s, cpu %.1fs, rss %.1fMiB, %d requests, %d errors",
			n.Node, n.App, n.Zone, n.Version.Version, n.SHA256, n.State, n.Ready, n.Restarts, n.ConfigVersion, n.CPUSeconds, float64(n.RSSBytes)/(1<<20), n.Requests, n.Errors)
	}
	t.Logf("staged release done in %v", took.Round(time.Millisecond))

	// The broken build onto the server sidecars: stopped after the canary.
	for name, a := range m.agents {
		before[name] = a.status(t).Sidecar.PID
	}
	relStart = time.Now()
	spec.Name, spec.Version, spec.Scope.Apps = "broken", "e2e-broken", []string{"echo"}
	if _, err := m.operator().Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	r = m.waitRelease(t, "broken", releaseapi.RolledBack)
	t.Logf("broken release rolled back in %v: %s", time.Since(relStart).Round(time.Millisecond), r.Reason)
	if len(r.Stages) != 3 || r.Stages[0].Nodes[0] != "b1" || r.Stages[0].State != releaseapi.StageFailed ||
		r.Stages[1].State != releaseapi.StagePending || r.Stages[2].State != releaseapi.StagePending ||
		!strings.Contains(r.Reason, "node b1: rolled back: the new version did not become ready") {
		t.Fatalf("broken release: %s, %+v", r.Reason, r.Stages)
	}
	for name, a := range m.agents {
		st := a.status(t)
		if st.Sidecar.Version != "e2e-next" || st.Sidecar.PID != before[name] {
			t.Errorf("%s after the broken release: %+v (pid before %d)", name, st.Sidecar, before[name])
		}
		tried := st.LastUpgrade != nil && st.LastUpgrade.ToVersion == "e2e-broken"
		if tried != (name == "b1") {
			t.Errorf("%s: last upgrade %+v; only the canary b1 may have tried e2e-broken", name, st.LastUpgrade)
		}
	}
	waitCalls(300)

	// An operator aborts a release whose canary passed: the control plane
	// sends the canary back, and its agent hot-restarts the previous
	// build (from its data dir: no download).
	for name, a := range m.agents {
		before[name] = a.status(t).Sidecar.PID
	}
	first := m.agents["a1"].ready.Sidecar.Version // what the agents started with
	m.upload(t, bin, first)
	relStart = time.Now()
	spec.Name, spec.Version, spec.Scope.Apps, spec.Pause = "back", first, []string{"echo-client"}, releaseapi.Duration(time.Minute)
	if _, err := m.operator().Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if !waitFor(60*time.Second, func() bool {
		r, _ = m.ctrl.Release("back")
		return r.Stages[0].State == releaseapi.StagePassed
	}) {
		t.Fatalf("the canary of release back did not pass: %+v\n%s", r, m.logs())
	}
	canary := m.agents["a1"].status(t).Sidecar
	if canary.Version != first || canary.PID == before["a1"] {
		t.Fatalf("canary a1 after its stage passed: %+v", canary)
	}
	abortAt := time.Now()
	if r, err := m.operator().Abort(ctx, "back"); err != nil || r.State != releaseapi.RollingBack {
		t.Fatalf("abort: %+v %v", r, err)
	}
	r = m.waitRelease(t, "back", releaseapi.RolledBack)
	t.Logf("release back: canary passed %v after it was created; aborted, rolled back %v later", abortAt.Sub(relStart).Round(time.Millisecond), time.Since(abortAt).Round(time.Millisecond))
	for name, a := range m.agents {
		st := a.status(t)
		if st.Sidecar.Version != "e2e-next" || (st.Sidecar.PID == before[name]) != (name != "a1") {
			t.Errorf("%s after the aborted release: %+v (pid before %d)", name, st.Sidecar, before[name])
		}
	}
	if r.Stages[1].State != releaseapi.StagePending || r.Reason != "aborted by an operator" {
		t.Errorf("aborted release: %s %+v", r.Reason, r.Stages)
	}
	waitCalls(300)

	var total int64
	var failed []failedCall
	for _, l := range loads {
		l.end()
		total += l.next.Load()
		failed = append(failed, l.failures()...)
	}
	if len(failed) != 0 {
		t.Fatalf("%d of %d calls failed; first: %v", len(failed), total, failed[0].err)
	}
	if m.handler.Total() != total {
		t.Errorf("server handled %d calls; %d were made", m.handler.Total(), total)
	}
	t.Logf("%d calls through six sidecars across a staged release (6 hot upgrades), a failed one, and an aborted one (2 more): 0 failed; test took %v",
		total, time.Since(start).Round(time.Millisecond))
}
