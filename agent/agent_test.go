package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.delay(i + 1); got != w*time.Millisecond {
			t.Errorf("delay(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
}

func TestProcStatOfThisProcess(t *testing.T) {
	st1, state, err := procStat(os.Getpid())
	if err != nil || st1 == 0 || state != "R" && state != "S" {
		t.Fatalf("procStat: %d %q %v", st1, state, err)
	}
	st2, _, _ := procStat(os.Getpid())
	if st1 != st2 {
		t.Errorf("start time changed: %d, %d", st1, st2)
	}
	if _, _, err := procStat(1 << 30); err == nil {
		t.Error("procStat of a pid that cannot exist succeeded")
	}
}

func TestStateRoundTripAndAdoptRefusesAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	if st, err := readState(dir); err != nil || st.PID != 0 {
		t.Fatalf("no state file: %+v %v", st, err)
	}
	start, _, _ := procStat(os.Getpid())
	want := State{PID: os.Getpid(), StartTime: start, Binary: "/bin/x", Version: "v1", Admin: "127.0.0.1:1", Restarts: 3}
	if err := writeState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := readState(dir)
	if err != nil || got.PID != want.PID || got.StartTime != want.StartTime || got.Restarts != 3 || got.Version != "v1" {
		t.Fatalf("read back %+v %v", got, err)
	}
	stop := make(chan struct{})
	defer close(stop)
	if p, err := adoptProcess(got, stop); err != nil || !p.adopted || p.exited() {
		t.Fatalf("adopting a live process: %v", err)
	}
	got.StartTime++ // the pid now names another process
	if _, err := adoptProcess(got, stop); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("adopted a process with another start time: %v", err)
	}
}

func TestFetchRefusesBadTargetsAndStoresGoodOnes(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "sidecar")
	script := []byte("#!/bin/sh\necho octomesh 2.0.0\n")
	if err := os.WriteFile(bin, script, 0o755); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, script, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(script)
	good := hex.EncodeToString(sum[:])
	pub, priv, _ := ed25519.GenerateKey(nil)
	sig := hex.EncodeToString(ed25519.Sign(priv, sum[:]))
	data := filepath.Join(dir, "data")
	cases := []struct {
		name string
		t    Target
		pub  ed25519.PublicKey
		want string
	}{
		{"wrong hash", Target{From: bin, SHA256: strings.Repeat("ab", 32)}, nil, "has SHA-256"},
		{"short hash", Target{From: bin, SHA256: "ab"}, nil, "not a SHA-256 digest"},
		{"missing file", Target{From: filepath.Join(dir, "none"), SHA256: good}, nil, "no such file"},
		{"not executable", Target{From: noexec, SHA256: good}, nil, "not executable"},
		{"other scheme", Target{From: "ftp://x/y", SHA256: good}, nil, "only file paths and http(s)"},
		{"no signature", Target{From: bin, SHA256: good}, pub, "needs a signature"},
		{"bad signature", Target{From: bin, SHA256: good, Signature: strings.Repeat("00", 64)}, pub, "does not verify"},
	}
	for _, tc := range cases {
		_, err := fetch(context.Background(), data, tc.t, tc.pub)
		if !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "bin")); len(entries) != 0 {
		t.Errorf("refused targets left %d files behind", len(entries))
	}
	art, err := fetch(context.Background(), data, Target{From: bin, SHA256: good, Signature: sig}, pub)
	if err != nil {
		t.Fatal(err)
	}
	if art.version != "2.0.0" || art.path != filepath.Join(data, "bin", "sha256-"+good) {
		t.Errorf("stored %+v", art)
	}
	if fi, err := os.Stat(art.path); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("stored binary: %v %v", fi.Mode(), err)
	}
}
