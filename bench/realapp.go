package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/internal/proc"
)

// The real-app mode (`octomesh bench --realapp`): the Kitex example apps of
// examples/echo, each its own process, unpinned and with the Go runtime's
// defaults, as users run them; once calling each other directly and once
// through two sidecars with the example's configs:
//
//	direct: echo-client -UDS-> echo-server
//	mesh:   echo-client -UDS-> sidecar A -TCP-> sidecar B -UDS-> echo-server
//
// The load is the example client itself, closed loop with N callers
// (`echo-client -n 0 -duration D -c N -json`), which checks every answer.
const (
	RealAppDirect = "direct"
	RealAppMesh   = "mesh"
)

// RealAppConfig is a real-app run.
type RealAppConfig struct {
	// ClientBinary and ServerBinary are examples/echo/cmd/echo-client and
	// echo-server; ProxyBinary runs the sidecars (`ProxyBinary proxy
	// --config`: cmd/octomesh-proxy, or octomesh).
	ClientBinary, ServerBinary, ProxyBinary string
	// Callers is the example client's -c: concurrent callers, each with a
	// connection of the client's pool while its call is in flight.
	Callers int
	// Payload is the bytes of each request's payload.
	Payload int
	// Warmup is a client run of its own before each measured one, against
	// the same server and sidecars; Duration the measured client run.
	Warmup, Duration time.Duration
	// Repetitions of the pair direct, mesh (run in that order, alternating).
	Repetitions int
	Command     string
	// Log gets progress lines; nil discards them.
	Log io.Writer
}

func (c *RealAppConfig) check() error {
	switch {
	case c.ClientBinary == "" || c.ServerBinary == "" || c.ProxyBinary == "":
		return errors.New("bench: realapp: the echo client, echo server and sidecar binaries are all needed")
	case c.Callers < 1:
		return fmt.Errorf("bench: realapp: callers = %d, want at least 1", c.Callers)
	case c.Payload < 0 || c.Payload > maxFrame/2:
		return fmt.Errorf("bench: realapp: payload of %d bytes is out of range", c.Payload)
	case c.Duration <= 0:
		return fmt.Errorf("bench: realapp: duration %v must be positive", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("bench: realapp: warmup %v must not be negative", c.Warmup)
	case c.Repetitions < 1:
		return fmt.Errorf("bench: realapp: repetitions = %d, want at least 1", c.Repetitions)
	}
	return nil
}

// Estimate is how long RunRealApp will take, roughly.
func (c *RealAppConfig) Estimate() time.Duration {
	return time.Duration(2*c.Repetitions) * (c.Warmup + c.Duration + 2*time.Second)
}

// BuildRealApp builds the example client and server and the sidecar-only
// binary into dir with the go command (no race detector; the three at
// once), or takes them from $ECHO_CLIENT_BIN, $ECHO_SERVER_BIN and
// $OCTOMESH_PROXY_BIN.
func BuildRealApp(dir string, cfg *RealAppConfig) error {
	builds := []struct {
		dst            *string
		name, pkg, env string
	}{
		{&cfg.ClientBinary, "echo-client", "github.com/octomesh/octomesh/examples/echo/cmd/echo-client", "ECHO_CLIENT_BIN"},
		{&cfg.ServerBinary, "echo-server", "github.com/octomesh/octomesh/examples/echo/cmd/echo-server", "ECHO_SERVER_BIN"},
		{&cfg.ProxyBinary, "octomesh-proxy", "github.com/octomesh/octomesh/cmd/octomesh-proxy", "OCTOMESH_PROXY_BIN"},
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Go(func() {
			bin, err := proc.BuildPackage(dir, b.name, b.pkg, b.env, false)
			if err != nil {
				errs[i] = fmt.Errorf("bench: realapp: %w", err)
				return
			}
			*b.dst = bin
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunRealApp runs cfg.Repetitions pairs of measured runs, direct then
// mesh, each against a server (and sidecars) of its own, and returns the
// report.
func RunRealApp(ctx context.Context, cfg RealAppConfig) (*RealAppReport, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "omr")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if len(filepath.Join(dir, "a-00.sock")) > 107 {
		return nil, fmt.Errorf("bench: realapp: socket paths in %s are too long; set TMPDIR to a short directory", dir)
	}
	rep := &RealAppReport{
		Command: cfg.Command, Started: time.Now().UTC(), Host: hostInfo(),
		Callers: cfg.Callers, Payload: cfg.Payload, Warmup: cfg.Warmup.String(),
		Duration: cfg.Duration.String(), Repetitions: cfg.Repetitions,
	}
	started := time.Now()
	for i := 1; i <= cfg.Repetitions; i++ {
		for _, mode := range []string{RealAppDirect, RealAppMesh} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			run, err := runRealApp(ctx, &cfg, dir, mode, i)
			if err != nil {
				return nil, fmt.Errorf("bench: realapp: %s, repetition %d: %w", mode, i, err)
			}
			fmt.Fprintf(cfg.Log, "bench: realapp %-6s rep %d: %.0f req/s, p99 %.0f µs, CPU µs/req client %.1f server %.1f sidecars %.1f+%.1f\n",
				mode, i, run.Throughput, run.P99, run.ClientCPU, run.ServerCPU, run.SidecarACPU, run.SidecarBCPU)
			rep.Runs = append(rep.Runs, run)
		}
	}
	rep.Elapsed = time.Since(started).Round(time.Second).String()
	rep.summarize()
	return rep, nil
}

// realAppProcs are the long-lived processes of one measured run.
type realAppProcs struct {
	server *exec.Cmd
	done   chan struct{} // closed when the server exited
	a, b   *proc.Sidecar // mesh only
}

func (p *realAppProcs) stop(log io.Writer) {
	// The sidecars first, so that the server sees its connections close.
	for _, s := range []*proc.Sidecar{p.a, p.b} {
		if s == nil {
			continue
		}
		if err := s.Stop(); err != nil {
			fmt.Fprintf(log, "bench: realapp: sidecar exited: %v\n%s", err, s.Logs())
		}
	}
	if p.server != nil {
		_ = p.server.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.server.Process.Kill()
			<-p.done
		}
	}
}

func runRealApp(ctx context.Context, cfg *RealAppConfig, dir, mode string, rep int) (RealAppRun, error) {
	run := RealAppRun{Mode: mode, Repetition: rep}
	tag := fmt.Sprintf("%s-%d", mode, rep)
	appSock := filepath.Join(dir, "app-"+tag+".sock")
	var p realAppProcs
	defer p.stop(cfg.Log)

	var serverLog bytes.Buffer
	p.server = exec.Command(cfg.ServerBinary, "-socket", appSock, "-name", "echo-"+tag)
	p.server.Stderr = &serverLog
	p.server.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.server.Start(); err != nil {
		p.server = nil
		return run, fmt.Errorf("starting the echo server: %w", err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.server.Wait(); close(p.done) }()
	if err := waitDial("unix", appSock, 30*time.Second, p.done); err != nil {
		return run, fmt.Errorf("echo server: %v\n%s", err, serverLog.String())
	}
	target := appSock
	if mode == RealAppMesh {
		var err error
		if target, err = p.startSidecars(cfg, dir, tag, appSock); err != nil {
			return run, err
		}
	}

	// Ids: the warmup's from 0, the measured run's from 1<<40, so that the
	// server's count of repeated ids stays a check of the mesh.
	if cfg.Warmup > 0 {
		if _, _, err := runClient(ctx, cfg, target, cfg.Warmup, 0); err != nil {
			return run, fmt.Errorf("warmup: %w", err)
		}
	}
	pids := []int{p.server.Process.Pid}
	if p.a != nil {
		pids = append(pids, p.a.PID(), p.b.PID())
	}
	before, beforeCPUs, err := sampleRealApp(pids)
	if err != nil {
		return run, err
	}
	t0 := time.Now()
	res, clientCPU, err := runClient(ctx, cfg, target, cfg.Duration, 1<<40)
	window := time.Since(t0)
	if err != nil {
		return run, err
	}
	after, afterCPUs, err := sampleRealApp(pids)
	if err != nil {
		return run, err
	}
	run.fill(res, clientCPU, window, deltas(before, after), afterCPUs.busy-beforeCPUs.busy, afterCPUs.total-beforeCPUs.total)
	return run, nil
}

// startSidecars starts B beside the server and A beside the client with
// the configs of examples/echo/sidecar-server.yaml and
// sidecar-client.yaml, and returns A's socket.
func (p *realAppProcs) startSidecars(cfg *RealAppConfig, dir, tag, appSock string) (string, error) {
	start := func(role, yaml string) (*proc.Sidecar, error) {
		file := filepath.Join(dir, tag+"-"+role+".yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			return nil, err
		}
		s, err := proc.StartSidecar(cfg.ProxyBinary, file, nil)
		if err != nil {
			return nil, fmt.Errorf("sidecar %s: %w", role, err)
		}
		fmt.Fprintf(cfg.Log, "bench: realapp %s: sidecar %s pid %d\n", tag, role, s.PID())
		return s, nil
	}
	var err error
	if p.b, err = start("B", fmt.Sprintf(realAppBConfig, tag, appSock)); err != nil {
		return "", err
	}
	inbound := p.b.Ready.Listeners["inbound"]
	if inbound == "" {
		return "", fmt.Errorf("sidecar B reported no inbound listener: %+v", p.b.Ready)
	}
	sock := filepath.Join(dir, "a-"+tag+".sock")
	if p.a, err = start("A", fmt.Sprintf(realAppAConfig, tag, sock, inbound)); err != nil {
		return "", err
	}
	return sock, nil
}

// The sidecars' configs are examples/echo's, with the run's addresses.
const (
	realAppBConfig = `# sidecar B beside the echo server (examples/echo/sidecar-server.yaml)
node: {id: echo-server-%s, app: echo, zone: local}
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
	realAppAConfig = `# sidecar A beside the echo client (examples/echo/sidecar-client.yaml)
node: {id: echo-client-%s, app: echo-client, zone: local}
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
    request_timeout: 3s
    endpoints:
      - {address: "%s", zone: local}
`
)

// runClient runs the example client for d against the Unix socket target
// and returns its result and the CPU time it used in all (from wait4's
// rusage: its whole life, start-up included).
func runClient(ctx context.Context, cfg *RealAppConfig, target string, d time.Duration, firstID int64) (clientResult, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.ClientBinary, "-socket", target, "-n", "0", "-duration", d.String(),
		"-c", fmt.Sprint(cfg.Callers), "-size", fmt.Sprint(cfg.Payload), "-first-id", fmt.Sprint(firstID), "-json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var cpu time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	res, perr := parseClientResult(stdout.Bytes())
	if perr != nil {
		return res, cpu, fmt.Errorf("echo-client: %v (exit: %v)\n%s", perr, err, stderr.String())
	}
	if err != nil {
		return res, cpu, fmt.Errorf("echo-client: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return res, cpu, nil
}

// machineCPU is the busy and total ticks of all CPUs from /proc/stat.
type machineCPU struct{ busy, total uint64 }

// sampleRealApp reads the processes' CPU and the machine's.
func sampleRealApp(pids []int) ([]procSample, machineCPU, error) {
	var m machineCPU
	out := make([]procSample, len(pids))
	for i, pid := range pids {
		s, err := readProc(pid)
		if err != nil {
			return nil, m, err
		}
		out[i] = s
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, m, err
	}
	if m, err = parseMachineCPU(b); err != nil {
		return nil, m, err
	}
	return out, m, nil
}

// parseMachineCPU reads the "cpu" line (all CPUs) of /proc/stat: every
// field is time, idle and iowait are not busy.
func parseMachineCPU(stat []byte) (machineCPU, error) {
	var m machineCPU
	for _, line := range strings.Split(string(stat), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		for k, v := range f[1:] {
			x, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return m, fmt.Errorf("/proc/stat: cpu field %d: %v", k+1, err)
			}
			m.total += x
			if k != 3 && k != 4 { // idle, iowait
				m.busy += x
			}
		}
		return m, nil
	}
	return m, errors.New("/proc/stat: no cpu line")
}

// deltas are the CPU ticks each process used between two samples.
func deltas(before, after []procSample) []uint64 {
	out := make([]uint64, len(before))
	for i := range before {
		out[i] = after[i].cpuTicks - before[i].cpuTicks
	}
	return out
}
