package proc

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBuildTakesOCTOMESH_BIN: a relative $OCTOMESH_BIN is found under a Bazel
// test's runfiles root ($TEST_SRCDIR/$TEST_WORKSPACE), or else under the
// current directory; an absolute one is kept; a missing one is an error.
func TestBuildTakesOCTOMESH_BIN(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ws", "cmd", "octomesh", "octomesh_", "octomesh")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, srcdir, workspace, env, want string
	}{
		{"bazel rootpath", dir, "ws", "cmd/octomesh/octomesh_/octomesh", bin},
		{"absolute", dir, "ws", bin, bin},
		{"absolute, no bazel", "", "", bin, bin},
		{"relative to the current directory", "", "", "ws/cmd/octomesh/octomesh_/octomesh", bin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(dir)
			t.Setenv("TEST_SRCDIR", tc.srcdir)
			t.Setenv("TEST_WORKSPACE", tc.workspace)
			t.Setenv("OCTOMESH_BIN", tc.env)
			got, err := Build(t.TempDir())
			if err != nil || got != tc.want {
				t.Errorf("Build = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		t.Setenv("TEST_SRCDIR", dir)
		t.Setenv("TEST_WORKSPACE", "ws")
		t.Setenv("OCTOMESH_BIN", "cmd/nothing")
		if got, err := Build(t.TempDir()); err == nil {
			t.Errorf("Build = %q for a missing binary, want an error", got)
		}
	})
}
