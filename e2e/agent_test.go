package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/octomesh/octomesh/agent"
	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	"github.com/octomesh/octomesh/internal/proc"
)

// agentProc is a running `octomesh agent`.
type agentProc struct {
	ready agent.Ready
	cmd   *exec.Cmd
	logs  *proc.SyncBuffer
	done  chan struct{}
}

// startAgent runs `bin agent` for config with its data in dataDir and waits
// until its sidecar serves. The sidecar's output goes to the agent's.
func startAgent(t *testing.T, config, dataDir string, extra ...string) *agentProc {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	// A pipe of our own for its output: the sidecar inherits it, and Wait
	// must mean the agent exited, not that every holder closed it.
	logR, logW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	a := &agentProc{logs: &proc.SyncBuffer{}, done: make(chan struct{})}
	args := append([]string{"agent", "--config", config, "--data-dir", dataDir, "--admin", "127.0.0.1:0", "--ready-fd", "3",
		"--backoff-initial", "50ms", "--liveness-interval", "1s"}, extra...)
	a.cmd = exec.Command(bin, args...)
	a.cmd.ExtraFiles = []*os.File{wr}
	a.cmd.Stderr = logW
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	go func() { _, _ = io.Copy(a.logs, logR); logR.Close() }()
	err = a.cmd.Start()
	logW.Close()
	wr.Close()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() { a.stop(t) })
	ch := make(chan error, 1)
	go func() { ch <- json.NewDecoder(bufio.NewReader(rd)).Decode(&a.ready) }()
	select {
	case err := <-ch:
		if err != nil {
			<-a.done
			t.Fatalf("agent did not start: %v\n%s", err, a.logs)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("agent not ready after 60s:\n%s", a.logs)
	}
	return a
}

// stop ends the agent with SIGTERM (it stops its sidecar), or ends the
// sidecar by pid when the agent is gone already.
func (a *agentProc) stop(t *testing.T) {
	select {
	case <-a.done:
	default:
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(60 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.done
			t.Errorf("agent %d ignored SIGTERM:\n%s", a.cmd.Process.Pid, a.logs)
		}
	}
}

func (a *agentProc) status(t *testing.T) agent.Status {
	t.Helper()
	st, err := agent.GetStatus(context.Background(), a.ready.Admin)
	if err != nil {
		t.Fatalf("%v\n%s", err, a.logs)
	}
	return st
}

// reservePort returns a free loopback address: a sidecar that restarts
// after a crash binds its listener afresh, and its peers dial the same
// address.
func reservePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// agentMesh is sidecar A (the caller's) and sidecar B (the echo server's),
// each run by its own agent, and a Kitex client calling through them.
type agentMesh struct {
	dir          string
	handler      *echo.Handler
	agentA       *agentProc
	agentB       *agentProc
	client       echoClient
	aFile, bFile string
}

func startAgentMesh(t *testing.T, extra ...string) *agentMesh {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &agentMesh{dir: dir, handler: echo.NewHandler("echo-1")}
	app := filepath.Join(dir, "app.sock")
	svr, err := echo.NewServer(app, "echo-1", m.handler)
	if err != nil {
		t.Fatal(err)
	}
	go svr.Run()
	t.Cleanup(func() { svr.Stop() }) // after the agents: cleanups run last first
	write := func(name, yaml string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	bAddr := reservePort(t)
	m.bFile = write("b.yaml", fmt.Sprintf(`
node: {id: echo-server-1, app: echo}
admin: {address: "127.0.0.1:0"}
hot_restart: {socket: "%s/b.hr", drain_time: 3s}
listeners:
  - {name: inbound, address: "%s", routes: [{cluster: local-app}]}
clusters:
  - {name: local-app, connections_per_endpoint: 8, endpoints: [{address: "unix://%s"}]}
`, dir, bAddr, app))
	m.agentB = startAgent(t, m.bFile, filepath.Join(dir, "b-agent"), extra...)
	m.aFile = write("a.yaml", fmt.Sprintf(`
node: {id: echo-client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
hot_restart: {socket: "%s/a.hr", drain_time: 3s}
listeners:
  - {name: outbound, address: "unix://%s/a.sock", routes: [{service: echo, cluster: echo}]}
clusters:
  - {name: echo, endpoints: [{address: "tcp://%s"}]}
`, dir, dir, bAddr))
	m.agentA = startAgent(t, m.aFile, filepath.Join(dir, "a-agent"), extra...)
	if m.client, err = echo.NewClient(filepath.Join(dir, "a.sock")); err != nil {
		t.Fatal(err)
	}
	return m
}

// failedCall is a call that failed: when it started and ended, and why.
type failedCall struct {
	start, end time.Time
	err        error
}

// load is 50 callers on long-lived connections, until stopped.
type load struct {
	next, ok atomic.Int64
	mu       sync.Mutex
	failed   []failedCall
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	// After mark (unix ns) is set, recovered holds when the first call
	// that started after mark succeeded.
	mark, recovered atomic.Int64
}

func startLoad(c echoClient) *load { return startLoadN(c, 50) }

// startLoadN is n callers.
func startLoadN(c echoClient, n int) *load {
	l := &load{stop: make(chan struct{})}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			payload := make([]byte, 128)
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				id := l.next.Add(1)
				start := time.Now()
				resp, err := c.Echo(context.Background(), &echogen.EchoRequest{Id: id, Payload: payload}, callopt.WithRPCTimeout(10*time.Second))
				if err == nil && resp.Id != id {
					err = fmt.Errorf("request %d answered with id %d", id, resp.Id)
				}
				if err != nil {
					l.mu.Lock()
					l.failed = append(l.failed, failedCall{start, time.Now(), err})
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
				if m := l.mark.Load(); m != 0 && start.UnixNano() >= m {
					l.recovered.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
		}()
	}
	return l
}

func (l *load) end() { l.stopOnce.Do(func() { close(l.stop) }); l.wg.Wait() }

func (l *load) failures() []failedCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]failedCall(nil), l.failed...)
}

// waitOK waits until n more calls than now succeeded.
func (l *load) waitOK(t *testing.T, n int64, logs ...*agentProc) {
	t.Helper()
	want := l.ok.Load() + n
	if !waitFor(60*time.Second, func() bool { return l.ok.Load() >= want }) {
		var b strings.Builder
		for _, a := range logs {
			b.WriteString(a.logs.String())
		}
		t.Fatalf("traffic stalled at %d successful calls (want %d); %d failed: %v\n%s", l.ok.Load(), want, len(l.failures()), l.failures()[:min(5, len(l.failures()))], b.String())
	}
}

// Sidecar B, run by an agent, is killed with SIGKILL under 50 callers. The
// agent restarts it (50ms backoff). The bound: calls fail only in the
// restart window, from the kill until sidecar A has a connection to the new
// process: every failed call ended after the kill, and started before the
// first call that started after the agent reported the new process serving
// had succeeded. Once one call gets through, none fails. The number of
// failures is what 50 callers made in that window (its length on a busy
// machine is measured and logged, not bounded).
func TestAgentRestartsAKilledSidecarUnderFiftyCallers(t *testing.T) {
	m := startAgentMesh(t)
	l := startLoad(m.client)
	defer l.end()
	l.waitOK(t, 2000, m.agentA, m.agentB)
	if f := l.failures(); len(f) != 0 {
		t.Fatalf("%d calls failed before the kill: %v", len(f), f[0].err)
	}

	old := m.agentB.status(t).Sidecar.PID
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st agent.Status
	if !waitFor(60*time.Second, func() bool {
		st = m.agentB.status(t)
		return st.State == agent.StateRunning && st.Sidecar != nil && st.Sidecar.PID != old
	}) {
		t.Fatalf("agent did not restart sidecar B: %+v\n%s", st, m.agentB.logs)
	}
	serving := time.Now()
	l.mark.Store(serving.UnixNano())
	l.waitOK(t, 2000, m.agentA, m.agentB)
	l.end()
	recovered := time.Unix(0, l.recovered.Load())

	f := l.failures()
	var first, last time.Time
	for i, c := range f {
		if c.end.Before(killed) || !c.start.Before(recovered) {
			t.Errorf("call failed outside the restart window (kill at %s, serving again by %s, a call through it by %s): started %s, ended %s: %v",
				killed.Format("15:04:05.000"), serving.Format("15:04:05.000"), recovered.Format("15:04:05.000"), c.start.Format("15:04:05.000"), c.end.Format("15:04:05.000"), c.err)
		}
		if i == 0 || c.end.Before(first) {
			first = c.end
		}
		if c.end.After(last) {
			last = c.end
		}
	}
	t.Logf("kill -9 of sidecar B (pid %d): agent restarted it as pid %d, seen serving %v after the kill, first call through it %v after; %d of %d calls failed, from %v to %v after the kill",
		old, st.Sidecar.PID, serving.Sub(killed).Round(time.Millisecond), recovered.Sub(killed).Round(time.Millisecond), len(f), l.next.Load(), first.Sub(killed).Round(time.Millisecond), last.Sub(killed).Round(time.Millisecond))
	if st.Restarts != 1 || st.LastExit != "signal: killed" || st.CrashLoop {
		t.Errorf("status after one crash: restarts %d, last exit %q, crash loop %v", st.Restarts, st.LastExit, st.CrashLoop)
	}
}

// buildVersion builds octomesh with another version string: "a new build".
func buildVersion(t *testing.T, dir, version string) string {
	t.Helper()
	if b := os.Getenv("OCTOMESH_NEXT_BIN"); b != "" {
		return b
	}
	if os.Getenv("TEST_SRCDIR") != "" {
		t.Skip("needs a go command to build a second octomesh with -ldflags -X main.version (or $OCTOMESH_NEXT_BIN)")
	}
	out := filepath.Join(dir, "octomesh-"+version)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", out, "github.com/octomesh/octomesh/cmd/octomesh")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Both sidecars are upgraded to a new build through their agents under 50
// callers, then offered a build that exits at once (the agent rolls back),
// then bad targets (refused, nothing changes). No call may fail, and the
// server handles every id once.
func TestAgentHotUpgradeAndRollbackUnderLoad(t *testing.T) {
	m := startAgentMesh(t, "--watch-window", "2s")
	next := buildVersion(t, m.dir, "e2e-next")
	broken := filepath.Join(m.dir, "octomesh-broken")
	script := "#!/bin/sh\n[ \"$1\" = version ] && { echo octomesh e2e-broken; exit 0; }\necho 'this build cannot serve' >&2\nexit 3\n"
	if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	l := startLoad(m.client)
	defer l.end()
	l.waitOK(t, 1000, m.agentA, m.agentB)

	ctx := context.Background()
	for _, a := range []*agentProc{m.agentB, m.agentA} {
		before := a.status(t).Sidecar
		res, err := agent.RequestUpgrade(ctx, a.ready.Admin, agent.Target{From: next, SHA256: sha256File(t, next)})
		if err != nil || res.Outcome != agent.Upgraded || res.ToVersion != "e2e-next" || res.FromVersion != "dev" && res.FromVersion != before.Version {
			t.Fatalf("upgrade: %+v %v\n%s", res, err, a.logs)
		}
		st := a.status(t)
		if st.Sidecar.Version != "e2e-next" || st.Sidecar.PID == before.PID || st.Sidecar.PID != res.PID {
			t.Fatalf("after the upgrade the agent runs %+v (was %+v)", st.Sidecar, before)
		}
		t.Logf("upgrade: %s -> %s, pid %d -> %d; watch window saw %d requests, %d errors", res.FromVersion, res.ToVersion, before.PID, res.PID, res.Requests, res.Errors)
		l.waitOK(t, 500, m.agentA, m.agentB)
	}

	for _, a := range []*agentProc{m.agentB, m.agentA} {
		before := a.status(t).Sidecar
		res, err := agent.RequestUpgrade(ctx, a.ready.Admin, agent.Target{From: broken, SHA256: sha256File(t, broken)})
		if err != nil || res.Outcome != agent.RolledBack || res.PID != before.PID || !strings.Contains(res.Reason, "did not become ready") {
			t.Fatalf("upgrade to a build that exits: %+v %v\n%s", res, err, a.logs)
		}
		if st := a.status(t); st.Sidecar.PID != before.PID || st.Sidecar.Version != "e2e-next" || st.LastUpgrade == nil || st.LastUpgrade.Outcome != agent.RolledBack {
			t.Fatalf("after the rollback: %+v, last upgrade %+v", st.Sidecar, st.LastUpgrade)
		}
		t.Logf("rollback: %s", res.Reason)
		l.waitOK(t, 500, m.agentA, m.agentB)
	}

	// Bad input: refused with what is wrong, and nothing changes.
	pid := m.agentB.status(t).Sidecar.PID
	for _, tc := range []struct {
		target agent.Target
		want   string
	}{
		{agent.Target{From: next, SHA256: strings.Repeat("0", 64)}, "has SHA-256"},
		{agent.Target{From: filepath.Join(m.dir, "missing"), SHA256: sha256File(t, next)}, "no such file"},
		{agent.Target{From: m.bFile, SHA256: sha256File(t, m.bFile)}, "not executable"},
		{agent.Target{From: next, SHA256: "abc"}, "not a SHA-256 digest"},
	} {
		res, err := agent.RequestUpgrade(ctx, m.agentB.ready.Admin, tc.target)
		if err == nil || res.Outcome != agent.Rejected || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("upgrade to %+v: %+v %v; want it refused with %q", tc.target, res, err, tc.want)
		}
	}
	if st := m.agentB.status(t); st.Sidecar.PID != pid {
		t.Errorf("a refused upgrade changed the sidecar: pid %d -> %d", pid, st.Sidecar.PID)
	}
	l.waitOK(t, 500, m.agentA, m.agentB)
	l.end()

	total := l.next.Load()
	if f := l.failures(); len(f) != 0 {
		t.Fatalf("%d of %d calls failed; first: %v", len(f), total, f[0].err)
	}
	if m.handler.Total() != total || m.handler.DistinctIDs() != total || m.handler.RepeatedIDs() != 0 {
		t.Fatalf("server handled %d calls, %d distinct ids, %d ids more than once; %d were made",
			m.handler.Total(), m.handler.DistinctIDs(), m.handler.RepeatedIDs(), total)
	}
	t.Logf("%d calls across two upgrades and two rollbacks: 0 failed", total)
}

// The agent itself is killed with SIGKILL under load: the sidecar serves on
// (no call fails), a new agent adopts it from the state file, and watches
// it: when the adopted sidecar is killed, the new agent restarts it.
func TestAgentReadoptsItsSidecarAfterSIGKILL(t *testing.T) {
	m := startAgentMesh(t)
	l := startLoad(m.client)
	defer l.end()
	l.waitOK(t, 1000, m.agentA, m.agentB)

	pid := m.agentB.ready.Sidecar.PID
	if err := m.agentB.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-m.agentB.done
	l.waitOK(t, 1000, m.agentA, m.agentB) // the orphaned sidecar serves on
	if f := l.failures(); len(f) != 0 {
		t.Fatalf("%d calls failed after the agent was killed: %v", len(f), f[0].err)
	}

	again := startAgent(t, m.bFile, filepath.Join(m.dir, "b-agent"))
	if got := again.ready.Sidecar; got.PID != pid || !got.Adopted {
		t.Fatalf("the new agent runs %+v; want pid %d adopted\n%s", got, pid, again.logs)
	}
	l.waitOK(t, 1000, m.agentA, again)
	if f := l.failures(); len(f) != 0 {
		t.Fatalf("%d calls failed across the agent's restart: %v", len(f), f[0].err)
	}

	// The adopted process is watched by polling: a crash is noticed.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st agent.Status
	if !waitFor(60*time.Second, func() bool {
		st = again.status(t)
		return st.State == agent.StateRunning && st.Sidecar != nil && st.Sidecar.PID != pid
	}) {
		t.Fatalf("the new agent did not restart the adopted sidecar: %+v\n%s", st, again.logs)
	}
	if st.Sidecar.Adopted || st.Restarts != 1 {
		t.Errorf("after the restart: %+v, restarts %d", st.Sidecar, st.Restarts)
	}
	l.waitOK(t, 1000, m.agentA, again)
	l.end()
	t.Logf("agent SIGKILLed and replaced with 0 failed calls; the adopted sidecar's crash cost %d of %d calls", len(l.failures()), l.next.Load())
}
