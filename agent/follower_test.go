package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/api/release"
)

func TestProcUsageOfThisProcess(t *testing.T) {
	cpu, rss := procUsage(os.Getpid())
	if rss < 1<<20 || cpu < 0 {
		t.Fatalf("cpu %v s, rss %d bytes", cpu, rss)
	}
	if cpu, rss := procUsage(1 << 30); cpu != 0 || rss != 0 {
		t.Fatalf("a pid that cannot exist: %v %d", cpu, rss)
	}
}

// The follower finds a target's binary: one stored in the data dir, one
// it ran before (by digest), or a download from the control plane with
// the agent token.
func TestFollowerFindsOrDownloadsTheBinary(t *testing.T) {
	dir := t.TempDir()
	digest := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	first := filepath.Join(dir, "octomesh-first")
	firstBytes := []byte("#!/bin/sh\necho octomesh v1\n")
	if err := os.WriteFile(first, firstBytes, 0o755); err != nil {
		t.Fatal(err)
	}
	stored := []byte("stored build")
	if err := os.MkdirAll(filepath.Join(dir, "data", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	storedPath := filepath.Join(dir, "data", "bin", "sha256-"+digest(stored))
	if err := os.WriteFile(storedPath, stored, 0o755); err != nil {
		t.Fatal(err)
	}
	remote := []byte("remote build")
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.URL.Path != release.ArtifactsPath+"/"+digest(remote) {
			http.Error(w, `{"error":"no such artifact"}`, http.StatusNotFound)
			return
		}
		w.Write(remote)
	}))
	defer srv.Close()
	f := &follower{s: &Supervisor{cfg: Config{DataDir: filepath.Join(dir, "data")}}, client: release.NewClient(srv.URL, "agent-secret"), sums: map[string]fileSum{}}
	if sum, err := f.sum(first); err != nil || sum != digest(firstBytes) {
		t.Fatalf("digest of the first binary: %s %v", sum, err)
	}
	if sum, _ := f.sum(storedPath); sum != digest(stored) {
		t.Fatalf("digest of a stored binary, from its name: %s", sum)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		sum, want string
	}{
		{digest(stored), storedPath},
		{digest(firstBytes), first},
	} {
		path, cleanup, err := f.binary(ctx, release.Target{Version: release.Version{SHA256: tc.sum}})
		cleanup()
		if err != nil || path != tc.want {
			t.Errorf("binary of %s: %s %v; want %s", tc.sum, path, err, tc.want)
		}
	}
	if len(auth) != 0 {
		t.Fatalf("a known binary was downloaded: %v", auth)
	}
	path, cleanup, err := f.binary(ctx, release.Target{Version: release.Version{SHA256: digest(remote)}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(remote) || auth[0] != "Bearer agent-secret" {
		t.Fatalf("downloaded %q with %v", b, auth)
	}
	cleanup()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the download was not removed: %v", err)
	}
	_, _, err = f.binary(ctx, release.Target{Version: release.Version{SHA256: strings.Repeat("0", 64)}})
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no such artifact") {
		t.Fatalf("an unknown artifact: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "data")); len(entries) != 1 {
		t.Fatalf("a failed download left files: %v", entries)
	}
}
