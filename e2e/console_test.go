package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/release"
	"github.com/octomesh/octomesh/cp/console"
	"github.com/octomesh/octomesh/cp/inspect"
	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
)

// updateScreenshots rewrites docs/console/*.png from TestConsoleInABrowser
// (go test ./e2e -run TestConsoleInABrowser -update, or
// docs/console/refresh.sh).
var updateScreenshots = flag.Bool("update", false, "TestConsoleInABrowser: rewrite the console's screenshots in docs/console")

// chromium finds a Chromium (or Chrome) to drive. Without one the browser
// test is skipped, except under CI=true, where .ci/run installs Debian's
// chromium and a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no Chromium or Chrome in PATH (apt-get install chromium runs it)"
	if os.Getenv("CI") == "true" {
		t.Fatalf("the console's browser test not run in CI, which installs chromium: %s", why)
	}
	t.Skipf("the console's browser test not run: %s", why)
	return ""
}

// consoleMesh is a demo-sized mesh: a pilot with its embedded etcd, a
// scanner with a short period, two echo apps (processes of their own)
// each behind a sidecar, a client sidecar fed by the pilot with callers
// behind it, the rule API, and the console over all of them.
type consoleMesh struct {
	console   *console.Server
	rulesURL  string // the operator API
	tokenFile string // its operator token
	apps      map[string]*exec.Cmd
	addrOf    map[string]string
	calls     atomic.Int64
}

func startConsoleMesh(t *testing.T) *consoleMesh {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-console") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &consoleMesh{apps: map[string]*exec.Cmd{}, addrOf: map[string]string{}}
	// The control plane as it is deployed: the dispatcher (embedded etcd
	// and NATS, the operator API: rules, releases, node reports), a pilot
	// and a scanner on its etcd that learn changes from its notices.
	m.tokenFile = filepath.Join(dir, "operator.token")
	if err := os.WriteFile(m.tokenFile, []byte("console-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	disp := controlPlane(t, "dispatcher", "--data-dir", t.TempDir(), "--nats-address", "127.0.0.1:0", "--api-address", "127.0.0.1:0",
		"--token-file", m.tokenFile)
	m.rulesURL = strings.TrimPrefix(disp["api"], "tcp://")
	pilot := controlPlane(t, "pilot", "--xds-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--etcd-endpoints", disp["etcd"],
		"--nats-url", disp["nats"])
	pilotHTTP := strings.TrimPrefix(pilot["http"], "tcp://")
	controlPlane(t, "scanner", "--id", "scanner-1", "--zone", "zone-a", "--http-address", "127.0.0.1:0", "--etcd-endpoints", disp["etcd"],
		"--nats-url", disp["nats"], "--period", "500ms", "--timeout", "400ms", "--fall", "2", "--rise", "2")

	api, err := registry.NewClient(pilotHTTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	for _, name := range []string{"echo-1", "echo-2"} {
		cmd, sock := echoServer(t, dir, name)
		m.apps[name] = cmd
		b := startSidecar(t, "console-"+name+".yaml", fmt.Sprintf(`
node: {id: %s-sidecar, app: echo}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local}]}
clusters:
  - {name: local, endpoints: [{address: "unix://%s"}]}
`, name, sock))
		m.addrOf[name] = addr(b)
		reg, err := api.Keep(context.Background(), registry.Instance{Service: "echo", App: "echo", Address: addr(b), Weight: 1, Zone: "zone-a"},
			10*time.Second, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Close(context.Background()) })
	}
	clientSock := filepath.Join(dir, "a.sock")
	startSidecar(t, "console-a.yaml", fmt.Sprintf(`
node: {id: echo-client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s"}
xds: {pilot: "%s", services: [echo]}
`, clientSock, pilot["xds"]))
	client, err := echo.NewClient(clientSock)
	if err != nil {
		t.Fatal(err)
	}
	// Two callers, each paced at one call per 5ms, until the test ends.
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := int64(1); !stop.Load(); id++ {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, _ = client.Echo(ctx, &echogen.EchoRequest{Id: id, Payload: []byte("console")})
				cancel()
				m.calls.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() })

	m.console, err = console.Start("127.0.0.1:0", console.Options{
		Inspect:     inspect.Options{Pilots: []string{pilotHTTP}, Timeout: 2 * time.Second},
		RulesServer: m.rulesURL, ScrapeInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.console.Close)
	return m
}

// browser starts a headless Chromium for the test.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout (it would stop it)
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// pollJS evaluates expr (a JavaScript expression yielding a string) every
// 200ms until ok accepts its value, for at most limit.
func pollJS(t *testing.T, ctx context.Context, what, expr string, limit time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := chromedp.Run(cctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil {
			if ok(v) {
				return v
			}
			last = v
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %q", what, limit, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// openPage goes to the console's page (loading the console when it is not
// loaded yet, else through its hash route, as a click on the menu does)
// and waits until the page rendered from its API without a JavaScript
// error.
func openPage(t *testing.T, ctx context.Context, base, page string) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	loc, err := chromedp.Run(cctx, chromedp.Location())
	if err == nil && strings.HasPrefix(loc, base) {
		_, err = chromedp.Run(cctx, chromedp.Evaluate[string](`location.hash = "#/`+page+`"`))
	} else if err == nil {
		err = chromedp.Do(cctx, chromedp.Navigate(base+"#/"+page))
	}
	if err != nil {
		t.Fatalf("page %s: %v", page, err)
	}
	pollJS(t, ctx, "page "+page+" rendered", `(()=>{const v=document.getElementById("view");return v.dataset.page===`+jsString(page)+
		` && (v.dataset.loaded||document.querySelector(".source-error")) ? "yes" : "no"})()`, 20*time.Second, func(s string) bool { return s == "yes" })
	checkNoJSErrors(t, ctx, page)
}

func checkNoJSErrors(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	errs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.consoleErrors`))
	if err != nil {
		t.Fatalf("page %s: %v", page, err)
	}
	if len(errs) > 0 {
		t.Fatalf("page %s: JavaScript errors: %v", page, errs)
	}
	srcErr, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".source-error")||{}).textContent||""`))
	if err != nil {
		t.Fatal(err)
	}
	if srcErr != "" {
		t.Fatalf("page %s: its source did not answer: %s", page, srcErr)
	}
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// TestConsoleInABrowser loads every page of the console in headless
// Chromium against a running mesh: no JavaScript error anywhere, the graph
// shows the client's calls to echo at a rate above zero, an echo app
// killed with SIGKILL turns its instance down on the services page within
// the scanner's period (and its confirmation), and a rule applied with
// ctl appears on the rules page. With -update it rewrites the screenshots
// in docs/console.
func TestConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	start := time.Now()
	m := startConsoleMesh(t)
	base := m.console.URL()
	ctx := browser(t, exe)
	t.Logf("mesh, console and browser up in %v", time.Since(start).Round(time.Millisecond))

	for _, page := range []string{"graph", "services", "sidecars", "rules", "controlplane"} {
		openPage(t, ctx, base, page)
	}
	// The sidecars page lists the client's sidecar, synced, with what its
	// node agent reports (a report sent here as its agent would: two
	// restarts).
	rc := release.NewClient(m.rulesURL, "")
	defer rc.Close()
	if err := rc.Report(context.Background(), release.Report{Node: "echo-client-1", App: "echo-client", State: release.NodeReady,
		Version: release.Version{Version: "v1.2.3", SHA256: strings.Repeat("ab", 32)}, Ready: true, Restarts: 2, AgentState: "running", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	openPage(t, ctx, base, "sidecars")
	pollJS(t, ctx, "the client's sidecar listed and synced", `(document.querySelector('tr.sidecar[data-node="echo-client-1"]')||{dataset:{}}).dataset.stale||""`,
		30*time.Second, func(s string) bool { return s == "false" })
	pollJS(t, ctx, "the client's agent's restarts on the sidecars page", `(document.querySelector('tr.sidecar[data-node="echo-client-1"] td.agent')||{dataset:{}}).dataset.restarts||""`,
		30*time.Second, func(s string) bool { return s == "2" })
	// The control plane page lists the pilot's session and the scanner.
	openPage(t, ctx, base, "controlplane")
	pollJS(t, ctx, "the scanner on the control plane page", `String(document.querySelectorAll('tr.scanner[data-scanner="scanner-1"]').length)`,
		30*time.Second, func(s string) bool { return s == "1" })

	// The graph: the client's calls to echo, at a rate above zero.
	openPage(t, ctx, base, "graph")
	rps := pollJS(t, ctx, "the echo-client -> echo edge with a rate", `(document.querySelector('g.edge[data-from="app:echo-client"][data-to="service:echo"]')||{dataset:{}}).dataset.rps||""`,
		30*time.Second, func(s string) bool { return s != "" && s != "0" })
	t.Logf("graph: echo-client -> echo at %s req/s (%d calls made)", rps, m.calls.Load())
	if *updateScreenshots {
		screenshot(t, ctx, "graph")
	}

	// A rule applied with ctl appears on the rules page.
	openPage(t, ctx, base, "rules")
	rulesDir := t.TempDir()
	ruleFile := filepath.Join(rulesDir, "echo.yaml")
	if err := os.WriteFile(ruleFile, []byte("kind: Timeout\nmetadata: {name: echo-client-timeout}\ntarget: {app: echo-client, service: echo}\nspec: {timeout: 3s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// octomesh ctl, the binary (cmd/internal/ctl is internal to cmd).
	if out, err := exec.Command(bin, "ctl", "--server", m.rulesURL, "--token-file", m.tokenFile, "apply", "-f", ruleFile).CombinedOutput(); err != nil {
		t.Fatalf("octomesh ctl apply: %v\n%s", err, out)
	}
	revOf := `(document.querySelector('tr.rule[data-ref="Timeout/echo-client-timeout"]')||{dataset:{}}).dataset.revision||""`
	first := pollJS(t, ctx, "the applied rule on the rules page", revOf, 20*time.Second, func(s string) bool { return s != "" && s != "0" })
	// A second version: the page shows its revision, and its history the
	// first one.
	if err := os.WriteFile(ruleFile, []byte("kind: Timeout\nmetadata: {name: echo-client-timeout}\ntarget: {app: echo-client, service: echo}\nspec: {timeout: 2s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "ctl", "--server", m.rulesURL, "--token-file", m.tokenFile, "apply", "-f", ruleFile).CombinedOutput(); err != nil {
		t.Fatalf("octomesh ctl apply: %v\n%s", err, out)
	}
	pollJS(t, ctx, "the rule's new revision on the rules page", revOf, 20*time.Second, func(s string) bool { return s != "" && s != first })
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('details[data-ref="Timeout/echo-client-timeout"] summary').click(), true`)); err != nil {
		t.Fatal(err)
	}
	pollJS(t, ctx, "the rule's history on the rules page", `(document.querySelector('details[data-ref="Timeout/echo-client-timeout"]')||{}).textContent||""`,
		20*time.Second, func(s string) bool { return strings.Contains(s, "revision "+first) && strings.Contains(s, "3s") })
	checkNoJSErrors(t, ctx, "rules")
	if *updateScreenshots {
		screenshot(t, ctx, "rules")
	}

	// echo-2's app killed: its sidecar answers the scanner's checks with a
	// failure, the scanner marks the instance down, and the services page
	// shows it within the scanner's period and confirmation (500ms, 2
	// checks) plus the page's refresh; 30s is generous on a busy machine.
	openPage(t, ctx, base, "services")
	sel := `tr.instance[data-address="` + m.addrOf["echo-2"] + `"]`
	pollJS(t, ctx, "echo-2 healthy before", `(document.querySelector('`+sel+`')||{dataset:{}}).dataset.health||""`,
		30*time.Second, func(s string) bool { return s == "healthy" })
	if err := m.apps["echo-2"].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			for _, path := range []string{"/api/services", "/api/controlplane"} {
				if resp, err := http.Get(base + strings.TrimPrefix(path, "/")); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Logf("%s:\n%s", path, b)
				}
			}
		}
	})
	pollJS(t, ctx, "echo-2 down on the services page", `(document.querySelector('`+sel+`')||{dataset:{}}).dataset.health||""`,
		30*time.Second, func(s string) bool { return s == "down" })
	t.Logf("services page: echo-2 down %v after its app was killed", time.Since(killed).Round(time.Millisecond))
	echo1, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('tr.instance[data-address="`+m.addrOf["echo-1"]+`"]')||{dataset:{}}).dataset.health||""`))
	if err != nil {
		t.Fatal(err)
	}
	if echo1 != "healthy" {
		t.Errorf("echo-1 is %q on the services page, want healthy", echo1)
	}
	checkNoJSErrors(t, ctx, "services")
	if *updateScreenshots {
		screenshot(t, ctx, "services")
		for _, page := range []string{"sidecars", "controlplane"} {
			openPage(t, ctx, base, page)
			screenshot(t, ctx, page)
		}
	}
	t.Logf("whole test: %v", time.Since(start).Round(time.Millisecond))
}

// screenshot writes the page as docs/console/PAGE.png.
func screenshot(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(cctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", page, err)
	}
	file := filepath.Join("..", "docs", "console", page+".png")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", file, len(png))
}
