package server

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh/codec"
)

// unixApp listens on a Unix socket: answer replies to each frame, else it
// reads and stays silent (an app frozen with SIGSTOP still accepts).
func unixApp(t *testing.T, answer bool) string {
	path := filepath.Join(t.TempDir(), "app.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n, err := c.Read(buf)
				if err != nil || !answer {
					_, _ = c.Read(buf) // hold it open, silent
					return
				}
				var h codec.Header
				if h.Decode(buf[:n]) != nil || string(h.Method) != appPingMethod {
					t.Errorf("the app got %q, not a ping", buf[:n])
				}
				_, _ = c.Write(codec.AppendControlFrame(nil, "x"))
			}()
		}
	}()
	return path
}

func TestPingApp(t *testing.T) {
	if err := pingApp(unixApp(t, true), 5*time.Second); err != nil {
		t.Errorf("an answering app: %v", err)
	}
	if err := pingApp(unixApp(t, false), 200*time.Millisecond); err == nil {
		t.Error("a silent (frozen) app passed")
	}
	if err := pingApp(filepath.Join(t.TempDir(), "none.sock"), time.Second); err == nil {
		t.Error("no app passed")
	}
}

// The answer is cached: a probe finding it stale starts one check in the
// background and answers with the last result.
func TestAppCheckCaches(t *testing.T) {
	path := unixApp(t, false)
	a := newAppCheck(func() []string { return []string{path} })
	if !a.healthy() {
		t.Fatal("the first answer, before any check, should be the optimistic one")
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.Checks.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if a.healthy() || a.Failures.Load() < 1 {
		t.Fatalf("after a check of a silent app: healthy %v, failures %d", a.healthy(), a.Failures.Load())
	}
}
