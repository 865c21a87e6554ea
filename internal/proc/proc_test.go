package proc

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/api/sidecar"
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

// TestStatsMissingCounterIsAnError: a counter the sidecar does not list
// (renamed, removed, misspelt) is an error, never a 0.
func TestStatsMissingCounterIsAnError(t *testing.T) {
	body := "downstream.requests 7\nhotrestart.failures 0\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	s := &Sidecar{Ready: sidecar.ReadyInfo{Admin: strings.TrimPrefix(srv.URL, "http://")}}
	ctx := context.Background()
	for name, want := range map[string]uint64{"downstream.requests": 7, "hotrestart.failures": 0} {
		if got, err := s.Stat(ctx, name); err != nil || got != want {
			t.Errorf("Stat(%s) = %d, %v; want %d", name, got, err, want)
		}
	}
	for _, name := range []string{"hotrestart.failure", "downstream.request", ""} {
		if got, err := s.Stat(ctx, name); err == nil {
			t.Errorf("Stat(%q) = %d for a counter the sidecar lacks; want an error", name, got)
		}
	}
	body = "downstream.requests seven\n"
	if _, err := s.Stats(ctx); err == nil {
		t.Error("a counter that is not a number was read")
	}
	body = "garbage\n"
	if _, err := s.Stats(ctx); err == nil {
		t.Error(`a line that is not "name value" was read`)
	}
}

// TestRaceInASidecarIsReported: a child built as Build builds it under
// -race reports its data race, and the harness makes that a failure: Stop
// returns an error, RaceReports has it, and ExitCode fails the test binary.
func TestRaceInASidecarIsReported(t *testing.T) {
	if os.Getenv("TEST_SRCDIR") != "" {
		t.Skip("builds a program with go build -race: Bazel tests have no go command (and Bazel no race mode here)")
	}
	t.Setenv("OCTOMESH_RACE", "1") // as under go test -race
	if !Race() {
		t.Fatal("OCTOMESH_RACE=1 does not turn the race detector on")
	}
	bin, err := BuildPackage(t.TempDir(), "racy", "github.com/octomesh/octomesh/internal/proc/testdata/racy", "RACY_BIN", Race())
	if err != nil {
		t.Fatal(err)
	}
	before := len(RaceReports())
	s, err := StartSidecar(bin, "unused.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Stop()
	if err == nil {
		t.Fatalf("Stop of a sidecar with a data race returned nil; its stderr:\n%s", s.Logs())
	}
	if !strings.Contains(err.Error(), "data race") && !strings.Contains(err.Error(), "exit status 66") {
		t.Errorf("Stop = %v, want the race named", err)
	}
	if !strings.Contains(s.Logs(), raceWarning) {
		t.Fatalf("no race report in the child's stderr:\n%s", s.Logs())
	}
	if n := len(RaceReports()); n <= before {
		t.Errorf("RaceReports has %d reports, had %d before", n, before)
	}
	var out strings.Builder
	if exitCode(0, &out) == 0 || !strings.Contains(out.String(), raceWarning) {
		t.Errorf("exitCode(0) = 0 with a race reported, or the report not printed:\n%s", out.String())
	}
	// This test's own race is expected: forget it, so that ExitCode does
	// not fail the package for it.
	all.mu.Lock()
	all.sidecars = slices.DeleteFunc(all.sidecars, func(x *Sidecar) bool { return x == s })
	all.mu.Unlock()
}
