package proc

import (
	"os"
	"path/filepath"
	"strings"
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

// TestFailedStartReportsTheLastWords: a sidecar that dies before it is
// ready is reported with all it wrote to stderr, its last line included
// (the copy from the pipe may lag behind the exit).
func TestFailedStartReportsTheLastWords(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "octomesh")
	// 256 KiB of noise (more than a pipe holds), then the cause.
	script := "#!/bin/sh\nhead -c 262144 /dev/zero | tr '\\0' x >&2\necho >&2\necho 'admin.token_file: no such file' >&2\nexit 1\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		s, err := StartSidecar(bin, "a.yaml", nil)
		if err == nil {
			s.Stop()
			t.Fatal("a process that exits at once was reported ready")
		}
		if !strings.Contains(err.Error(), "admin.token_file: no such file") {
			t.Fatalf("run %d: the error lacks the process's last line: ...%s", i, err.Error()[max(0, len(err.Error())-200):])
		}
	}
}
