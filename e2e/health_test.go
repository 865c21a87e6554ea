package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
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

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
)

// echoServer runs the echo-server binary: a Kitex app as a process of its
// own, so that the test can freeze it.
func echoServer(t *testing.T, dir, name string) (*exec.Cmd, string) {
	t.Helper()
	sock := filepath.Join(dir, name+".sock")
	cmd := exec.Command(serverBin, "-socket", sock, "-name", name)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, sock
}

// controlPlane runs `octomesh <args> --ready-fd 3` (a pilot, a scanner)
// and returns the addresses it wrote when ready; it is stopped (SIGTERM)
// when the test ends.
func controlPlane(t *testing.T, args ...string) map[string]string {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	cmd := exec.Command(bin, append(args, "--ready-fd", "3", "--log-level", "warn")...)
	cmd.ExtraFiles = []*os.File{wr}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	wr.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ready := map[string]string{}
	if err := json.NewDecoder(rd).Decode(&ready); err != nil {
		t.Fatalf("octomesh %s: not ready: %v", args[0], err)
	}
	return ready
}

// statsOf reads a control-plane process's /stats.
func statsOf(addr string) map[string]int64 {
	out := map[string]int64{}
	resp, err := http.Get("http://" + strings.TrimPrefix(addr, "tcp://") + "/stats")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var name string
		var v int64
		if _, err := fmt.Sscan(sc.Text(), &name, &v); err == nil {
			out[name] = v
		}
	}
	return out
}

// call is one request the callers made.
type call struct {
	start, end time.Time
	server     string
	err        error
}

// endpointHealth reads sidecar A's /clusters: the health of each endpoint
// of cluster name.
func endpointHealth(admin, name string) (map[string]string, error) {
	resp, err := http.Get("http://" + admin + "/clusters")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Clusters []struct {
			Name      string
			Endpoints []struct{ Address, Health string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, c := range out.Clusters {
		if c.Name == name {
			for _, e := range c.Endpoints {
				m[e.Address] = e.Health
			}
		}
	}
	return m, nil
}

// Real Kitex traffic through two sidecars to two server apps; one app is
// frozen (SIGSTOP: its process, and so its lease, stays). The scanner
// marks it down (its sidecar answers health-fail: the app accepts on its
// socket but does not answer), the pilot pushes UNHEALTHY, and no request
// that starts after the client's sidecar has the update fails. Thawed, the
// app is marked up and gets traffic again.
func TestFrozenAppIsMarkedDownAndComesBack(t *testing.T) {
	dir, err := os.MkdirTemp("", "om-hc") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pilot := controlPlane(t, "pilot", "--xds-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--data-dir", t.TempDir())
	pilotHTTP := strings.TrimPrefix(pilot["http"], "tcp://")
	scanner := controlPlane(t, "scanner", "--id", "s1", "--http-address", "127.0.0.1:0", "--etcd-endpoints", pilot["etcd"],
		"--period", "500ms", "--timeout", "500ms", "--fall", "2", "--rise", "2")
	api, err := registry.NewClient(pilotHTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()

	procs := map[string]*exec.Cmd{}
	addrOf := map[string]string{}
	for _, name := range []string{"echo-1", "echo-2"} {
		cmd, sock := echoServer(t, dir, name)
		procs[name] = cmd
		b := startSidecar(t, name+".yaml", fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local}]}
clusters:
  - {name: local, endpoints: [{address: "unix://%s"}]}
`, sock))
		addrOf[name] = addr(b)
		reg, err := api.Keep(context.Background(), registry.Instance{Service: "echo", App: "echo", Address: addr(b), Weight: 1}, 10*time.Second, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Close(context.Background()) })
	}
	clientSock := filepath.Join(dir, "a.sock")
	a := startSidecar(t, "a.yaml", fmt.Sprintf(`
node: {id: client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s"}
xds: {pilot: "%s", services: [echo]}
`, clientSock, pilot["xds"]))
	client, err := echo.NewClient(clientSock)
	if err != nil {
		t.Fatal(err)
	}

	// Callers, each calling one after another, recording every call.
	var (
		mu    sync.Mutex
		calls []call
		stop  atomic.Bool
		wg    sync.WaitGroup
		id    atomic.Int64
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c := call{start: time.Now()}
				n := id.Add(1)
				resp, err := client.Echo(context.Background(), &echogen.EchoRequest{Id: n, Payload: []byte("x")}, callopt.WithRPCTimeout(2*time.Second))
				c.end, c.err = time.Now(), err
				if err == nil {
					c.server = resp.Server
				}
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond) // no busy loop while the route warms up
				}
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	served := func(name string, since time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range calls {
			if c.server == name && c.start.After(since) {
				n++
			}
		}
		return n
	}
	health := func(name string) string {
		h, err := endpointHealth(a.Ready.Admin, "echo")
		if err != nil {
			return err.Error()
		}
		return h[addrOf[name]]
	}
	began := time.Now()
	waitUntil(t, "both apps serve", func() bool { return served("echo-1", began) > 10 && served("echo-2", began) > 10 })

	// Freeze echo-1: its socket still accepts, it answers nothing.
	if err := procs["echo-1"].Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	waitUntil(t, "echo-1 marked down in sidecar A", func() bool { return health("echo-1") == "marked down" })
	pushed := time.Now()
	st := statsOf(scanner["http"])
	t.Logf("echo-1 frozen; marked down in sidecar A %.1fs later; scanner: %d checks, %d failures, %d confirms", pushed.Sub(frozen).Seconds(),
		st["scanner.checks"], st["scanner.failures"], st["scanner.confirms"])
	waitUntil(t, "traffic on echo-2 after the mark", func() bool { return served("echo-2", pushed) > 50 })

	// Thaw it: marked up after Rise good checks, and back in use.
	if err := procs["echo-1"].Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	thawed := time.Now()
	waitUntil(t, "echo-1 back in use", func() bool { return served("echo-1", thawed) > 10 })
	stop.Store(true)
	wg.Wait()

	var after, failedAfter, onFrozen int
	var firstErr error
	for _, c := range calls {
		if !c.start.After(pushed) {
			continue
		}
		after++
		if c.err != nil {
			failedAfter++
			if firstErr == nil {
				firstErr = c.err
			}
		}
		if c.server == "echo-1" && c.start.Before(thawed) {
			onFrozen++
		}
	}
	st = statsOf(scanner["http"])
	t.Logf("%d calls after the mark reached sidecar A, %d failed; scanner marked %d, cleared %d", after, failedAfter, st["scanner.marked"], st["scanner.cleared"])
	if failedAfter != 0 || onFrozen != 0 {
		t.Fatalf("after the mark: %d of %d calls failed (first: %v), %d answered by the frozen app", failedAfter, after, firstErr, onFrozen)
	}
	if st["scanner.marked"] < 1 || st["scanner.cleared"] < 1 {
		t.Fatalf("scanner marked %d, cleared %d", st["scanner.marked"], st["scanner.cleared"])
	}
}

// waitUntil polls cond with a generous deadline (the machine may be busy).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The fast path: a server sidecar dies (kill -9; its app's registration
// lives on). Its xDS stream drops, the pilot asks the scanner to check it
// now, and it is marked down and pushed to the client's sidecar. The
// scanner's period is ten minutes and it wants three failures in a row, so
// no periodic check could have marked it within the test.
func TestDeadSidecarIsCheckedAtOnce(t *testing.T) {
	dir, err := os.MkdirTemp("", "om-fp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pilot := controlPlane(t, "pilot", "--xds-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--data-dir", t.TempDir())
	scanner := controlPlane(t, "scanner", "--id", "s1", "--http-address", "127.0.0.1:0", "--etcd-endpoints", pilot["etcd"],
		"--period", "10m", "--fall", "3")
	api, err := registry.NewClient(strings.TrimPrefix(pilot["http"], "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	app := startApp(t, dir, "echo-1")
	b := sidecarProc(t, "b.yaml", fmt.Sprintf(`
node: {id: server-1, app: echo}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s"}
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local}]}
clusters:
  - {name: local, endpoints: [{address: "unix://%s"}]}
xds: {pilot: "%s"}
`, filepath.Join(dir, "b-out.sock"), app.socket, pilot["xds"]), true)
	reg, err := api.Keep(context.Background(), registry.Instance{Service: "echo", App: "echo", Address: addr(b), Weight: 1}, 10*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(context.Background()) })
	a := startSidecar(t, "a.yaml", fmt.Sprintf(`
node: {id: client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
listeners:
  - {name: outbound, address: "unix://%s"}
xds: {pilot: "%s", services: [echo]}
`, filepath.Join(dir, "a.sock"), pilot["xds"]))
	health := func() string {
		h, err := endpointHealth(a.Ready.Admin, "echo")
		if err != nil {
			return err.Error()
		}
		return h[addr(b)]
	}
	waitUntil(t, "sidecar A has echo's endpoint", func() bool { return health() != "" })
	waitUntil(t, "both sidecars' streams open", func() bool { return statsOf(pilot["http"])["pilot.sessions"] >= 2 })
	waitUntil(t, "the scanner owns the address", func() bool { return statsOf(scanner["http"])["scanner.owned"] == 1 })

	b.Kill()
	waitUntil(t, "the dead sidecar marked down in sidecar A", func() bool { return health() == "marked down" })
	st := statsOf(scanner["http"])
	t.Logf("scanner: %d fast checks, %d checks, %d marked", st["scanner.fast_checks"], st["scanner.checks"], st["scanner.marked"])
	if st["scanner.fast_checks"] < 1 || st["scanner.marked"] != 1 {
		t.Fatalf("scanner stats %v: want a fast check and one mark", st)
	}
}
