package bench

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/internal/proc"
)

// Topologies, each started and stopped by the benchmark, every process
// separate. The load generator always dials a Unix socket except in T0-TCP.
const (
	// T0UDS: load generator -UDS-> server. The floor for everything else.
	T0UDS = "T0-UDS"
	// T0TCP: load generator -TCP (loopback)-> server.
	T0TCP = "T0-TCP"
	// T1: load generator -UDS-> sidecar -UDS-> server (the server side of
	// the mesh: the app listens on a Unix socket).
	T1 = "T1"
	// T2: load generator -UDS-> sidecar A -TCP-> sidecar B -UDS-> server:
	// the real mesh path.
	T2 = "T2"
	// T1HAProxy: load generator -UDS-> HAProxy (mode tcp) -UDS-> server: an
	// L4 proxy from the distribution in T1's place, as a reference.
	T1HAProxy = "T1-HAProxy"
	// T2HAProxy: load generator -UDS-> HAProxy A -TCP (loopback)-> HAProxy
	// B -UDS-> server: T2's path with HAProxy in both sidecars' places, as
	// a reference.
	T2HAProxy = "T2-HAProxy"
	// T2Governed: T2 with every governance policy configured on both
	// sidecars and none triggering (governedRoute, governedCluster): what
	// the policies cost when all is well.
	T2Governed = "T2-Governed"
	// T2MTLS: T2 with strict mutual TLS between the sidecars (certificates
	// from `octomesh ca issue`): what TLS costs (docs/security.md).
	T2MTLS = "T2-mTLS"
)

// AllTopologies in report order.
var AllTopologies = []string{T0UDS, T0TCP, T1, T2, T2MTLS, T2Governed, T1HAProxy, T2HAProxy}

//go:embed install-haproxy.sh
var installHAProxyScript []byte

// Pinning says which CPU each role runs on, and how it is scheduled.
type Pinning struct {
	Enabled bool `json:"enabled"`
	// ProxyCPU runs the sidecars and HAProxy; LoadCPU the load generator
	// and the echo server.
	ProxyCPU int    `json:"proxy_cpu"`
	LoadCPU  int    `json:"load_cpu"`
	How      string `json:"how"`
	// Realtime runs every process the benchmark starts under SCHED_FIFO,
	// so that a shared machine's other work cannot delay them.
	Realtime bool `json:"realtime"`
	// Observed is, for each process, the CPUs its threads may run on and
	// its scheduling policy, read back from /proc after it started.
	Observed map[string]string `json:"observed"`
}

// choosePinning pins when this process may use at least two CPUs: the
// last one for proxies, the first for the rest.
func choosePinning(realtime bool) Pinning {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() < 2 {
		return Pinning{How: "not pinned: fewer than two CPUs available", Realtime: realtime, Observed: map[string]string{}}
	}
	var cpus []int
	for i := 0; i < 1024; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return Pinning{
		Enabled: true, LoadCPU: cpus[0], ProxyCPU: cpus[len(cpus)-1], Realtime: realtime,
		How: "sched_setaffinity on the thread that forks each child, so the child starts pinned " +
			"and its Go runtime sets GOMAXPROCS=1",
		Observed: map[string]string{},
	}
}

// startOn runs start (which forks a child) on a thread pinned to cpu and
// with the children's scheduling, so the child inherits both from its first
// instruction. The thread gets its own settings back before it returns to
// the runtime's pool: it must live on, because a child started with
// Pdeathsig (internal/proc's sidecars) is killed when the thread that
// forked it exits.
func (p Pinning) startOn(cpu int, start func() error) error {
	if !p.Enabled && p.schedAttr() == nil {
		return start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restore, err := p.setThread(cpu)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = start()
		if rerr := restore(); rerr != nil {
			// Keep the thread locked, and so out of the pool, for good.
			errc <- errors.Join(err, rerr)
			select {} // the thread must not exit: see above
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// setThread pins the calling thread to cpu and sets its scheduling (both
// are per thread on Linux and inherited by a forked child), returning how
// to undo it.
func (p Pinning) setThread(cpu int) (restore func() error, err error) {
	var own unix.CPUSet
	if err := unix.SchedGetaffinity(0, &own); err != nil {
		return nil, fmt.Errorf("bench: reading CPU affinity: %w", err)
	}
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return nil, fmt.Errorf("bench: reading the scheduling policy: %w", err)
	}
	restore = func() error {
		err1 := unix.SchedSetaffinity(0, &own)
		err2 := unix.SchedSetAttr(0, attr, 0)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("bench: restoring the thread's CPU affinity and scheduling: %w", err)
		}
		return nil
	}
	if p.Enabled {
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return nil, fmt.Errorf("bench: pinning to CPU %d: %w", cpu, err)
		}
	}
	if want := p.schedAttr(); want != nil {
		if err := unix.SchedSetAttr(0, want, 0); err != nil {
			restore()
			return nil, fmt.Errorf("bench: setting %s: %w", p.Scheduling(), err)
		}
	}
	return restore, nil
}

// schedAttr is the scheduling the children get, nil to leave it alone.
func (p Pinning) schedAttr() *unix.SchedAttr {
	if p.Realtime {
		return &unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 1}
	}
	return nil
}

// Scheduling describes the children's scheduling for the report.
func (p Pinning) Scheduling() string {
	if p.Realtime {
		return "SCHED_FIFO priority 1 (--realtime): other processes cannot delay the benchmark's, " +
			"but two of them on one CPU no longer preempt each other on wake-up"
	}
	return "the default (SCHED_OTHER, nice 0): other processes on the machine share the CPUs"
}

func (p Pinning) observe(role string, pid int) {
	p.Observed[role] = fmt.Sprintf("CPU %s, %s", cpusAllowed(pid), schedPolicy(pid))
}

// measured is a proxy process whose CPU, memory and syscalls are reported.
type measured struct {
	Role string
	PID  int
}

// topology is one started topology.
type topology struct {
	name   string
	target string // where the load generator connects
	procs  []measured
	stop   []func() // in reverse order of start
}

func (t *topology) close() {
	for i := len(t.stop) - 1; i >= 0; i-- {
		t.stop[i]()
	}
	t.stop = nil
}

// env is everything a benchmark started: the server, the topologies.
type env struct {
	bin      string
	dir      string // short temporary directory for sockets and configs
	pin      Pinning
	log      io.Writer
	server   *child
	appUnix  string // the server's Unix socket path
	appTCP   string // the server's TCP address, "" when it has none
	topos    map[string]*topology
	skipped  map[string]string // topology -> why it did not run
	notes    []string
	external bool // the server is --server-cmd
	// noHAProxy is findHAProxy's answer, asked once for both HAProxy
	// topologies; nil until asked.
	noHAProxy *string
}

// child is a process of ours (echo server, load generator): it exits when
// its stdin closes, so it cannot outlive the benchmark even if the
// benchmark is killed.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader // everything the child wrote, then EOF
	out    *os.File
	stderr *proc.SyncBuffer
	done   chan struct{}
	err    error
}

func startChild(pin Pinning, cpu int, name string, args ...string) (*child, error) {
	c := &child{cmd: exec.Command(name, args...), stderr: &proc.SyncBuffer{}, done: make(chan struct{})}
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	// A pipe of our own, not StdoutPipe: Wait closes that one as soon as
	// the child exits, losing what it wrote last but we had not read yet.
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c.cmd.Stdout, c.out, c.stdout = wr, rd, bufio.NewReader(rd)
	c.cmd.Stderr = c.stderr
	err = pin.startOn(cpu, c.cmd.Start)
	wr.Close() // the child has its own copy
	if err != nil {
		rd.Close()
		return nil, err
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop closes stdin, then signals, then kills, waiting at most a few
// seconds in all.
func (c *child) stop() error {
	defer c.out.Close()
	c.stdin.Close()
	select {
	case <-c.done:
		return c.err
	case <-time.After(2 * time.Second):
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return c.err
}

// serverReady is the line `octomesh bench server` prints once it listens.
type serverReady struct {
	Unix string `json:"unix"`
	TCP  string `json:"tcp,omitempty"`
}

func newEnv(cfg *Config) (*env, error) {
	dir, err := os.MkdirTemp("", "omb")
	if err != nil {
		return nil, err
	}
	e := &env{bin: cfg.Binary, dir: dir, pin: choosePinning(cfg.Realtime), log: cfg.Log,
		topos: map[string]*topology{}, skipped: map[string]string{}}
	e.appUnix = filepath.Join(dir, "app.sock")
	if len(e.appUnix) > 107 {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: socket path %s is too long; set TMPDIR to a short directory", e.appUnix)
	}
	if cfg.ServerCmd != "" {
		err = e.startExternalServer(cfg.ServerCmd)
	} else {
		err = e.startServer()
	}
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) startServer() error {
	c, err := startChild(e.pin, e.pin.LoadCPU, e.bin, "bench", "server", "--parent-pipe",
		"--unix", e.appUnix, "--tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: starting the echo server: %w", err)
	}
	e.server = c
	line, err := readLineTimeout(c.stdout, 30*time.Second)
	var r serverReady
	if err == nil {
		err = json.Unmarshal([]byte(line), &r)
	}
	if err != nil {
		c.stop()
		e.server = nil
		return fmt.Errorf("bench: echo server did not start: %v\n%s", err, c.stderr.String())
	}
	e.appTCP = strings.TrimPrefix(r.TCP, "tcp://")
	e.pin.observe("server", c.pid())
	return nil
}

// startExternalServer runs the --server-cmd template with {socket}
// replaced, and waits until the socket accepts connections.
func (e *env) startExternalServer(tmpl string) error {
	args := strings.Fields(strings.ReplaceAll(tmpl, "{socket}", e.appUnix))
	if len(args) == 0 {
		return errors.New("bench: --server-cmd is empty")
	}
	c, err := startChild(e.pin, e.pin.LoadCPU, args[0], args[1:]...)
	if err != nil {
		return fmt.Errorf("bench: starting %q: %w", tmpl, err)
	}
	e.server = c
	e.external = true
	go io.Copy(io.Discard, c.stdout)
	if err := waitDial("unix", e.appUnix, 30*time.Second, c.done); err != nil {
		return fmt.Errorf("bench: server %q: %v\n%s", tmpl, err, c.stderr.String())
	}
	e.pin.observe("server", c.pid())
	e.notes = append(e.notes, "server: "+tmpl)
	return nil
}

func (e *env) close() {
	for _, t := range e.topos {
		t.close()
	}
	if e.server != nil {
		e.server.stop()
	}
	os.RemoveAll(e.dir)
}

// start brings up the named topology, or records why it cannot run.
func (e *env) start(name string, installHAProxy bool) error {
	t := &topology{name: name}
	var err error
	switch name {
	case T0UDS:
		t.target = "unix://" + e.appUnix
	case T0TCP:
		if e.appTCP == "" {
			e.skipped[name] = "the server given with --server-cmd listens on a Unix socket only"
			return nil
		}
		t.target = "tcp://" + e.appTCP
	case T1:
		err = e.startT1(t)
	case T2:
		err = e.startT2(t, "", "", nil)
	case T2MTLS:
		var sec *t2Security
		if sec, err = e.issueCertificates(); err == nil {
			err = e.startT2(t, "", "", sec)
		}
	case T2Governed:
		err = e.startT2(t, governedRoute, governedCluster, nil)
	case T1HAProxy, T2HAProxy:
		if e.noHAProxy == nil {
			why := findHAProxy(e.dir, installHAProxy, e.log)
			e.noHAProxy = &why
		}
		if *e.noHAProxy != "" {
			e.skipped[name] = *e.noHAProxy
			return nil
		}
		if name == T1HAProxy {
			err = e.startT1HAProxy(t)
		} else {
			err = e.startT2HAProxy(t)
		}
	default:
		return fmt.Errorf("bench: unknown topology %q (known: %s)", name, strings.Join(AllTopologies, ", "))
	}
	if err != nil {
		t.close()
		return fmt.Errorf("bench: starting %s: %w", name, err)
	}
	e.topos[name] = t
	return nil
}

// sidecar writes a config and starts `octomesh proxy` with it, pinned.
func (e *env) sidecar(t *topology, role, yaml string) (*proc.Sidecar, error) {
	file := filepath.Join(e.dir, t.name+"-"+role+".yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	var s *proc.Sidecar
	err := e.pin.startOn(e.pin.ProxyCPU, func() error {
		var err error
		s, err = proc.StartSidecar(e.bin, file, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.stop = append(t.stop, func() {
		if err := s.Stop(); err != nil {
			fmt.Fprintf(e.log, "bench: sidecar %s exited: %v\n%s", role, err, s.Logs())
		}
	})
	t.procs = append(t.procs, measured{Role: role, PID: s.PID()})
	e.pin.observe(role, s.PID())
	fmt.Fprintf(e.log, "bench: %s pid %d, admin %s\n", role, s.PID(), s.Ready.Admin)
	return s, nil
}

// The sidecar configs follow examples/echo: the client side routes service
// echo to a cluster of 2 connections per endpoint, the server side sends
// everything to the app over 8 connections (a Kitex server answers the
// requests of one connection in order).
const t1Config = `# T1: load generator -UDS-> this sidecar -UDS-> echo server
node: {id: bench-t1, app: bench}
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: unix://%s
    routes:
      - {service: echo, cluster: local-app}
clusters:
  - name: local-app
    connections_per_endpoint: 8
    endpoints:
      - {address: "unix://%s"}
`

const t2BConfig = `# T2 sidecar B, beside the server: TCP from sidecar A -> UDS to the echo server
node: {id: bench-t2-b, app: echo}
admin: {address: "127.0.0.1:0"}
listeners:
  - name: inbound
    address: "127.0.0.1:0"
    routes:
      - {cluster: local-app}
clusters:
  - name: local-app
    connections_per_endpoint: 8
    endpoints:
      - {address: "unix://%s"}
`

const t2AConfig = `# T2 sidecar A, beside the client: UDS from the load generator -> TCP to sidecar B
node: {id: bench-t2-a, app: bench}
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: unix://%s
    routes:
      - {service: echo, cluster: echo}
clusters:
  - name: echo
    balancer: round_robin
    connections_per_endpoint: 2
    endpoints:
      - {address: "%s"}
`

func (e *env) startT1(t *topology) error {
	sock := filepath.Join(e.dir, "t1.sock")
	if _, err := e.sidecar(t, "sidecar", fmt.Sprintf(t1Config, sock, e.appUnix)); err != nil {
		return err
	}
	t.target = "unix://" + sock
	return nil
}

// governedRoute and governedCluster give T2-Governed's routes and clusters
// every policy, none of which triggers: the route's own timeout (added to
// each call, which carries none, by sidecar A), a retry policy (each call
// then owns a copy of its frame), a rate limit far above the rate, faults
// at 0%, and a tag route ahead of the plain one on A; a circuit breaker far
// above the concurrency, a retry budget and outlier detection. A mirror at
// 0% would not be built, so it is left out.
const (
	governedRoute   = `, timeout: 3s, retry: {attempts: 2, per_try_timeout: 2s}, rate_limit: {requests_per_second: 10000000, per_caller: true}, fault: {abort: {percent: 0}, delay: {percent: 0, duration: 1ms}}`
	governedCluster = `    circuit_breaker: {max_requests: 100000, max_pending: 10000, max_retries: 1000}
    retry_budget: {percent: 20}
    outlier_detection: {interval: 1s, failure_percent: 50, latency_factor: 10}
`
)

// t2Security is T2-mTLS's: the identity section of each sidecar.
type t2Security struct{ a, b string }

// issueCertificates writes a certificate, key and bundle for each T2
// sidecar with `octomesh ca issue` (one root, in the run's directory).
func (e *env) issueCertificates() (*t2Security, error) {
	ids := map[string]string{}
	for _, app := range []string{"bench", "echo"} {
		out := filepath.Join(e.dir, "mtls-"+app)
		cmd := exec.Command(e.bin, "ca", "issue", "--data-dir", filepath.Join(e.dir, "mtls-ca"), "--app", app, "--out", out, "--lifetime", "24h")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("octomesh ca issue: %v: %s", err, b)
		}
		ids[app] = fmt.Sprintf("identity: {cert_file: %q, key_file: %q, bundle_file: %q}\n",
			filepath.Join(out, "cert.pem"), filepath.Join(out, "key.pem"), filepath.Join(out, "bundle.pem"))
	}
	return &t2Security{a: ids["bench"], b: ids["echo"]}, nil
}

// startT2 starts T2's two sidecars, with route and cluster settings added
// to both (T2-Governed) or none, and with strict mutual TLS between them
// when sec is set (T2-mTLS).
func (e *env) startT2(t *topology, route, cluster string, sec *t2Security) error {
	bcfg, acfg := fmt.Sprintf(t2BConfig, e.appUnix), ""
	if route != "" {
		bcfg = strings.Replace(bcfg, "{cluster: local-app}", "{cluster: local-app"+route+"}", 1) + cluster
	}
	if sec != nil {
		bcfg = strings.Replace(bcfg, "    address: \"127.0.0.1:0\"\n", "    address: \"127.0.0.1:0\"\n    tls: {mode: strict}\n", 1) + sec.b
	}
	b, err := e.sidecar(t, "sidecar-B", bcfg)
	if err != nil {
		return err
	}
	inbound := b.Ready.Listeners["inbound"]
	if inbound == "" {
		return fmt.Errorf("sidecar B reported no inbound listener: %+v", b.Ready)
	}
	sock := filepath.Join(e.dir, strings.ToLower(t.name)+".sock")
	acfg = fmt.Sprintf(t2AConfig, sock, inbound)
	if sec != nil {
		acfg = strings.Replace(acfg, "    balancer: round_robin\n", "    balancer: round_robin\n    tls: {mode: strict}\n", 1) + sec.a
	}
	if route != "" {
		acfg = strings.Replace(acfg, "      - {service: echo, cluster: echo}", "      - {service: echo, tags: {lane: canary}, cluster: echo}\n      - {service: echo, cluster: echo"+route+"}", 1) + cluster
	}
	if _, err := e.sidecar(t, "sidecar-A", acfg); err != nil {
		return err
	}
	// Report A first: it is the hop the client sees.
	t.procs[0], t.procs[1] = t.procs[1], t.procs[0]
	t.target = "unix://" + sock
	return nil
}

// HAProxy in TCP mode, one thread, listening on bind and relaying to
// server (each "unix@path" or "host:port"). It relays bytes: one server
// connection per client connection, no TTHeader.
const haproxyConfig = `global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 1s
    timeout client 1m
    timeout server 1m
frontend bench
    bind %s
    default_backend app
backend app
    server app %s
`

// findHAProxy returns "" when haproxy is on the PATH (installing it with
// install-haproxy.sh first when allowed), else why the HAProxy topologies
// cannot run.
func findHAProxy(dir string, install bool, log io.Writer) string {
	if _, err := exec.LookPath("haproxy"); err == nil {
		return ""
	}
	if !install {
		return "haproxy is not installed (bench/install-haproxy.sh installs it)"
	}
	script := filepath.Join(dir, "install-haproxy.sh")
	if err := os.WriteFile(script, installHAProxyScript, 0o755); err != nil {
		return err.Error()
	}
	fmt.Fprintln(log, "bench: haproxy is missing; running install-haproxy.sh")
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = log, log
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "installing haproxy: " + err.Error()
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return "haproxy could not be installed: " + err.Error()
		}
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		return "installing haproxy took over 3 minutes"
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		return "haproxy is still not on the PATH after install-haproxy.sh"
	}
	return ""
}

// haproxy writes a config and starts HAProxy with it, pinned like the
// sidecars, and waits until it accepts connections on network, addr.
func (e *env) haproxy(t *topology, role, config, network, addr string) error {
	file := filepath.Join(e.dir, role+".cfg")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("haproxy", "-db", "-f", file)
	logs := &proc.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := e.pin.startOn(e.pin.ProxyCPU, cmd.Start); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	if err := waitDial(network, addr, 10*time.Second, done); err != nil {
		stop()
		return fmt.Errorf("%s: %v\n%s", role, err, logs.String())
	}
	t.stop = append(t.stop, stop)
	t.procs = append(t.procs, measured{Role: role, PID: cmd.Process.Pid})
	e.pin.observe(role, cmd.Process.Pid)
	return nil
}

// noteHAProxy records which HAProxy ran topo, and how it differs from the
// sidecars.
func (e *env) noteHAProxy(topo, how string) {
	out, _ := exec.Command("haproxy", "-v").Output()
	if v, _, _ := strings.Cut(string(out), "\n"); v != "" {
		e.notes = append(e.notes, topo+": "+strings.TrimSpace(v)+", "+how)
	}
}

func (e *env) startT1HAProxy(t *topology) error {
	sock := filepath.Join(e.dir, "hap.sock")
	if err := e.haproxy(t, "haproxy", fmt.Sprintf(haproxyConfig, "unix@"+sock, "unix@"+e.appUnix), "unix", sock); err != nil {
		return err
	}
	t.target = "unix://" + sock
	e.noteHAProxy(T1HAProxy, "nbthread 1, mode tcp, Unix sockets on both sides like T1; unlike the sidecar it "+
		"opens one server connection per client connection and does not parse TTHeader")
	return nil
}

func (e *env) startT2HAProxy(t *topology) error {
	// HAProxy cannot bind port 0: take a port the kernel has free, and
	// once more if another process bound it before HAProxy did.
	var b string
	var err error
	for try := 1; ; try++ {
		if b, err = freeLoopbackPort(); err != nil {
			return err
		}
		err = e.haproxy(t, "haproxy-B", fmt.Sprintf(haproxyConfig, b, "unix@"+e.appUnix), "tcp", b)
		if err == nil {
			break
		}
		if try == 2 {
			return err
		}
		fmt.Fprintf(e.log, "bench: %v\nbench: trying haproxy-B on another port\n", err)
	}
	sock := filepath.Join(e.dir, "t2h.sock")
	if err := e.haproxy(t, "haproxy-A", fmt.Sprintf(haproxyConfig, "unix@"+sock, b), "unix", sock); err != nil {
		return err
	}
	// Report A first: it is the hop the client sees.
	t.procs[0], t.procs[1] = t.procs[1], t.procs[0]
	t.target = "unix://" + sock
	e.noteHAProxy(T2HAProxy, "two processes like T1-HAProxy's, TCP on loopback between them like T2; unlike "+
		"sidecar A, HAProxy A opens one connection to B per client connection instead of sharing 2")
	return nil
}

// freeLoopbackPort returns a loopback address whose port was free a moment
// ago.
func freeLoopbackPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// waitDial waits until addr accepts a connection, or exited closes.
func waitDial(network, addr string, limit time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before listening")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s: %v", addr, limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readLineTimeout reads one line from r, giving up after d.
func readLineTimeout(r *bufio.Reader, d time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := r.ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case x := <-ch:
		return x.s, x.err
	case <-time.After(d):
		return "", fmt.Errorf("no answer in %s", d)
	}
}
