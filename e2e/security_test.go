package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/octomesh/octomesh/examples/echo"
	"github.com/octomesh/octomesh/internal/proc"
)

// grant is one node's line in the CA's tokens file.
type grant struct {
	Node, Token string
	Apps        []string
}

// startCA runs `octomesh ca` with a root generated in dir and the grants'
// tokens, and returns its address and the bundle file (the generated root)
// sidecars start from.
func startCA(t *testing.T, dir string, grants []grant) (addr, bundle string) {
	t.Helper()
	var tokens strings.Builder
	tokens.WriteString("tokens:\n")
	for _, g := range grants {
		fmt.Fprintf(&tokens, "  - {node: %s, token: %s, apps: [%s]}\n", g.Node, g.Token, strings.Join(g.Apps, ", "))
	}
	tokensFile := filepath.Join(dir, "tokens.yaml")
	if err := os.WriteFile(tokensFile, []byte(tokens.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "ca")
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	logs := &proc.SyncBuffer{}
	cmd := exec.Command(bin, "ca", "--listen", "127.0.0.1:0", "--trust-domain", "mesh.local", "--data-dir", data,
		"--tokens", tokensFile, "--ready-fd", "3")
	cmd.ExtraFiles = []*os.File{wr}
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("octomesh ca exited with %v:\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("octomesh ca did not stop on SIGTERM:\n%s", logs.String())
		}
	})
	ready := make(chan map[string]string, 1)
	go func() {
		var m map[string]string
		_ = json.NewDecoder(rd).Decode(&m)
		ready <- m
	}()
	select {
	case m := <-ready:
		if m["address"] == "" {
			t.Fatalf("octomesh ca did not start:\n%s", logs.String())
		}
		return m["address"], filepath.Join(data, "root.pem")
	case <-time.After(30 * time.Second):
		t.Fatalf("octomesh ca not ready after 30s:\n%s", logs.String())
	}
	return "", ""
}

// TestKitexThroughTwoSidecarsStrictMTLS is the T2 path with strict mutual
// TLS between the sidecars: each sidecar process gets its certificate from
// the CA (an `octomesh ca` process) with its node's bootstrap token, and B
// allows only the echo-client app. 10,000 calls from a real Kitex client,
// no error, no failed handshake.
func TestKitexThroughTwoSidecarsStrictMTLS(t *testing.T) {
	dir, err := os.MkdirTemp("", "om-mtls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	grants := []grant{
		{Node: "node-a", Token: "node-a-bootstrap-token-0123456789", Apps: []string{"echo-client"}},
		{Node: "node-b", Token: "node-b-bootstrap-token-0123456789", Apps: []string{"echo"}},
	}
	caAddr, bundle := startCA(t, dir, grants)
	identity := func(g grant) string {
		tok := filepath.Join(dir, g.Node+".token")
		if err := os.WriteFile(tok, []byte(g.Token), 0o600); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("identity: {ca: %q, token_file: %q, trust_domain: mesh.local, bundle_file: %q}\n", caAddr, tok, bundle)
	}

	handler := echo.NewHandler("echo-1")
	app := filepath.Join(dir, "app.sock")
	svr, err := echo.NewServer(app, "echo-1", handler)
	if err != nil {
		t.Fatal(err)
	}
	go svr.Run()
	b := startSidecar(t, "b.yaml", identity(grants[1])+fmt.Sprintf(`
node: {id: echo-server-1, app: echo}
admin: {address: "127.0.0.1:0"}
listeners:
  - name: inbound
    address: "127.0.0.1:0"
    tls: {mode: strict}
    authorization:
      - {name: echo-callers, service: echo, rules: [{action: allow, from: [echo-client]}]}
    routes: [{cluster: local-app}]
clusters:
  - {name: local-app, connections_per_endpoint: 8, endpoints: [{address: "unix://%s"}]}
`, app))
	a := startSidecar(t, "a.yaml", identity(grants[0])+fmt.Sprintf(`
node: {id: echo-client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s", routes: [{service: echo, cluster: echo}]}
clusters:
  - {name: echo, tls: {mode: strict}, endpoints: [{address: "%s"}]}
`, filepath.Join(dir, "a.sock"), b.Ready.Listeners["inbound"]))
	client, err := echo.NewClient(filepath.Join(dir, "a.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svr.Stop() })

	ctx := context.Background()
	res, err := echo.RunLoad(ctx, client, echo.LoadConfig{
		Requests: 10000, Concurrency: 50, PayloadSize: 256,
		Timeout: 5 * time.Second, MaxDuration: 2 * time.Minute, FirstID: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("through the mesh with mTLS: %s", res)
	if res.OK() != 10000 || res.Errors != 0 || res.Mismatch != 0 {
		t.Fatalf("%d of 10000 right, %d errors, %d wrong payloads; first failure: %s", res.OK(), res.Errors, res.Mismatch, res.FirstFail)
	}
	if handler.Total() != 10000 {
		t.Fatalf("server handled %d requests", handler.Total())
	}
	want := map[*proc.Sidecar]map[string]uint64{
		b: {"authz.allowed": 10000, "authz.denied": 0, "tls.plain_accepted": 0},
		a: {"upstream.responses": 10000, "downstream.error_responses": 0},
	}
	for s, counters := range want {
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range counters {
			if got, err := st.Get(name); err != nil || got != v {
				t.Errorf("sidecar %d: %s = %d (%v), want %d", s.PID(), name, got, err, v)
			}
		}
		if n, _ := st.Get("tls.handshakes"); n == 0 {
			t.Errorf("sidecar %d made no TLS handshake", s.PID())
		}
		for _, r := range []string{"no_certificate", "unknown_authority", "expired", "bad_certificate", "not_tls"} {
			if n, _ := st.Get("tls.handshake_failures." + r); n != 0 {
				t.Errorf("sidecar %d: %d handshake failures (%s)", s.PID(), n, r)
			}
		}
	}
}
