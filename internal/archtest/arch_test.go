package archtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const mod = "github.com/octomesh/octomesh/"

type pkg struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	Imports      []string
	Deps         []string
	TestGoFiles  []string
	XTestGoFiles []string
	TestImports  []string
	XTestImports []string
}

// listPackages lists the module's packages by their path in the module
// ("cp/pilot"), with their imports and dependencies.
func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	if os.Getenv("TEST_SRCDIR") != "" {
		// A Bazel test has no go command and no module to list.
		t.Skip("runs `go list`: not under Bazel; go test ./internal/archtest runs it")
	}
	out, err := exec.Command("go", "list", "-json", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, mod)] = p
		// Stat what go list read (the folder, for files added), so that go
		// test's cache knows these tests depend on it: a cached pass must
		// not outlive an import.
		for _, f := range append(append(append([]string{"."}, p.GoFiles...), p.TestGoFiles...), p.XTestGoFiles...) {
			if _, err := os.Stat(filepath.Join(p.Dir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// ours returns the paths in the module among imports, without the module.
func ours(imports []string) []string {
	var out []string
	for _, i := range imports {
		if strings.HasPrefix(i, mod) {
			out = append(out, strings.TrimPrefix(i, mod))
		}
	}
	return out
}

// matches reports whether package path (in the module) is pattern: a path,
// "dir/..." (dir and everything below it), or "..." (every package).
func matches(pattern, path string) bool {
	if pattern == "..." {
		return true
	}
	if dir, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == dir || strings.HasPrefix(path, dir+"/")
	}
	return path == pattern
}

// TestPackageArrows holds what each package may import of ours, directly.
// A package not listed here is above the rules: the binary (cmd/...), the
// sidecar's fan-in (proxy/server), the demo and benchmarks, examples and
// tests.
func TestPackageArrows(t *testing.T) {
	pkgs := listPackages(t)
	allowed := map[string][]string{
		// Leaves.
		"codec":  {},
		"lb":     {},
		"config": {},
		"stats":  {},
		"perf":   {},
		// A server's /stats page as Prometheus text, for the control
		// plane and the agent.
		"stats/exposition": {"stats"},
		// The wire contracts that sidecars, apps and servers speak: leaves
		// over config, with one client each.
		"api/meta":     {"config"},
		"api/registry": {"config"},
		"api/sidecar":  {},
		"api/scanner":  {},
		"api/ca":       {},
		"api/rules":    {"api/registry", "config"},
		"api/release":  {},
		"api/pilot":    {"api/registry"},
		// The request path: transport, router and upstream, the filter
		// contract, the built-in filters (a package each), and the
		// downstream handler that runs them.
		"proxy/transport":        {"codec", "internal/rawpoll", "internal/uring", "stats"},
		"proxy/upstream":         {"codec", "config", "lb", "proxy/transport", "stats"},
		"proxy/router":           {"codec"},
		"proxy/filter":           {"codec", "config", "proxy/upstream", "stats"},
		"proxy/filter/ratelimit": {"codec", "config", "proxy/filter", "proxy/upstream"},
		"proxy/filter/fault":     {"codec", "config", "proxy/filter"},
		"proxy/filter/authz":     {"codec", "config", "proxy/filter"},
		"proxy/downstream":       {"codec", "config", "proxy/filter", "proxy/router", "proxy/transport", "proxy/upstream", "stats"},
		// The sidecar's other parts; proxy/server wires them.
		"proxy/admin": {},
		// The workload identity: reaches the CA through its wire contract.
		"proxy/identity": {"api/ca"},
		"proxy/xds":      {"api/meta", "api/scanner", "config"},
		// Apps link the sdk: it speaks the wire contracts only.
		"sdk": {"api/ca", "api/registry", "codec"},
		// The control plane. cp/store is its one door to etcd;
		// cp/registration serves the registration API over it; cp/shardmap
		// is the shard map that Meta and every pilot follow (neither imports
		// the other); the pilot wires its part together. The mock sidecar
		// is a client: it asks Meta and speaks xDS, and changes the registry
		// through its API.
		"cp/store":                 {"api/registry"},
		"cp/registration":          {"api/ca", "api/registry", "config"},
		"cp/shardmap":              {"api/meta", "api/scanner", "config"},
		"cp/shardmap/shardmaptest": {"api/meta"},
		"cp/pilot":                 {"api/ca", "api/meta", "api/pilot", "api/registry", "api/rules", "api/scanner", "config", "cp/dispatcher/publish", "cp/registration", "cp/shardmap", "cp/store", "internal/grpclite", "stats", "stats/exposition"},
		"cp/scanner":               {"api/ca", "api/registry", "api/rules", "api/scanner", "codec", "config", "cp/dispatcher/publish", "cp/shardmap", "cp/store", "stats", "stats/exposition"},
		// The dispatcher routes notices (api/rules) by the shard map; its
		// API listener is the operator API: the rule store and the release
		// service. Publishers (rule store, scanner, pilot) link publish only.
		"cp/dispatcher":         {"api/registry", "api/release", "api/rules", "config", "cp/dispatcher/publish", "cp/release", "cp/rules", "cp/shardmap", "cp/store", "stats", "stats/exposition"},
		"cp/dispatcher/publish": {"api/rules"},
		// The scale run's rule writer is a client of the rule API.
		"cp/dispatcher/scale/driver": {"api/rules"},
		"cp/meta":                    {"api/meta", "config", "cp/registration", "cp/shardmap", "cp/store", "stats/exposition"},
		"cp/mocksidecar":             {"api/meta", "api/registry", "config", "internal/rawpoll", "internal/uring"},
		// The operator's views read the pilots, Meta and the sidecars'
		// admin endpoints over HTTP; its test helper starts a pilot.
		"cp/inspect":             {"api/ca", "api/meta", "api/pilot", "api/registry", "api/scanner", "config"},
		"cp/inspect/inspecttest": {"api/registry", "api/scanner", "config", "cp/pilot"},
		// The web console: the views (cp/inspect) and the operator API's
		// clients (rules, releases).
		"cp/console": {"api/release", "api/rules", "config", "cp/inspect"},
		// The rule store: documents in etcd (through cp/store), compiled
		// into the keys the pilot reads; the dispatcher mounts its API.
		"cp/rules": {"api/registry", "api/rules", "cp/store", "stats"},
		// The CA stands alone (its root key may live on a host of its own).
		"cp/ca": {"api/ca", "config"},
		// Its test helper: a CA whose bundle and certificates are files.
		"cp/ca/catest": {"api/ca", "cp/ca"},
		// The node agent runs the sidecar as a process: it speaks the
		// sidecar's ready contract and admin endpoint only.
		"agent": {"api/release", "api/sidecar", "stats/exposition"},
		// The release service: artifacts, staged releases, node reports.
		"cp/release": {"api/release"},
		// Tools.
		"internal/proc": {"api/sidecar"},
		// The chaos run's network faults on loopback: a leaf.
		"internal/faultrelay": {},
		// io_uring for batches of socket sends and receives: a leaf.
		"internal/uring": {},
		// The event loops' epoll instance and raw socket calls: a leaf.
		"internal/rawpoll": {},
		// The xDS port's lean HTTP/2 + gRPC transport: over internal/uring
		// and internal/rawpoll alone.
		"internal/grpclite": {"internal/rawpoll", "internal/uring"},
		"bench":             {"codec", "internal/proc"},
	}
	for name, ok := range allowed {
		p, found := pkgs[name]
		if !found {
			t.Errorf("package %s is gone: update this test and docs/architecture.md", name)
			continue
		}
		for _, imp := range ours(p.Imports) {
			if !contains(ok, imp) {
				t.Errorf("%s imports %s; it may import only %v of ours", name, imp, ok)
			}
		}
	}
}

// never lists what a package must never depend on, directly or not, and
// why (tailscale's deptest BadDeps is the model). From and to are patterns
// (see matches); the package's doc.go says the same in words.
var never = []struct{ from, to, why string }{
	{"...", "cmd/octomesh", "a binary holds flags only: nothing imports it"},
	{"...", "cmd/octomesh-proxy", "a binary holds flags only: nothing imports it"},
	{"cmd/internal/proxycmd", "cp/...", "the sidecar-only binary links it: no control plane"},
	{"cmd/octomesh-proxy", "cp/...", "the sidecar alone: no control plane"},
	{"cmd/octomesh-proxy", "agent", "the sidecar alone: the agent runs it, not the reverse"},
	{"cmd/octomesh-proxy", "bench", "the sidecar alone: no benchmark"},
	{"cmd/octomesh-proxy", "demo", "the sidecar alone: no demo"},
	{"...", "cp/shardmap/shardmaptest", "test code: only tests import it"},
	{"cp/scanner", "cp/scanner/scannertest", "fakes for tests and load runs: no server links them"},
	{"...", "cp/inspect/inspecttest", "test code: only tests import it"},
	{"...", "cp/ca/catest", "test code: only tests import it"},
	{"cp/inspect", "cp/pilot", "the views read pilots over HTTP: the console links them without a pilot"},
	{"cp/inspect", "proxy/...", "the views read sidecars' admin endpoints over HTTP"},
	{"cmd/internal/ctlview", "cp/pilot", "the views read pilots over HTTP"},
	{"cp/console", "cp/pilot", "the console reads the mesh over HTTP: it runs beside a control plane, not inside one"},
	{"cp/console", "cp/store", "the console reads the rules through the rule API and the scanners through the pilots"},
	{"cp/console", "cp/scanner", "the console reads scanners over HTTP"},
	{"cp/console", "cp/rules", "the console reads the rules through the rule API"},
	{"cmd/internal/ctlview", "cp/store", "the views read the registry through its API"},
	{"cmd/...", "cp/scanner/scannertest", "fakes for tests and load runs: no server links them"},
	{"proxy/...", "cp/...", "the sidecar links no control-plane code: it speaks to the control plane through api/... only"},
	{"sdk", "cp/...", "apps link the sdk: they reach the control plane through api/... only"},
	{"sdk", "proxy/...", "apps talk to their sidecar over the wire, not through its code"},
	{"api/...", "cp/...", "wire contracts are leaves: servers import them, not the reverse"},
	{"api/...", "proxy/...", "wire contracts are leaves: the sidecar imports them, not the reverse"},
	{"api/...", "sdk", "wire contracts are leaves: the sdk imports them, not the reverse"},
	{"cp/...", "proxy/...", "the control plane does not link the sidecar"},
	{"cp/...", "sdk", "the control plane is no app"},
	{"cp/pilot", "cp/meta", "Meta is the pilots' peer, not their library: both follow cp/shardmap"},
	{"cp/meta", "cp/pilot", "Meta is the pilots' peer, not their library: both follow cp/shardmap"},
	{"cp/scanner", "cp/pilot", "scanners and pilots are peers: they meet in the registry and over api/scanner"},
	{"cp/scanner", "cp/meta", "scanners and Meta are peers: both follow cp/shardmap"},
	{"cp/pilot", "cp/scanner", "scanners and pilots are peers: a pilot asks a scanner through api/scanner"},
	{"cp/meta", "cp/scanner", "scanners and Meta are peers: both follow cp/shardmap"},
	{"cp/pilot", "cp/dispatcher", "the dispatcher and the pilots are peers: they meet on NATS, through api/rules"},
	{"cp/dispatcher", "cp/pilot", "the dispatcher and the pilots are peers: they meet on NATS, through api/rules"},
	{"cp/dispatcher", "cp/meta", "the dispatcher follows cp/shardmap, as Meta does"},
	{"cp/dispatcher", "cp/scanner", "the scanner publishes through cp/dispatcher/publish, not the reverse"},
	{"cp/scanner", "cp/dispatcher", "the scanner publishes through cp/dispatcher/publish: it must not link the dispatcher's servers"},
	{"cp/shardmap", "cp/store", "the shard map reads etcd through its Store interface"},
	{"cp/rules", "cp/pilot", "the rule store writes the keys the pilots read: they meet in etcd"},
	{"cmd/internal/ctl", "cp/...", "ctl is a client: it speaks the rule API (api/rules) only"},
	{"cp/registration", "cp/store", "the registration API writes through its Store interface"},
	{"cp/ca", "cp/store", "the CA keeps its root in its own data directory, apart from the registry"},
	{"cp/ca", "cp/pilot", "the CA stands alone, so that its root key can live on a host of its own"},
	{"agent", "proxy/...", "the agent runs the sidecar as a process: its code runs in the child"},
	{"agent", "cp/...", "the agent links no control-plane server: it will follow releases through api/... only"},
	{"agent", "internal/proc", "test tooling: it ties a child's life to its parent, and the agent's sidecar must outlive the agent"},
	{"agent", "sdk", "the agent is no app"},
	{"cp/release", "agent", "the control plane gives agents targets over api/release; it links no agent"},
	{"cmd/internal/ctlrelease", "cp/...", "ctl release speaks the release API over HTTP (api/release): it links no server"},
	{"internal/proc", "proxy/...", "it starts sidecars as processes: their code runs in the child"},
	{"internal/proc", "cp/...", "it starts processes: their code runs in the child"},
}

// hotPath is the request path: it never reaches the control plane, nor the
// sidecar's packages above it.
var hotPath = []string{"codec", "lb", "stats", "proxy/router", "proxy/transport", "proxy/upstream",
	"proxy/filter", "proxy/filter/ratelimit", "proxy/filter/fault", "proxy/filter/authz", "proxy/downstream"}

func TestNeverImports(t *testing.T) {
	pkgs := listPackages(t)
	rules := never
	for _, hot := range hotPath {
		for _, above := range []string{"cp/...", "agent/...", "api/...", "proxy/server", "proxy/xds", "proxy/admin", "proxy/hotrestart"} {
			rules = append(rules, struct{ from, to, why string }{hot, above, "hot-path packages never reach the control plane or the sidecar's parts above the request path"})
		}
	}
	for _, r := range rules {
		found := false
		for name, p := range pkgs {
			if !matches(r.from, name) {
				continue
			}
			found = true
			for _, d := range ours(p.Deps) {
				if matches(r.to, d) {
					t.Errorf("%s depends on %s: %s", name, d, r.why)
				}
			}
		}
		if !found {
			t.Errorf("no package is %s: update the rule %s -> %s", r.from, r.from, r.to)
		}
	}
}

// TestThirdParty holds who may import what from outside: nothing imports
// netpoll (the sidecar reads its sockets with proxy/transport's own
// poller; Kitex apps link netpoll through Kitex), etcd stays in cp/store, and what apps and sidecars link
// carries no etcd (and for apps, no gRPC or Envoy API).
func TestThirdParty(t *testing.T) {
	pkgs := listPackages(t)
	for name, p := range pkgs {
		for _, imp := range p.Imports {
			if imp == "github.com/cloudwego/netpoll" {
				t.Errorf("%s imports netpoll; the sidecar's sockets are proxy/transport's poller's", name)
			}
			if isEtcd(imp) && name != "cp/store" {
				t.Errorf("%s imports etcd (%s); only cp/store may", name, imp)
			}
		}
		linkedByApps := name == "sdk" || matches("api/...", name) && name != "api/meta"
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "go.etcd.io/") && (linkedByApps || matches("proxy/...", name)) {
				t.Errorf("%s depends on %s; apps and sidecars must not carry etcd", name, d)
			}
			if linkedByApps && (strings.HasPrefix(d, "google.golang.org/grpc") || strings.HasPrefix(d, "github.com/envoyproxy/")) {
				t.Errorf("%s depends on %s; apps must not carry it", name, d)
			}
			if strings.HasPrefix(d, "k8s.io/api/") || strings.HasPrefix(d, "k8s.io/apimachinery/") {
				t.Errorf("%s depends on %s; only the manifests' tests (deploy/kubernetes) may use Kubernetes' API types", name, d)
			}
		}
	}
}

// isEtcd reports whether an import path is etcd's client (v3 and its
// subpackages, or the older v2 client) or server.
func isEtcd(path string) bool {
	for _, p := range []string{"go.etcd.io/etcd/client/v3", "go.etcd.io/etcd/client/v2", "go.etcd.io/etcd/server/v3"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// TestDocsSayWhatNeverToImport holds CONVENTIONS.md's "every package has a
// doc.go saying what it is for and what it must never import": every
// package but generated ones has a doc.go whose package comment says what
// the package "must never import", naming packages of ours, and the
// package depends on none of them. After "must never import", up to the
// end of the clause (a period, colon or semicolon), every package path
// outside parentheses is forbidden: "dir/..." is dir and everything below it, and "another
// OctoMesh package" is every package of ours. A package made of tests alone
// (e2e) is held to its tests' imports.
func TestDocsSayWhatNeverToImport(t *testing.T) {
	pkgs := listPackages(t)
	known := map[string]bool{}
	for name := range pkgs {
		known[name] = true
	}
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := pkgs[name]
		if generated(t, p) {
			continue
		}
		doc, err := packageComment(filepath.Join(p.Dir, "doc.go"))
		if err != nil {
			t.Errorf("%s: %v: every package has a doc.go saying what it is for and what it must never import", name, err)
			continue
		}
		forbidden, err := neverImport(doc, known)
		if err != nil {
			t.Errorf("%s/doc.go: %v", name, err)
			continue
		}
		deps := ours(p.Deps)
		if len(p.GoFiles) == 1 && p.GoFiles[0] == "doc.go" {
			deps = ours(append(append([]string(nil), p.TestImports...), p.XTestImports...))
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if matches(f, d) && d != name {
					t.Errorf("%s depends on %s, which its doc.go says it must never import (%s)", name, d, f)
				}
			}
		}
	}
}

// generated reports whether a package's code is generated (a file of it
// says "Code generated ... DO NOT EDIT."): its doc.go would be overwritten.
func generated(t *testing.T, p pkg) bool {
	for _, f := range p.GoFiles {
		b, err := os.ReadFile(filepath.Join(p.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(b), "// Code generated ") {
			return true
		}
	}
	return false
}

// packageComment returns the comment right above the package clause of a
// file, as one line of text.
func packageComment(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "package "):
			if len(lines) == 0 {
				return "", os.ErrNotExist
			}
			return strings.Join(lines, " "), nil
		case strings.HasPrefix(line, "//"):
			lines = append(lines, strings.TrimSpace(strings.TrimPrefix(line, "//")))
		default:
			lines = nil
		}
	}
	return "", os.ErrNotExist
}

var (
	parenthetical = regexp.MustCompile(`\([^()]*\)`)
	clauseEnd     = regexp.MustCompile(`[.:;](\s|$)`)
	pathToken     = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9_/.-]*`)
)

// neverImport reads the packages of ours that a package comment says the
// package must never import (see TestDocsSayWhatNeverToImport).
func neverImport(doc string, known map[string]bool) ([]string, error) {
	for prev := ""; prev != doc; {
		prev, doc = doc, parenthetical.ReplaceAllString(doc, "")
	}
	parts := strings.Split(doc, "must never import")
	if len(parts) == 1 {
		return nil, errNoNever
	}
	var out []string
	for _, rest := range parts[1:] {
		// The clause ends at a period, colon or semicolon; "/..." is part
		// of a pattern, not an end.
		clause := strings.ReplaceAll(rest, "/...", "/\x00")
		if end := clauseEnd.FindStringIndex(clause); end != nil {
			clause = clause[:end[0]]
		}
		if strings.Contains(clause, "another OctoMesh package") {
			out = append(out, "...")
			continue
		}
		for _, tok := range pathToken.FindAllString(strings.ReplaceAll(clause, "/\x00", "/ALL"), -1) {
			tok = strings.TrimRight(tok, ".,")
			if dir, ok := strings.CutSuffix(tok, "/ALL"); ok {
				for k := range known {
					if matches(dir+"/...", k) {
						out = append(out, dir+"/...")
						break
					}
				}
			} else if known[tok] {
				out = append(out, tok)
			}
		}
	}
	if len(out) == 0 {
		return nil, errNoPackage
	}
	return out, nil
}

var (
	errNoNever   = errors.New(`no sentence says what the package "must never import"`)
	errNoPackage = errors.New(`the "must never import" sentence names no package of ours ("dir/...", a path, or "another OctoMesh package")`)
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
