package ctl

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rulesapi "github.com/octomesh/octomesh/api/rules"
	cprules "github.com/octomesh/octomesh/cp/rules"
	"github.com/octomesh/octomesh/cp/store"
)

// server is the rule API over a real rule store on an embedded etcd, as
// the dispatcher serves it; it returns its address and a token file.
func server(t *testing.T) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-ctl-etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	kv, err := store.Open(store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	tokenFile := filepath.Join(t.TempDir(), "token")
	token, err := cprules.LoadOrCreateToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cprules.NewHandler(cprules.New(kv, cprules.Options{}), cprules.HandlerOptions{Token: token}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), tokenFile
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

const (
	webYAML = `kind: Retry
metadata: {name: echo-get}
target: {app: web, service: echo, method: Get}
spec: {attempts: 3, idempotent: true}
---
kind: Route
metadata: {name: echo-canary}
target: {app: web, service: echo, tags: {lane: canary}}
spec: {cluster: echo-canary}
`
	echoYAML = `kind: CircuitBreaker
metadata: {name: echo}
target: {service: echo}
spec: {max_requests: 200}
`
)

func TestCtlApplyGetDiffDelete(t *testing.T) {
	addr, tokenFile := server(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a-web.yaml"), []byte(webYAML), 0o644)
	os.WriteFile(filepath.Join(dir, "b-echo.yml"), []byte(echoYAML), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not rules"), 0o644)

	code, out, errs := run(t, "--server", addr, "--token-file", tokenFile, "apply", "-f", dir)
	if code != 0 || out != "Retry/echo-get created\nRoute/echo-canary created\nCircuitBreaker/echo created\n" {
		t.Fatalf("apply: %d\n%s%s", code, out, errs)
	}
	// Global flags after the command work too.
	code, out, errs = run(t, "apply", "-f", dir, "--server", addr, "--token-file", tokenFile)
	if code != 0 || !strings.Contains(out, "Retry/echo-get unchanged\n") {
		t.Errorf("apply again: %d\n%s%s", code, out, errs)
	}

	// get -o yaml prints what apply reads back.
	code, out, errs = run(t, "--server", addr, "get", "retry", "echo-get", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "kind: Retry\nmetadata:\n  name: echo-get\n  revision: ") || !strings.Contains(out, "spec:\n  attempts: 3\n  idempotent: true\n") {
		t.Errorf("get -o yaml: %d\n%s%s", code, out, errs)
	}
	if _, err := rulesapi.DecodeDocuments("out.yaml", []byte(out)); err != nil {
		t.Errorf("get -o yaml does not read back: %v", err)
	}
	code, out, _ = run(t, "--server", addr, "get", "all")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "KIND") || !strings.Contains(out, "web->echo/* {tag lane=canary}") || !strings.Contains(lines[1], "CircuitBreaker   echo ") {
		t.Errorf("get all: %d\n%s", code, out)
	}

	// diff: nothing, then a change (exit 1, the change shown).
	if code, out, errs := run(t, "--server", addr, "diff", "-f", dir); code != 0 || out != "" {
		t.Errorf("diff of what is applied: %d\n%s%s", code, out, errs)
	}
	os.WriteFile(filepath.Join(dir, "a-web.yaml"), []byte(strings.Replace(webYAML, "attempts: 3", "attempts: 4", 1)), 0o644)
	code, out, errs = run(t, "--server", addr, "diff", "-f", dir)
	if code != 1 || !strings.Contains(out, "--- Retry/echo-get (revision ") || !strings.Contains(out, "-  attempts: 3\n+  attempts: 4\n") {
		t.Errorf("diff of a change: %d\n%s%s", code, out, errs)
	}
	if code, out, _ := run(t, "--server", addr, "get", "Retry", "echo-get", "-o", "json"); code != 0 || !strings.Contains(out, `"attempts": 3`) {
		t.Errorf("diff wrote: %s", out)
	}

	// A bad document: the error names the file, the document and the field.
	os.WriteFile(filepath.Join(dir, "a-web.yaml"), []byte(strings.Replace(webYAML, "attempts: 3", "attempts: 0", 1)), 0o644)
	code, _, errs = run(t, "--server", addr, "--token-file", tokenFile, "apply", "-f", dir)
	if want := "a-web.yaml:4: document 1 (Retry/echo-get): spec.attempts: must be between 1 and 10"; code != 1 || !strings.Contains(errs, want) {
		t.Errorf("bad apply: %d %s; want %s", code, errs, want)
	}

	// Without the token.
	t.Setenv("OCTOMESH_TOKEN", "")
	code, _, errs = run(t, "--server", addr, "delete", "retry", "echo-get")
	if code != 1 || !strings.Contains(errs, rulesapi.TokenHelp) {
		t.Errorf("delete without a token: %d %s", code, errs)
	}
	t.Setenv("OCTOMESH_TOKEN", readToken(t, tokenFile))
	if code, out, errs := run(t, "--server", addr, "delete", "retry", "echo-get"); code != 0 || out != "Retry/echo-get deleted\n" {
		t.Errorf("delete: %d %s%s", code, out, errs)
	}
	if code, out, errs := run(t, "--server", addr, "delete", "-f", filepath.Join(dir, "b-echo.yml")); code != 0 || out != "CircuitBreaker/echo deleted\n" {
		t.Errorf("delete -f: %d %s%s", code, out, errs)
	}
	if code, _, errs := run(t, "--server", addr, "get", "retry", "echo-get"); code != 1 || !strings.Contains(errs, "Retry/echo-get: no such document") {
		t.Errorf("get after delete: %d %s", code, errs)
	}
	if code, out, errs := run(t, "--server", addr, "get", "retry", "echo-get", "--history"); code != 0 || !strings.Contains(out, "Retry   echo-get   web->echo/Get") {
		t.Errorf("get --history after delete: %d %s%s", code, out, errs)
	}
}

func readToken(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestCtlUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "no command given"},
		{[]string{"proxy-status"}, 2, `unknown command "proxy-status"`},
		{[]string{"describe", "x"}, 2, `unknown command "describe"`},
		{[]string{"apply"}, 2, "give the rules with -f FILE|DIR"},
		{[]string{"get"}, 2, "give KIND (or all)"},
		{[]string{"get", "retries"}, 2, `"retries" is not a kind of rule`},
		{[]string{"get", "retry", "-o", "xml"}, 2, `-o "xml"`},
		{[]string{"delete", "retry"}, 2, "give KIND NAME, or -f FILE|DIR"},
		{[]string{"apply", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"diff", "-f", "/nonexistent/rules.yaml"}, 3, "no such file"},
		{[]string{"--server", "127.0.0.1:1", "get", "all"}, 1, "rules: unavailable"},
	} {
		code, _, errs := run(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("ctl %q: %d %s; want %d %s", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
