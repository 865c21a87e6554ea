package archtest

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/octomesh/octomesh/"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	if os.Getenv("TEST_SRCDIR") != "" {
		// A Bazel test has no go command and no module to list.
		t.Skip("runs `go list`: not under Bazel; go test ./internal/archtest runs it")
	}
	out, err := exec.Command("go", "list", "-deps=false", "-json", mod+"...").Output()
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
	}
	return pkgs
}

func ours(imports []string) []string {
	var out []string
	for _, i := range imports {
		if strings.HasPrefix(i, mod) {
			out = append(out, strings.TrimPrefix(i, mod))
		}
	}
	return out
}

func TestPackageArrows(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 8 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	// What each package may import of ours, directly. A package not listed
	// here is above the rules (cmd, server, tests, examples).
	allowed := map[string][]string{
		"codec":           {},
		"lb":              {},
		"config":          {},
		"stats":           {},
		"perf":            {},
		"proxy/transport": {"codec", "stats"},
		"proxy/upstream":  {"codec", "config", "lb", "proxy/transport", "stats"},
		"proxy/router":    {"codec"},
		// The request path: the filter contract, the built-in filters (a
		// package each), and the downstream handler that runs them.
		"proxy/filter":           {"codec", "config", "proxy/upstream", "stats"},
		"proxy/filter/ratelimit": {"codec", "config", "proxy/filter", "proxy/upstream"},
		"proxy/filter/fault":     {"codec", "config", "proxy/filter"},
		"proxy/downstream":       {"codec", "config", "proxy/filter", "proxy/router", "proxy/transport", "proxy/upstream", "stats"},
		"proxy/admin":            {},
		"proxy/xds":              {"api/meta", "config"},
		"sdk":                    {"api/registry", "codec"},
		// The control plane: the registry model the sdk links is a leaf
		// over config; only the pilot wires the rest together.
		"api/registry":             {"config"},
		"cp/registration":          {"api/registry", "config"},
		"cp/store":                 {"api/registry"},
		"cp/pilot":                 {"api/meta", "api/registry", "config", "cp/registration", "cp/shardmap", "cp/store", "stats"},
		"cp/shardmap":              {"api/meta", "config"},
		"cp/shardmap/shardmaptest": {"api/meta"},
		"api/meta":                 {"config"},
		"api/sidecar":              {},
		"internal/proc":            {"api/sidecar"},
		// Meta and the pilots follow the same shard map (cp/shardmap);
		// neither imports the other. Both reach etcd through cp/store. The mock sidecar is a client: it asks Meta and speaks
		// xDS, and changes the registry through its API.
		"cp/meta":        {"api/meta", "config", "cp/registration", "cp/shardmap", "cp/store"},
		"cp/mocksidecar": {"api/meta", "api/registry", "config"},
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
	hotPath := []string{"codec", "lb", "stats", "proxy/router", "proxy/transport", "proxy/upstream",
		"proxy/filter", "proxy/filter/ratelimit", "proxy/filter/fault", "proxy/downstream"}
	for name, p := range pkgs {
		for _, imp := range p.Imports {
			if imp == "github.com/cloudwego/netpoll" && name != "proxy/transport" {
				t.Errorf("%s imports netpoll; only proxy/transport may", name)
			}
			if strings.HasPrefix(imp, mod+"cmd/") {
				t.Errorf("%s imports %s", name, imp)
			}
			if isEtcdClient(imp) && name != "cp/store" {
				t.Errorf("%s imports the etcd client %s; only cp/store may", name, imp)
			}
			if strings.HasPrefix(name, "cp/") && strings.HasPrefix(imp, mod+"proxy/") {
				t.Errorf("control-plane package %s imports %s", name, imp)
			}
		}
		if name == "sdk" || name == "api/registry" {
			// Linked into apps: no etcd, gRPC or Envoy API behind them.
			deps, err := exec.Command("go", "list", "-deps", mod+name).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range strings.Fields(string(deps)) {
				if strings.HasPrefix(d, "go.etcd.io/") || strings.HasPrefix(d, "google.golang.org/grpc") || strings.HasPrefix(d, "github.com/envoyproxy/") {
					t.Errorf("%s depends on %s; apps must not carry it", name, d)
				}
			}
		}
		if !contains(hotPath, name) {
			continue
		}
		deps, err := exec.Command("go", "list", "-deps", mod+name).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if strings.HasPrefix(d, mod+"cp/") || strings.HasPrefix(d, mod+"agent") {
				t.Errorf("hot-path package %s depends on %s", name, d)
			}
			for _, above := range []string{"proxy/server", "proxy/xds", "proxy/admin", "proxy/hotrestart"} {
				if d == mod+above {
					t.Errorf("hot-path package %s depends on %s, which is above the request path", name, above)
				}
			}
		}
	}
}

// isEtcdClient reports whether an import path is etcd's client (v3 and its
// subpackages, or the older v2 client).
func isEtcdClient(path string) bool {
	return path == "go.etcd.io/etcd/client/v3" || strings.HasPrefix(path, "go.etcd.io/etcd/client/v3/") || path == "go.etcd.io/etcd/client/v2"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
