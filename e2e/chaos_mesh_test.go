package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/examples/echo"
	"github.com/octomesh/octomesh/internal/faultrelay"
	"github.com/octomesh/octomesh/internal/proc"
)

// chaosProc is a control-plane process (or the chaos run's etcd or NATS)
// that the test kills and starts again with the same arguments.
type chaosProc struct {
	name string
	argv []string
	// readyLine: the process says it is ready with a line on stdout
	// (natsd) instead of JSON on --ready-fd 3 (octomesh).
	readyLine bool
	logs      *proc.SyncBuffer

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	ready map[string]string
}

// startChaosProc starts argv and waits until it is ready; the process is
// stopped when the test ends.
func startChaosProc(t *testing.T, name string, readyLine bool, argv ...string) *chaosProc {
	t.Helper()
	p := &chaosProc{name: name, argv: argv, readyLine: readyLine, logs: &proc.SyncBuffer{}}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *chaosProc) start() error {
	rd, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	defer rd.Close()
	argv := p.argv
	cmd := exec.Command(argv[0], argv[1:]...)
	if p.readyLine {
		cmd.Stdout = wr
	} else {
		cmd.Args = append(cmd.Args, "--ready-fd", "3", "--log-level", "warn")
		cmd.ExtraFiles = []*os.File{wr}
	}
	cmd.Stderr = p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return fmt.Errorf("%s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	ready := map[string]string{}
	got := make(chan error, 1)
	go func() {
		if p.readyLine {
			line, err := bufio.NewReader(rd).ReadString('\n')
			if err == nil {
				f := strings.Fields(line)
				if len(f) == 2 && f[0] == "ready" {
					ready["url"] = f[1]
				} else {
					err = fmt.Errorf("ready line %q", line)
				}
			}
			got <- err
			return
		}
		got <- json.NewDecoder(rd).Decode(&ready)
	}()
	select {
	case err = <-got:
	case <-time.After(90 * time.Second):
		err = fmt.Errorf("not ready after 90s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s %v: %v\n%s", p.name, argv[1:], err, p.logs)
	}
	p.mu.Lock()
	p.cmd, p.done, p.ready = cmd, done, ready
	p.mu.Unlock()
	return nil
}

// logTails logs the last n lines of each control-plane process's output:
// what a failed round needs to be read after the fact (in CI).
func (m *chaosMesh) logTails(t *testing.T, n int) {
	t.Helper()
	procs := append([]*chaosProc{m.etcd, m.nats, m.disp, m.meta, m.scanner}, m.pilots...)
	for _, p := range procs {
		if p == nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(p.logs.String(), "\n"), "\n")
		t.Logf("%s, the last %d lines of its output:\n%s", p.name, min(n, len(lines)), strings.Join(lines[max(0, len(lines)-n):], "\n"))
	}
}

// addr is an address the process wrote when it was ready, without a
// scheme.
func (p *chaosProc) addr(key string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.ready[key]
	for _, s := range []string{"tcp://", "http://"} {
		v = strings.TrimPrefix(v, s)
	}
	return v
}

func (p *chaosProc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// kill ends the process with SIGKILL and waits for it.
func (p *chaosProc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
}

// stop ends the process with SIGTERM (SIGKILL after 30s).
func (p *chaosProc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// chaosMesh is a demo-sized mesh in which every part can be made to fail:
// etcd (an `octomesh meta` that embeds it, on a fixed port, so that the
// rest finds it again after a restart) and NATS (natsd) as processes of
// their own; the dispatcher, Meta, two sharded pilots and a scanner on
// them; two echo servers (echo-1 a process, echo-2 in the test, whose
// answers can be slowed) each behind a sidecar run by an agent; the
// client's sidecar, run by an agent, fed by the pilot that Meta names;
// and a fault relay between the client's sidecar and echo-2's.
type chaosMesh struct {
	dir        string
	etcd, nats *chaosProc
	disp, meta *chaosProc
	pilots     []*chaosProc
	scanner    *chaosProc
	app1       *exec.Cmd
	app1Sock   string
	app2       *app
	agentA     *agentProc
	agentB1    *agentProc
	agentB2    *agentProc
	b1Addr     string
	relay      *faultrelay.Relay
	client     echoClient
	tokenFile  string
	etcdAddr   string
	natsURL    string
}

// chaosRules: echo-client's calls to echo time out after 1s in its
// sidecar and are retried once on another instance when they cannot have
// reached the server; an instance is ejected after 5 failures in a row.
// The demo's rules with a shorter timeout.
const chaosRules = `kind: Timeout
metadata: {name: chaos-timeout}
target: {app: echo-client, service: echo}
spec: {timeout: 1s}
---
kind: Retry
metadata: {name: chaos-retry}
target: {app: echo-client, service: echo}
spec: {attempts: 2}
---
kind: OutlierDetection
metadata: {name: chaos-outliers}
target: {service: echo}
spec: {interval: 1s, base_ejection_time: 5s, max_ejection_percent: 50}
`

func startChaosMesh(t *testing.T) *chaosMesh {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-chaos") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &chaosMesh{dir: dir}
	natsd, err := proc.BuildPackage(dir, "natsd", "github.com/octomesh/octomesh/e2e/chaos/natsd", "CHAOS_NATSD_BIN", false)
	if err != nil {
		t.Fatal(err)
	}

	// etcd and NATS, each a process of its own on a port that stays.
	m.etcdAddr = reservePort(t)
	m.etcd = startChaosProc(t, "etcd (octomesh meta with its embedded etcd)", false, bin, "meta", "--data-dir", filepath.Join(dir, "etcd"),
		"--etcd-client-address", m.etcdAddr, "--http-address", "127.0.0.1:0")
	natsAddr := reservePort(t)
	m.nats = startChaosProc(t, "nats", true, natsd, "--address", natsAddr, "--store-dir", filepath.Join(dir, "nats"))
	m.natsURL = m.nats.ready["url"]

	// The control plane on them.
	m.tokenFile = filepath.Join(dir, "operator.token")
	if err := os.WriteFile(m.tokenFile, []byte("chaos-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.disp = startChaosProc(t, "dispatcher", false, bin, "dispatcher", "--data-dir", filepath.Join(dir, "dispatcher"),
		"--etcd-endpoints", m.etcdAddr, "--nats-url", m.natsURL, "--api-address", "127.0.0.1:0", "--token-file", m.tokenFile)
	m.meta = startChaosProc(t, "meta", false, bin, "meta", "--etcd-endpoints", m.etcdAddr, "--http-address", "127.0.0.1:0")
	for _, id := range []string{"p1", "p2"} {
		m.pilots = append(m.pilots, startChaosProc(t, "pilot "+id, false, bin, "pilot", "--etcd-endpoints", m.etcdAddr, "--nats-url", m.natsURL,
			"--shard-id", id, "--shard-lease-ttl", "2s", "--xds-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0"))
	}
	m.scanner = startChaosProc(t, "scanner", false, bin, "scanner", "--id", "scanner-1", "--http-address", "127.0.0.1:0",
		"--etcd-endpoints", m.etcdAddr, "--nats-url", m.natsURL, "--period", "500ms", "--timeout", "400ms", "--fall", "2", "--rise", "2")

	// The servers: echo-1 a process (to be killed), echo-2 in the test (to
	// be slowed), each behind a sidecar that an agent runs on a port that
	// stays across its restarts.
	m.app1Sock = filepath.Join(dir, "echo-1.sock")
	m.startApp1(t)
	t.Cleanup(func() { m.stopApp1() })
	m.app2 = startApp(t, dir, "echo-2")
	write := func(name, yaml string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	server := func(name, address, socket string) string {
		return write(name+".yaml", fmt.Sprintf(`
node: {id: %s-sidecar, app: echo}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: inbound, address: "%s", routes: [{cluster: local}]}
clusters:
  - {name: local, connections_per_endpoint: 8, endpoints: [{address: "unix://%s"}]}
`, name, address, socket))
	}
	m.b1Addr = reservePort(t)
	b2Addr := reservePort(t)
	sidecar := []string{"--sidecar-binary", fastBin, "--liveness-interval", "1s"}
	m.agentB1 = startAgent(t, server("echo-1", m.b1Addr, m.app1Sock), filepath.Join(dir, "agent-b1"), sidecar...)
	m.agentB2 = startAgent(t, server("echo-2", b2Addr, m.app2.socket), filepath.Join(dir, "agent-b2"), sidecar...)
	// Sidecar A reaches echo-2's sidecar through the relay: echo-2 is
	// registered under the relay's address (the scanner's checks of it
	// cross the relay too, as they would cross a real link).
	if m.relay, err = faultrelay.Start("127.0.0.1:0", b2Addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.relay.Close() })

	reg, err := registry.NewClient(m.meta.addr("http"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	for _, in := range []registry.Instance{
		{Service: echo.ServiceName, App: "echo", Address: m.b1Addr, Weight: 1},
		{Service: echo.ServiceName, App: "echo", Address: m.relay.Addr(), Weight: 1},
	} {
		r, err := reg.Keep(context.Background(), in, 10*time.Second, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close(context.Background()) })
	}
	if err := m.applyRules(); err != nil {
		t.Fatal(err)
	}

	clientSock := filepath.Join(dir, "a.sock")
	aFile := write("a.yaml", fmt.Sprintf(`
node: {id: echo-client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s"}
xds: {meta: "%s", services: [echo], subscribe_wait: 3s}
`, clientSock, m.meta.addr("http")))
	m.agentA = startAgent(t, aFile, filepath.Join(dir, "agent-a"), sidecar...)
	if m.client, err = echo.NewClient(clientSock); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *chaosMesh) applyRules() error {
	api, err := rules.NewClient(m.disp.addr("api"), "chaos-test")
	if err != nil {
		return err
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = api.Apply(ctx, "chaos.yaml", []byte(chaosRules), false)
	return err
}

func (m *chaosMesh) startApp1(t *testing.T) {
	t.Helper()
	_ = os.Remove(m.app1Sock)
	cmd := exec.Command(serverBin, "-socket", m.app1Sock, "-name", "echo-1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.app1 = cmd
	if !waitFor(30*time.Second, func() bool { _, err := os.Stat(m.app1Sock); return err == nil }) {
		t.Fatalf("echo-1 did not listen on %s", m.app1Sock)
	}
}

func (m *chaosMesh) stopApp1() {
	if m.app1 != nil && m.app1.ProcessState == nil {
		_ = m.app1.Process.Kill()
		_ = m.app1.Wait()
	}
}

// sidecarPIDs are the sidecars' processes now (the agents restart them).
func (m *chaosMesh) sidecarPIDs() []int {
	var out []int
	for _, a := range []*agentProc{m.agentA, m.agentB1, m.agentB2} {
		if st, err := agentStatus(a); err == nil && st.Sidecar != nil {
			out = append(out, st.Sidecar.PID)
		}
	}
	return out
}

// healthy reports whether sidecar A has both echo instances and sees both
// healthy (neither marked down, ejected nor unreachable), with
// what it sees.
func (m *chaosMesh) healthy() (bool, string) {
	st, err := agentStatus(m.agentA)
	if err != nil || st.Sidecar == nil || st.Sidecar.Admin == "" {
		return false, fmt.Sprintf("sidecar A: %v", err)
	}
	resp, err := http.Get("http://" + st.Sidecar.Admin + "/clusters")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Clusters []struct {
			Name      string
			Endpoints []struct{ Address, Health, State string }
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return false, err.Error()
	}
	n := 0
	for _, c := range out.Clusters {
		for _, e := range c.Endpoints {
			// Health "idle" is healthy with no connection open yet;
			// State is outlier detection's view ("degraded": back from
			// an ejection, on a quarter of its weight for a while).
			if e.Health != "healthy" && e.Health != "idle" || e.State == "ejected" {
				return false, string(body)
			}
			n++
		}
	}
	return n == 2, string(body)
}

// xdsSession reports whether a pilot has sidecar A's xDS session: the
// control plane serves it.
func (m *chaosMesh) xdsSession() bool { return m.sessionPilot() != nil }

// sessionPilot is the pilot that has sidecar A's xDS session (nil: none).
func (m *chaosMesh) sessionPilot() *chaosProc {
	c := http.Client{Timeout: 2 * time.Second}
	for _, p := range m.pilots {
		resp, err := c.Get("http://" + p.addr("http") + "/debug/sessions")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"echo-client-1"`) {
			return p
		}
	}
	return nil
}

// rssMiB is the resident memory of pid in MiB (0 when it is gone).
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			var kib float64
			fmt.Sscan(f[1], &kib)
			return kib / 1024
		}
	}
	return 0
}
