package ctlrelease

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	api "github.com/octomesh/octomesh/api/release"
	"github.com/octomesh/octomesh/cp/release"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	h, err := release.NewHandler(release.Config{DataDir: dir, OperatorToken: "op-secret"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer func() { srv.Close(); h.Close() }()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("op-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "octomesh-v2")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho octomesh v2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	agent := api.NewClient(srv.URL, "")
	for _, n := range []string{"n1", "n2", "n3"} {
		rep := api.Report{Node: n, App: "echo", Zone: "z1", State: api.NodeReady, Ready: true, RSSBytes: 30 << 20,
			Version: api.Version{Version: "v1", SHA256: strings.Repeat("1", 64)}}
		if err := agent.Report(context.Background(), rep); err != nil {
			t.Fatal(err)
		}
	}
	server := srv.Listener.Addr().String()
	run := func(main func([]string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := main(append(args, "--server", server, "--token-file", tokenFile), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"upload", bin}, 2, "", "--version is required"},
		{[]string{"upload", filepath.Join(dir, "missing"), "--version", "v2"}, 1, "", "no such file"},
		{[]string{"upload", bin, "--version", "v2"}, 0, "uploaded " + bin + " as version v2: sha256 ", ""},
		{[]string{"artifacts"}, 0, "v2", ""},
		{[]string{"create", "--version", "v2", "--gate-error-rate", "3"}, 2, "", "--gate-error-rate: 3; want a rate between 0 and 1"},
		{[]string{"create", "--version", "v2", "--gate-window", "0s"}, 2, "", "--gate-window: 0s"},
		{[]string{"create", "--version", "v3"}, 1, "", `version "v3": no artifact was uploaded`},
		{[]string{"create", "--version", "v2", "--nodes", "n9"}, 1, "", `scope.nodes: node "n9" has not reported`},
		{[]string{"create", "--name", "r1", "--version", "v2", "--apps", "echo", "--canary", "1", "--batches", "2", "--pause", "10s", "--gate-window", "10s"}, 0, "release r1: v2", ""},
		{[]string{"status"}, 0, "r1  ", ""},
		{[]string{"status", "r1"}, 0, "n3", ""},
		{[]string{"status", "r2"}, 1, "", "404"},
		{[]string{"pause", "r1"}, 0, "release r1: paused", ""},
		{[]string{"pause", "r1"}, 1, "", "only a running release can be paused"},
		{[]string{"resume", "r1"}, 0, "release r1: running", ""},
		{[]string{"abort", "r1"}, 0, "release r1: rolled_back", ""},
		{[]string{"abort"}, 2, "", "want 1 argument"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
	} {
		code, out, errOut := run(Main, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
			t.Errorf("ctl release %v: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q", tc.args, code, out, errOut, tc.code, tc.out, tc.err)
		}
	}
	code, out, _ := run(Main, "status", "r1")
	t.Logf("ctl release status r1:\n%s", out)
	if code != 0 || strings.Count(out, "v1 (111111111111)") != 6 { // previous and running, per node
		t.Errorf("status r1 does not show every node's versions:\n%s", out)
	}
	code, out, errOut := run(NodesMain)
	t.Logf("ctl nodes:\n%s", out)
	if code != 0 || strings.Count(out, "echo") != 3 || !strings.Contains(out, "30.0MiB") {
		t.Errorf("ctl nodes: exit %d\n%s%s", code, out, errOut)
	}
	// A wrong token: the server's 401, said.
	if err := os.WriteFile(tokenFile, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(Main, "pause", "r1"); code != 1 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "operator token") {
		t.Errorf("wrong token: exit %d: %s", code, errOut)
	}
}
