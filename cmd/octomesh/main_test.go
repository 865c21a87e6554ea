package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/bench"
)

// Under `bazel run` the binary starts in its runfiles tree: bench's relative
// paths, read and written, must still be the caller's (BUILD_WORKING_DIRECTORY).
func TestBenchPathsUnderBazelRun(t *testing.T) {
	user, runfiles := t.TempDir(), t.TempDir()
	in := `{"command": "octomesh bench", "settings": {"payloads_bytes": [1024]}, "runs": [{"topology": "T0-UDS", "point": "5k req/s", "payload_bytes": 1024, "mode": "open", "rate_rps": 5000}]}`
	if err := os.WriteFile(filepath.Join(user, "in.json"), []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(runfiles)
	t.Setenv("BUILD_WORKING_DIRECTORY", user)
	if err := enterBuildWorkingDirectory(); err != nil {
		t.Fatal(err)
	}
	if err := runBench([]string{"--from-json", "in.json", "--json", "out/r.json", "--markdown", "out/r.md"}); err == nil {
		t.Fatal("want an error: out/ does not exist in the caller's directory")
	}
	if err := os.Mkdir(filepath.Join(user, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := runBench([]string{"--from-json", "in.json", "--json", "out/r.json", "--markdown", "out/r.md"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.ReadReport(filepath.Join(user, "out", "r.json")); err != nil {
		t.Error(err)
	}
	md, err := os.ReadFile(filepath.Join(user, "out", "r.md"))
	if err != nil || !strings.Contains(string(md), bench.MarkdownBegin) {
		t.Errorf("markdown: %v\n%s", err, md)
	}
	if entries, _ := os.ReadDir(runfiles); len(entries) != 0 {
		t.Errorf("wrote into the runfiles directory: %v", entries)
	}
}

func TestNoBuildWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("BUILD_WORKING_DIRECTORY", "")
	if err := enterBuildWorkingDirectory(); err != nil {
		t.Fatal(err)
	}
	if wd, _ := os.Getwd(); wd != dir {
		t.Errorf("working directory %s, want %s", wd, dir)
	}
}

// Without a command, with an unknown one or with bad flags, octomesh
// prints its usage and exits 2, as the flag package does; asking for help
// is not an error.
func TestExitStatus(t *testing.T) {
	t.Setenv("BUILD_WORKING_DIRECTORY", "")
	cases := []struct {
		args                []string
		status              int
		wantStdout, wantErr string
	}{
		{nil, 2, "", "octomesh: no command given\n\nusage: octomesh <command>"},
		{[]string{"nope"}, 2, "", `octomesh: unknown command "nope"`},
		{[]string{"help"}, 0, "usage: octomesh <command>", ""},
		{[]string{"-h"}, 0, "usage: octomesh <command>", ""},
		{[]string{"proxy", "--no-such-flag"}, 2, "", "octomesh proxy: flag provided but not defined: -no-such-flag"},
		{[]string{"proxy"}, 2, "", "octomesh proxy: --config is required"},
		{[]string{"proxy", "-h"}, 0, "", ""},
		{[]string{"dispatcher", "--back-check", "0s"}, 2, "", "octomesh dispatcher: --back-check 0s: must be positive"},
		{[]string{"proxy", "--config", filepath.Join(t.TempDir(), "none.yaml")}, 1, "", "octomesh proxy: config: open "},
		{[]string{"pilot", "--http-tls-cert", "c.pem"}, 2, "", "octomesh pilot: --http-tls-cert, --http-tls-key and --http-tls-bundle go together"},
		{[]string{"meta", "--http-tls-key", "k.pem"}, 2, "", "octomesh meta: --http-tls-cert, --http-tls-key and --http-tls-bundle go together"},
		{[]string{"meta", "--etcd-ca", "ca.pem"}, 2, "", "octomesh meta: --etcd-ca, --etcd-cert and --etcd-key are for an external etcd"},
		{[]string{"pilot", "--etcd-endpoints", "127.0.0.1:1", "--etcd-cert", "c.pem"}, 2, "", "octomesh pilot: etcd tls: the client certificate and key go together"},
		{[]string{"dispatcher", "--nats-ca", "ca.pem"}, 2, "", "octomesh dispatcher: --nats-ca, --nats-cert and --nats-key are for an external NATS (--nats-url)"},
		{[]string{"scanner", "--nats-url", "nats://127.0.0.1:1", "--nats-key", "k.pem"}, 2, "", "octomesh scanner: nats tls: the client certificate and key go together"},
		{[]string{"dispatcher", "--etcd-ca", "ca.pem"}, 2, "", "octomesh dispatcher: --etcd-ca, --etcd-cert and --etcd-key are for an external etcd"},
		{[]string{"pilot", "--http-tls-cert", "none.pem", "--http-tls-key", "none.pem", "--http-tls-bundle", "none.pem"}, 1, "", "octomesh pilot: ca: certificate none.pem, key none.pem: open none.pem"},
		{[]string{"ctl"}, 2, "", "octomesh ctl: no command given"},
		{[]string{"ctl", "nope"}, 2, "", `octomesh ctl: unknown command "nope"`},
		{[]string{"ctl", "proxy-status", "--pilot", "127.0.0.1:1", "--timeout", "1s"}, 1, "", "octomesh ctl proxy-status: warning: pilot 127.0.0.1:1"},
		{[]string{"ctl", "nodes", "--server", "127.0.0.1:1"}, 1, "", "octomesh ctl: release API: Get \"http://127.0.0.1:1/v1/nodes\""},
		{[]string{"ctl", "release", "status", "--server", "127.0.0.1:1"}, 1, "", "octomesh ctl: release API: Get \"http://127.0.0.1:1/v1/releases\""},
		{[]string{"ctl", "get", "--server", "127.0.0.1:1", "all"}, 1, "", "octomesh ctl get: rules: unavailable"},
		{[]string{"console", "--no-such-flag"}, 2, "", "octomesh console: flag provided but not defined: -no-such-flag"},
		{[]string{"console", "extra"}, 2, "", "octomesh console: unexpected arguments: [extra]"},
		{[]string{"console", "--address", "unix:///tmp/octomesh-console.sock"}, 1, "", "octomesh console: console: address \"unix:///tmp/octomesh-console.sock\": a browser needs a TCP host:port"},
		{[]string{"console", "--address", "127.0.0.1:0", "--prometheus", "prom:9090"}, 1, "", "octomesh console: console: prometheus \"prom:9090\": want an http:// or https:// URL"},
		{[]string{"console", "--address", "127.0.0.1:0", "--pilot", "127.0.0.1:1", "--meta", "127.0.0.1:2"}, 1, "", "octomesh console: console: inspect: give pilots or Meta, not both"},
	}
	for _, tc := range cases {
		var stdout, stderr strings.Builder
		if got := run(tc.args, &stdout, &stderr); got != tc.status {
			t.Errorf("%q: exit status %d, want %d (stderr %q)", tc.args, got, tc.status, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), tc.wantStdout) || tc.wantStdout == "" && stdout.Len() > 0 {
			t.Errorf("%q: stdout %q, want %q...", tc.args, stdout.String(), tc.wantStdout)
		}
		if !strings.HasPrefix(stderr.String(), tc.wantErr) || tc.wantErr == "" && stderr.Len() > 0 {
			t.Errorf("%q: stderr %q, want %q...", tc.args, stderr.String(), tc.wantErr)
		}
	}
}
