package echo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh/examples/echo"
)

// socketPath returns a path for a Unix socket in a directory removed when
// the test ends, short enough for the 108-byte sun_path limit.
func socketPath(t *testing.T, name string) string {
	t.Helper()
	if p := filepath.Join(t.TempDir(), name); len(p) <= 100 {
		return p
	}
	dir, err := os.MkdirTemp("/tmp", "om")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// startServer runs an echo server on sock until the test ends and returns
// once it answers.
func startServer(t *testing.T, sock string, h *echo.Handler) {
	t.Helper()
	svr, err := echo.NewServer(sock, h.Name(), h)
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- svr.Run() }()
	t.Cleanup(func() {
		if err := svr.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := <-runErr; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	// Kitex's Stop is lost if it comes before Run has started serving,
	// so make sure it has: one answered call.
	cli, err := echo.NewClient(sock)
	if err != nil {
		t.Fatal(err)
	}
	res, err := echo.RunLoad(context.Background(), cli, echo.LoadConfig{
		Requests: 1, Concurrency: 1, Timeout: 5 * time.Second, FirstID: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("server on %s does not answer: %v", sock, err)
	}
}

// TestLoadDirect runs the load loop with the client pointed straight at the
// server socket and checks that every request was answered correctly and
// handled exactly once.
func TestLoadDirect(t *testing.T) {
	sock := socketPath(t, "echo.sock")
	h := echo.NewHandler("echo-1")
	startServer(t, sock, h)
	before := h.Total() // the readiness call

	cli, err := echo.NewClient(sock)
	if err != nil {
		t.Fatal(err)
	}
	const n, c = 1000, 20
	cfg := echo.LoadConfig{
		Requests:    n,
		Concurrency: c,
		PayloadSize: 256,
		Timeout:     5 * time.Second,
		MaxDuration: time.Minute,
		FirstID:     1,
	}
	res, err := echo.RunLoad(context.Background(), cli, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if res.Sent != n || res.OK() != n || res.Errors != 0 || res.Mismatch != 0 {
		t.Fatalf("sent %d, ok %d, errors %d, wrong %d; want %d answered correctly", res.Sent, res.OK(), res.Errors, res.Mismatch, n)
	}
	if got := res.Servers["echo-1"]; got != n || len(res.Servers) != 1 {
		t.Errorf("answers per server %v, want echo-1:%d", res.Servers, n)
	}
	if !(res.P50 > 0 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.P999 && res.P999 <= res.Max) {
		t.Errorf("percentiles out of order: %s", res)
	}

	if got := h.Total() - before; got != n {
		t.Errorf("handler answered %d requests, want %d", got, n)
	}
	if got := h.RepeatedIDs(); got != 0 {
		t.Errorf("%d ids handled more than once", got)
	}
	for id := cfg.FirstID; id < cfg.FirstID+n; id++ {
		if got := h.Count(id); got != 1 {
			t.Fatalf("id %d handled %d times, want once", id, got)
		}
	}
}

func TestNewServerNameMismatch(t *testing.T) {
	sock := socketPath(t, "echo.sock")
	if _, err := echo.NewServer(sock, "b", echo.NewHandler("a")); err == nil {
		t.Fatal("NewServer accepted a handler with another name")
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Fatal("NewServer bound the socket although it failed")
	}
}
