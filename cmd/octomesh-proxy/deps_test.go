package main

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are what a sidecar-only machine must not carry: the control
// plane's servers and store, the message bus, the benchmark and its plots,
// the demo, and browsers; and sonic, whose JIT and native tables cost an
// idle sidecar 6.8 MiB of RSS (docs/performance.md, "Sidecar memory").
var forbidden = []string{
	"github.com/octomesh/octomesh/cp/",
	"github.com/octomesh/octomesh/agent",
	"github.com/octomesh/octomesh/bench",
	"github.com/octomesh/octomesh/perf",
	"github.com/octomesh/octomesh/demo",
	"github.com/octomesh/octomesh/examples/",
	"go.etcd.io/",
	"github.com/nats-io/",
	"gonum.org/",
	"github.com/chromedp/",
	"github.com/go-rod/",
	"k8s.io/",
	"github.com/bytedance/sonic",
	"github.com/cloudwego/netpoll", // the transport has its own poller
}

// In the manner of tailscale's deptest: the packages this binary links,
// from the go command, against what it must never link.
func TestLinksNoControlPlane(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with (go test ./cmd/octomesh-proxy runs this)")
	}
	if mod, err := exec.Command(goCmd, "env", "GOMOD").Output(); err != nil || !strings.HasSuffix(strings.TrimSpace(string(mod)), "go.mod") {
		t.Skip("not inside the module (Bazel's runfiles): go test ./cmd/octomesh-proxy runs this")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "github.com/octomesh/octomesh/cmd/octomesh-proxy").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	linked := map[string]bool{}
	for _, d := range deps {
		linked[d] = true
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) || d == strings.TrimSuffix(f, "/") {
				t.Errorf("octomesh-proxy links %s (forbidden: %s)", d, f)
			}
		}
	}
	// The list is the real one: the sidecar is in it.
	for _, want := range []string{"github.com/octomesh/octomesh/proxy/server", "github.com/octomesh/octomesh/proxy/transport"} {
		if !linked[want] {
			t.Errorf("octomesh-proxy does not link %s: the dependency list is wrong (%d packages)", want, len(deps))
		}
	}
}
