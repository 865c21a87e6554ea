package kubernetes

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestSlotScript runs the echo pod's slot script twice, as the two sidecar
// containers, with the real octomesh binary and the pod's sidecar config
// (its paths and ports moved to a temporary directory and free loopback
// ports): one serves, the other stands by; the trigger file hands the
// sidecar over and the old slot stands by in its turn; a killed sidecar
// comes back in its slot; SIGTERM ends both slots.
func TestSlotScript(t *testing.T) {
	bin := octomeshBinary(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	objs, err := decodeAll(Manifests)
	if err != nil {
		t.Fatal(err)
	}
	var cm *corev1.ConfigMap
	for _, o := range objs {
		if v, ok := o.obj.(*corev1.ConfigMap); ok && o.meta.Name == "echo-server-sidecar" {
			cm = v
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap echo-server-sidecar")
	}
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	inbound, admin := freePort(t), freePort(t)
	cfg := strings.NewReplacer(
		"/run/octomesh/", run+"/",
		"0.0.0.0:7102", fmt.Sprintf("127.0.0.1:%d", inbound),
		"0.0.0.0:9901", fmt.Sprintf("127.0.0.1:%d", admin),
	).Replace(cm.Data["sidecar.yaml"])
	write(t, filepath.Join(dir, "sidecar.yaml"), cfg)
	write(t, filepath.Join(dir, "slot.sh"), cm.Data["slot.sh"])
	binDir := filepath.Dir(bin)

	type slot struct {
		name string
		cmd  *exec.Cmd
		out  *syncBuffer
	}
	start := func(name string) *slot {
		s := &slot{name: name, out: new(syncBuffer)}
		s.cmd = exec.Command(sh, filepath.Join(dir, "slot.sh"), "octomesh", "proxy", "--config="+filepath.Join(dir, "sidecar.yaml"))
		s.cmd.Env = append(os.Environ(),
			"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
			"OCTOMESH_SLOT="+name,
			"OCTOMESH_TAKEOVER="+filepath.Join(run, "takeover"),
			"OCTOMESH_READY_FILE="+filepath.Join(dir, "ready."+name),
		)
		s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
		// The sidecar and sleep inherit the output: do not wait for them.
		s.cmd.WaitDelay = 2 * time.Second
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if s.cmd.ProcessState == nil {
				_ = s.cmd.Process.Kill()
				if child := childOf(s.cmd.Process.Pid); child > 0 {
					_ = syscall.Kill(child, syscall.SIGKILL)
				}
				_ = s.cmd.Wait()
			}
			if t.Failed() {
				t.Logf("slot %s:\n%s", s.name, s.out.String())
			}
		})
		return s
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	says := func(s *slot, text string, times int) func() bool {
		return func() bool { return strings.Count(s.out.String(), text) >= times }
	}
	ready := func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", admin))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	a := start("a")
	waitFor("slot a to serve", ready)
	b := start("b")
	waitFor("slot b to stand by", says(b, "standing by", 1))
	servingA := childOf(a.cmd.Process.Pid)
	if servingA <= 0 {
		t.Fatal("slot a runs no sidecar")
	}

	// The take-over: b serves, a's sidecar hands over and a stands by.
	write(t, filepath.Join(run, "takeover"), "")
	waitFor("slot b to take over", says(b, "hot restart: took over", 1))
	waitFor("slot a to stand by", says(a, "standing by", 1))
	if !ready() {
		t.Error("nobody serves after the take-over")
	}
	if _, err := os.Stat(filepath.Join(run, "takeover")); !os.IsNotExist(err) {
		t.Errorf("the trigger file is still there (%v)", err)
	}

	// A sidecar killed in its slot comes back there; the other slot stands by on.
	servingB := childOf(b.cmd.Process.Pid)
	if servingB <= 0 {
		t.Fatal("slot b runs no sidecar after the take-over")
	}
	if err := syscall.Kill(servingB, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor("slot b to see its sidecar stop", says(b, "the sidecar stopped", 1))
	waitFor("the sidecar to serve again", ready)
	if c := childOf(b.cmd.Process.Pid); c <= 0 || c == servingB {
		t.Errorf("slot b's sidecar: %d, before %d: want a new one", c, servingB)
	}
	if strings.Contains(a.out.String(), "taking over") {
		t.Error("slot a took over without a trigger")
	}

	// SIGTERM: the standing-by slot ends at once, the serving one drains.
	for _, s := range []*slot{a, b} {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*slot{a, b} {
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("slot %s: %v", s.name, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("slot %s did not end after SIGTERM", s.name)
		}
	}
}

// childOf returns a child process of pid (the slot's sidecar), or 0.
func childOf(pid int) int {
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	for _, f := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(f); err == nil {
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n)); bytes.Contains(cmdline, []byte("proxy")) {
				return n
			}
		}
	}
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
