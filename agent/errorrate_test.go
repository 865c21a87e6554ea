package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/sidecar"
)

// The test binary stands in for the sidecar when fakeSidecarEnv names a
// directory: it serves an admin endpoint whose /stats count requests and,
// when its own executable ends with badMarker, answers half of them with
// errors; it hands over as a hot restart does (the new process stops the
// old one, named in the directory's pid file, once it is ready).
const (
	fakeSidecarEnv = "OCTOMESH_AGENT_FAKE_SIDECAR_DIR"
	badMarker      = "\nOCTOMESH-FAKE-SIDECAR-BAD\n"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(fakeSidecarEnv); dir != "" {
		fakeSidecar(dir)
		return
	}
	os.Exit(m.Run())
}

func fakeSidecar(dir string) {
	exe, _ := os.Executable()
	b, _ := os.ReadFile(exe)
	bad := bytes.HasSuffix(b, []byte(badMarker))
	version := "good"
	if bad {
		version = "bad"
	}
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("octomesh " + version)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(3)
	}
	start := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		// 100 requests a second since start; half of them errors when bad.
		n := uint64(time.Since(start).Seconds()*100) + 1
		errs := uint64(0)
		if bad {
			errs = n / 2
		}
		fmt.Fprintf(w, "downstream.requests %d\ndownstream.error_responses %d\n", n, errs)
	})
	go http.Serve(ln, mux)
	pidFile := filepath.Join(dir, "serving.pid")
	if old, err := os.ReadFile(pidFile); err == nil && hasArg("--hot-restart") {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(old))); err == nil {
			defer syscall.Kill(pid, syscall.SIGTERM) // after saying ready, as a hot restart's hand-over
		}
	}
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644)
	ready, _ := json.Marshal(sidecar.ReadyInfo{PID: os.Getpid(), Listeners: map[string]string{}, Admin: ln.Addr().String(), Version: version})
	if fd := argAfter("--ready-fd"); fd != "" {
		n, _ := strconv.Atoi(fd)
		f := os.NewFile(uintptr(n), "ready")
		f.Write(ready)
		f.Close()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func hasArg(a string) bool {
	for _, x := range os.Args[1:] {
		if x == a {
			return true
		}
	}
	return false
}

func argAfter(a string) string {
	for i, x := range os.Args[1:] {
		if x == a && i+2 < len(os.Args) {
			return os.Args[i+2]
		}
	}
	return ""
}

// An upgrade whose new version answers too many errors within the watch
// window is rolled back through a hot restart to the previous binary, which
// then serves; one whose new version answers none stays.
func TestUpgradeRolledBackOnErrorRate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(fakeSidecarEnv, dir)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	target := func(name string, body []byte) Target {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, body, 0o755); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		return Target{From: f, SHA256: hex.EncodeToString(sum[:])}
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, self, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Binary: good, Args: []string{"proxy"}, DataDir: filepath.Join(dir, "agent"),
		ReadyTimeout: 30 * time.Second, WatchWindow: 3 * time.Second, MinRequests: 20, MaxErrorRate: 0.05,
		LivenessInterval: time.Hour, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-s.Started():
	case <-time.After(30 * time.Second):
		t.Fatal("the sidecar did not start")
	}
	first := s.Status().Sidecar.PID

	bad := target("bad", append(append([]byte(nil), self...), badMarker...))
	uctx, ucancel := context.WithTimeout(ctx, time.Minute)
	defer ucancel()
	res, err := s.Upgrade(uctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != RolledBack || res.ToVersion != "bad" || !strings.Contains(res.Reason, "errors to") {
		t.Fatalf("upgrade to a version answering half its calls with errors: %+v; want rolled back for its error rate", res)
	}
	st := s.Status()
	if st.Sidecar == nil || st.Sidecar.Version != "good" || st.Sidecar.PID == first || st.Sidecar.PID != res.PID {
		t.Fatalf("after the rollback: %+v (first pid %d); want a new process of the good version serving", st.Sidecar, first)
	}

	better := target("better", append(append([]byte(nil), self...), "\nanother good build\n"...))
	res, err = s.Upgrade(uctx, better)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Upgraded || res.Requests < 20 || res.Errors != 0 {
		t.Fatalf("upgrade to a version answering no errors: %+v; want upgraded after a watch with requests", res)
	}
}
