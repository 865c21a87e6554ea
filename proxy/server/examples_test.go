package server

import (
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/config"
)

// TestExampleConfigsLoad keeps every sidecar config under examples/ valid:
// it must parse and build a server (balancer names included).
func TestExampleConfigsLoad(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../examples", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") && strings.Contains(filepath.Base(path), "sidecar") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		cfg, err := config.Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		s.Close()
	}
}

// TestREADMESidecarsYourself runs the README's "Running sidecars yourself"
// up to the sidecars' start, as two users: each gets configs that load,
// with sockets in a directory of its own and ports of its own, and the
// commands after it use those sockets and ports.
func TestREADMESidecarsYourself(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Running sidecars yourself")
	_, block, ok2 := strings.Cut(section, "```sh\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no sh block under \"## Running sidecars yourself\"")
	}
	var setup, rest []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		switch {
		case strings.HasPrefix(line, "go build"):
		case len(rest) == 0 && !strings.HasPrefix(line, "./octomesh"):
			setup = append(setup, line)
		default:
			rest = append(rest, line)
		}
	}
	after := strings.Join(rest, "\n")
	for _, want := range []string{`--config "$dir/server.yaml"`, `--config "$dir/client.yaml"`, `-socket "$dir/octomesh-echo-server.sock"`,
		`-socket "$dir/octomesh-echo-client.sock"`, `127.0.0.1:$admin_a/stats`} {
		if !strings.Contains(after, want) {
			t.Errorf("the README's commands do not use %s", want)
		}
	}
	run := func(uid string) (dir string, ports [3]string) {
		bin := t.TempDir()
		if err := os.WriteFile(filepath.Join(bin, "id"), []byte("#!/bin/sh\necho "+uid+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		script := "set -e\n" + strings.Join(setup, "\n") + "\necho \"$dir $admin_a $admin_b $peer\"\n"
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "TMPDIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the README's commands: %v\n%s", err, out)
		}
		f := strings.Fields(string(out))
		if len(f) != 4 {
			t.Fatalf("the README's commands printed %q", out)
		}
		return f[0], [3]string{f[1], f[2], f[3]}
	}
	dir1, ports1 := run("1000")
	dir2, ports2 := run("1001")
	if dir1 == dir2 || ports1 == ports2 || ports1[0] == ports1[1] || ports1[1] == ports1[2] {
		t.Fatalf("two users share: %s %v and %s %v", dir1, ports1, dir2, ports2)
	}
	client, err := config.Load(filepath.Join(dir1, "client.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	server, err := config.Load(filepath.Join(dir1, "server.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{client.Admin.Address, server.Admin.Address, client.Listeners[0].Address, client.Clusters[0].Endpoints[0].Address,
		server.Listeners[0].Address, server.Clusters[0].Endpoints[0].Address}
	want := []string{"127.0.0.1:" + ports1[0], "127.0.0.1:" + ports1[1], "unix://" + dir1 + "/octomesh-echo-client.sock", "127.0.0.1:" + ports1[2],
		"127.0.0.1:" + ports1[2], "unix://" + dir1 + "/octomesh-echo-server.sock"}
	if !slices.Equal(got, want) {
		t.Errorf("addresses in the copied configs:\n got %q\nwant %q", got, want)
	}
}
