package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	"github.com/octomesh/octomesh/internal/proc"
)

// TestHotRestartUnderLoad restarts sidecar A and sidecar B ten times each,
// alternating, while 50 callers on long-lived connections call through
// both. No call may fail, and the server must handle every id once.
func TestHotRestartUnderLoad(t *testing.T) {
	const restarts = 20
	const drainTime = 5 * time.Second
	dir, err := os.MkdirTemp("", "om-hr")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	handler := echo.NewHandler("echo-1")
	app := filepath.Join(dir, "app.sock")
	svr, err := echo.NewServer(app, "echo-1", handler)
	if err != nil {
		t.Fatal(err)
	}
	go svr.Run()
	defer svr.Stop()

	write := func(name, yaml string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	bFile := write("b.yaml", fmt.Sprintf(`
node: {id: echo-server-1, app: echo}
admin: {address: "127.0.0.1:0"}
hot_restart: {socket: "%s/b.hr", drain_time: %s}
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local-app}]}
clusters:
  - {name: local-app, connections_per_endpoint: 8, endpoints: [{address: "unix://%s"}]}
`, dir, drainTime, app))
	sidecars := map[string]*proc.Sidecar{}
	start := func(name, file string, args ...string) *proc.Sidecar {
		s, err := proc.StartSidecar(bin, file, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sidecars["B"] = start("B", bFile)
	aFile := write("a.yaml", fmt.Sprintf(`
node: {id: echo-client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
hot_restart: {socket: "%s/a.hr", drain_time: %s}
listeners:
  - {name: outbound, address: "unix://%s/a.sock", routes: [{service: echo, cluster: echo}]}
clusters:
  - {name: echo, endpoints: [{address: "%s"}]}
`, dir, drainTime, dir, sidecars["B"].Ready.Listeners["inbound"]))
	sidecars["A"] = start("A", aFile)
	defer func() {
		for _, s := range sidecars {
			s.Stop()
		}
	}()
	files := map[string]string{"A": aFile, "B": bFile}

	client, err := echo.NewClient(filepath.Join(dir, "a.sock"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		nextID, ok, failed atomic.Int64
		errsMu             sync.Mutex
		errs               []string
		stop               = make(chan struct{})
		wg                 sync.WaitGroup
	)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := make([]byte, 128)
			for n := 0; n < 10_000_000; n++ { // bounded; stop ends it
				select {
				case <-stop:
					return
				default:
				}
				id := nextID.Add(1)
				resp, err := client.Echo(context.Background(), &echogen.EchoRequest{Id: id, Payload: payload}, callopt.WithRPCTimeout(10*time.Second))
				if err == nil && resp.Id != id {
					err = fmt.Errorf("request %d answered with id %d", id, resp.Id)
				}
				if err != nil {
					failed.Add(1)
					errsMu.Lock()
					if len(errs) < 5 {
						errs = append(errs, fmt.Sprintf("id %d at %s: %v", id, time.Now().Format("15:04:05.000"), err))
					}
					errsMu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	waitOK := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for ok.Load() < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if ok.Load() < n {
			t.Fatalf("traffic stalled at %d successful calls (want %d); %d failed: %v\nA:\n%s\nB:\n%s",
				ok.Load(), n, failed.Load(), errs, sidecars["A"].Logs(), sidecars["B"].Logs())
		}
	}
	waitOK(1000)

	for i := 0; i < restarts; i++ {
		name := []string{"A", "B"}[i%2]
		old := sidecars[name]
		before := ok.Load()
		t0 := time.Now()
		next := start(name, files[name], "--hot-restart")
		ready := time.Since(t0)
		select {
		case <-old.Done():
		case <-time.After(drainTime + 10*time.Second):
			t.Fatalf("restart %d: old sidecar %s (pid %d) still running after the drain time:\n%s", i, name, old.PID(), old.Logs())
		}
		if err := old.Stop(); err != nil {
			t.Fatalf("restart %d: old sidecar %s exited with %v:\n%s", i, name, err, old.Logs())
		}
		// The old process is the one that counts a failed hand-over, and
		// its admin endpoint is the new one's now: it says, as it exits,
		// whether it handed over and how many hand-overs failed first.
		if err := checkDrained(old); err != nil {
			t.Fatalf("restart %d: old sidecar %s: %v:\n%s", i, name, err, old.Logs())
		}
		sidecars[name] = next
		t.Logf("restart %2d: sidecar %s pid %d -> %d: new ready in %v, old gone after %v", i+1, name, old.PID(), next.PID(), ready.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		waitOK(before + 500) // traffic flows through the new process
	}
	close(stop)
	wg.Wait()

	total := nextID.Load()
	t.Logf("%d calls across %d restarts: %d ok, %d failed", total, restarts, ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed; first: %v", failed.Load(), errs)
	}
	if handler.Total() != total || handler.DistinctIDs() != total || handler.RepeatedIDs() != 0 {
		t.Fatalf("server handled %d calls, %d distinct ids, %d ids more than once; %d were made",
			handler.Total(), handler.DistinctIDs(), handler.RepeatedIDs(), total)
	}
}

// checkDrained checks an exited old process's last words after a hot
// restart: its "drained" line says it handed over, with no failed
// hand-over before. The copy of its stderr may lag its exit: it waits for
// the line (up to 30s).
func checkDrained(old *proc.Sidecar) error {
	logs := old.Logs()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs, "msg=drained ") && time.Now().Before(deadline); logs = old.Logs() {
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "msg=drained ") {
			continue
		}
		if !strings.Contains(line, " handed_over=true") {
			return fmt.Errorf("drained without handing over: %s", line)
		}
		if !strings.Contains(line, " hotrestart_failures=0") {
			return fmt.Errorf("failed hand-overs before this one: %s", line)
		}
		return nil
	}
	return errors.New(`no "drained" line in its log`)
}

// hrMesh is a client sidecar with hot restart on, in front of an echo
// server, and a Kitex client calling through it.
type hrMesh struct {
	dir, file string
	a         *proc.Sidecar
	client    echoClient
	handler   *echo.Handler
}

func startHRMesh(t *testing.T, extra string) *hrMesh {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-hr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &hrMesh{dir: dir, handler: echo.NewHandler("echo-1")}
	app := filepath.Join(dir, "app.sock")
	svr, err := echo.NewServer(app, "echo-1", m.handler)
	if err != nil {
		t.Fatal(err)
	}
	go svr.Run()
	t.Cleanup(func() { svr.Stop() })
	m.file = filepath.Join(dir, "a.yaml")
	yaml := fmt.Sprintf(`
admin: {address: "127.0.0.1:0"%s}
hot_restart: {socket: "%s/a.hr", drain_time: 3s, ready_timeout: 5s}
listeners:
  - {name: outbound, address: "unix://%s/a.sock", routes: [{service: echo, cluster: app}]}
clusters:
  - {name: app, endpoints: [{address: "unix://%s"}]}
`, extra, dir, dir, app)
	if err := os.WriteFile(m.file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if m.a, err = proc.StartSidecar(bin, m.file, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.a.Stop() })
	if m.client, err = echo.NewClient(filepath.Join(dir, "a.sock")); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *hrMesh) call(t *testing.T, id int64) {
	t.Helper()
	resp, err := m.client.Echo(context.Background(), &echogen.EchoRequest{Id: id}, callopt.WithRPCTimeout(5*time.Second))
	if err != nil || resp.Id != id {
		t.Fatalf("call %d: %v", id, err)
	}
}

func TestHotRestartRollsBackWhenTheNewProcessFails(t *testing.T) {
	m := startHRMesh(t, "")
	m.call(t, 1)
	// The successor's config names a token file that does not exist: it
	// takes the sockets, fails to start its admin endpoint, and gives up.
	broken := filepath.Join(m.dir, "broken.yaml")
	data, _ := os.ReadFile(m.file)
	data = []byte(strings.Replace(string(data), `"127.0.0.1:0"`, `"127.0.0.1:0", token_file: /nonexistent/token`, 1))
	if err := os.WriteFile(broken, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := proc.StartSidecar(bin, broken, nil, "--hot-restart"); err == nil {
		s.Stop()
		t.Fatal("a successor that cannot start its admin endpoint reported ready")
	} else if !strings.Contains(err.Error(), "admin.token_file") {
		t.Errorf("the successor's error does not name the cause: %v", err)
	}
	for id := int64(2); id < 50; id++ {
		m.call(t, id) // the old process still serves
	}
	// New connections reach it too: the failed successor left the socket
	// paths alone.
	fresh, err := echo.NewClient(filepath.Join(m.dir, "a.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := fresh.Echo(context.Background(), &echogen.EchoRequest{Id: 50}, callopt.WithRPCTimeout(5*time.Second)); err != nil || resp.Id != 50 {
		t.Fatalf("a new client cannot reach the old process after the failed hand-over: %v", err)
	}
	if n, err := m.a.Stat(context.Background(), "hotrestart.failures"); err != nil || n != 1 {
		t.Errorf("hotrestart.failures = %d, %v; want 1", n, err)
	}
	select {
	case <-m.a.Done():
		t.Fatal("the old process exited after a failed hand-over")
	default:
	}
	// And a proper successor can still take over through the same socket.
	next, err := proc.StartSidecar(bin, m.file, nil, "--hot-restart")
	if err != nil {
		t.Fatalf("hot restart after a failed one: %v\n%s", err, m.a.Logs())
	}
	defer next.Stop()
	select {
	case <-m.a.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("old process did not hand over:\n%s", m.a.Logs())
	}
	if _, err := m.client.Echo(context.Background(), &echogen.EchoRequest{Id: 51}, callopt.WithRPCTimeout(5*time.Second)); err != nil {
		t.Fatalf("call 51 after the restart: %v\nold:\n%s\nnew:\n%s", err, m.a.Logs(), next.Logs())
	}
	// The old process says, as it exits, that it handed over after one
	// failed hand-over.
	if err := checkDrained(m.a); err == nil || !strings.Contains(err.Error(), " handed_over=true hotrestart_failures=1") {
		t.Errorf("the old process's drained line does not count the failed hand-over:\n%s", m.a.Logs())
	}
}

func TestHotRestartThroughTheAdminEndpoint(t *testing.T) {
	m := startHRMesh(t, "")
	m.call(t, 1)
	admin := "http://" + m.a.Ready.Admin

	// A binary that fails: the sidecar reports it and serves on.
	resp, err := http.Post(admin+"/hotrestart?binary=/bin/false", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "exited before taking over") {
		t.Fatalf("failed restart answered %s: %s", resp.Status, body)
	}
	m.call(t, 2)

	resp, err = http.Post(admin+"/hotrestart", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		OldPID int    `json:"old_pid"`
		NewPID int    `json:"new_pid"`
		Error  string `json:"error"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || out.NewPID == 0 || out.OldPID != m.a.PID() {
		t.Fatalf("POST /hotrestart: %s %+v %v", resp.Status, out, err)
	}
	// The new process is not our child: stop it by its pid at the end.
	defer stopPID(t, out.NewPID)
	select {
	case <-m.a.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("old process %d did not exit:\n%s", m.a.PID(), m.a.Logs())
	}
	for id := int64(3); id < 50; id++ {
		m.call(t, id) // through the new process
	}
	// Same admin socket, new process.
	r, err := http.Get(admin + "/stats")
	if err != nil {
		t.Fatalf("admin endpoint after the restart: %v", err)
	}
	r.Body.Close()
	if m.handler.RepeatedIDs() != 0 || m.handler.Total() != 49 {
		t.Errorf("server handled %d calls, %d ids twice", m.handler.Total(), m.handler.RepeatedIDs())
	}
}

// stopPID ends a process this test caused to start, by its pid.
func stopPID(t *testing.T, pid int) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := p.Signal(syscall.Signal(0)); err != nil {
			return // gone
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.Kill()
	t.Errorf("process %d ignored SIGTERM", pid)
}
