package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is a benchmark: which topologies, payloads and load points, how
// long, how often.
type Config struct {
	// Binary is the octomesh binary: it runs the sidecars, the echo server
	// (`octomesh bench server`) and the load generator (`octomesh bench
	// load`), each its own process.
	Binary     string
	Topologies []string
	Payloads   []int
	// Rates are the open-loop points (requests per second); Closed the
	// closed-loop points (callers). Each is run against every topology.
	Rates  []float64
	Closed []int
	// Connections carry an open-loop load (closed loop: one per caller).
	Connections int
	Warmup      time.Duration
	Duration    time.Duration
	Repetitions int
	// MaxRequests caps the requests of one measured window (0: none).
	MaxRequests int64
	// ServerCmd replaces the built-in echo server with another, e.g. a
	// Kitex echo server; {socket} is replaced by the Unix socket path it
	// must listen on.
	ServerCmd string
	// Realtime runs every process the benchmark starts under SCHED_FIFO
	// (root only), so that a shared machine's other work cannot delay
	// them; it takes the CPUs from that work while a run saturates them.
	Realtime bool
	// InstallHAProxy lets T1-HAProxy and T2-HAProxy run
	// bench/install-haproxy.sh when haproxy is missing.
	InstallHAProxy bool
	// Command is the command line, for the report.
	Command string
	// Log gets progress lines; nil discards them.
	Log io.Writer
}

// StandardMatrix is the matrix `octomesh bench --matrix` runs.
func StandardMatrix() Config {
	return Config{
		Topologies:  slices.Clone(AllTopologies),
		Payloads:    []int{128, 1024},
		Rates:       []float64{1000, 5000, 10000},
		Closed:      []int{50},
		Connections: 16,
		Warmup:      time.Second,
		Duration:    10 * time.Second,
		Repetitions: 3,
		MaxRequests: 2_000_000,
	}
}

// QuickMatrix is StandardMatrix with one-second runs and one repetition.
func QuickMatrix() Config {
	c := StandardMatrix()
	c.Warmup = 200 * time.Millisecond
	c.Duration = time.Second
	c.Repetitions = 1
	return c
}

// point is one load point: a rate or a number of callers.
type point struct {
	rate    float64
	callers int
}

func (p point) String() string {
	if p.callers > 0 {
		return fmt.Sprintf("closed %d", p.callers)
	}
	if p.rate >= 1000 && math.Mod(p.rate, 1000) == 0 {
		return fmt.Sprintf("%gk req/s", p.rate/1000)
	}
	return fmt.Sprintf("%g req/s", p.rate)
}

func (c *Config) points() []point {
	var ps []point
	for _, r := range c.Rates {
		ps = append(ps, point{rate: r})
	}
	for _, n := range c.Closed {
		ps = append(ps, point{callers: n})
	}
	return ps
}

const (
	drain       = 3 * time.Second
	runOverhead = 200 * time.Millisecond // load process start, connections, perf attach, drain
)

// Estimate is how long Run will take, roughly.
func (c *Config) Estimate() time.Duration {
	runs := len(c.Topologies) * len(c.Payloads) * len(c.points()) * c.Repetitions
	return time.Duration(runs)*(c.Warmup+c.Duration+runOverhead) + 5*time.Second
}

// minWarmup keeps the syscall window (the warmup's second half) long
// enough to hold requests at the rates the benchmark runs.
const minWarmup = 100 * time.Millisecond

func (c *Config) check() error {
	switch {
	case c.Binary == "":
		return errors.New("bench: no octomesh binary")
	case len(c.Topologies) == 0 || len(c.Payloads) == 0 || len(c.points()) == 0:
		return errors.New("bench: nothing to run: give topologies, payloads and rates or closed-loop callers")
	case c.Repetitions < 1:
		return errors.New("bench: repetitions must be at least 1")
	case c.Duration <= 0:
		return errors.New("bench: duration must be positive")
	case c.Warmup < minWarmup:
		return fmt.Errorf("bench: warmup %v is too short: at least %v (syscalls are counted in its second half)", c.Warmup, minWarmup)
	case c.Connections < 1:
		return errors.New("bench: connections must be at least 1")
	}
	for _, t := range c.Topologies {
		if !slices.Contains(AllTopologies, t) {
			return fmt.Errorf("bench: unknown topology %q (known: %s)", t, strings.Join(AllTopologies, ", "))
		}
	}
	for _, p := range c.Payloads {
		if p < 0 || p > maxFrame/2 {
			return fmt.Errorf("bench: payload of %d bytes is out of range", p)
		}
	}
	return nil
}

// Run starts the topologies, runs every load point against each, stops
// everything, and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	started := time.Now()
	e, err := newEnv(&cfg)
	if err != nil {
		return nil, err
	}
	defer e.close()
	for _, t := range cfg.Topologies {
		if err := e.start(t, cfg.InstallHAProxy); err != nil {
			return nil, err
		}
		if why, ok := e.skipped[t]; ok {
			fmt.Fprintf(cfg.Log, "bench: skipping %s: %s\n", t, why)
		}
	}
	rep := newReport(&cfg, e, started)
	events := perfEvents()
	if _, err := exec.LookPath("perf"); err != nil {
		events = nil
	}
	points := cfg.points()
	total := 0
	for _, t := range cfg.Topologies {
		if e.topos[t] != nil {
			total++
		}
	}
	total *= cfg.Repetitions * len(cfg.Payloads) * len(points)
	type collecting struct {
		run     int
		collect func(*RunResult) error
	}
	var pending []collecting
	defer func() { // only when returning early: the counts are lost
		for _, p := range pending {
			p.collect(nil)
		}
	}()
	// flush fills in the syscall counts of all runs but the last keep.
	flush := func(keep int) error {
		for len(pending) > keep {
			p := pending[0]
			pending = pending[1:]
			if err := p.collect(&rep.Runs[p.run]); err != nil {
				return fmt.Errorf("bench: syscall counts of run %d: %w", p.run+1, err)
			}
		}
		return nil
	}
	n := 0
	for r := 1; r <= cfg.Repetitions; r++ {
		// Alternate the order of topologies between repetitions, so that
		// none is always measured first (or last) at a load point.
		order := slices.Clone(cfg.Topologies)
		if r%2 == 0 {
			slices.Reverse(order)
		}
		for _, size := range cfg.Payloads {
			for _, p := range points {
				for _, name := range order {
					t := e.topos[name]
					if t == nil {
						continue
					}
					if err := ctx.Err(); err != nil {
						return nil, err
					}
					n++
					res, collect, err := e.runOne(ctx, &cfg, t, size, p, r, &events)
					if err != nil {
						return nil, fmt.Errorf("bench: %s, %d B, %s, repetition %d: %w", name, size, p, r, err)
					}
					pending = append(pending, collecting{len(rep.Runs), collect})
					fmt.Fprintf(cfg.Log, "bench: [%d/%d %s] rep %d %-10s %5d B %-13s p50 %7.1fµs p99 %8.1fµs %9.0f req/s  errors %d%s\n",
						n, total, time.Since(started).Round(time.Second), r, name, size, p,
						res.Latency.P50, res.Latency.P99, res.Throughput, res.Errors, procLine(res))
					rep.Runs = append(rep.Runs, res)
					if err := flush(1); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if err := flush(0); err != nil {
		return nil, err
	}
	rep.SyscallMethod = syscallMethodText(events != nil)
	rep.Pinning = e.pin
	rep.finish()
	return rep, nil
}

func procLine(r RunResult) string {
	var b strings.Builder
	for _, p := range r.Procs {
		fmt.Fprintf(&b, "  %s %.1fµs/req", p.Role, p.CPUPerRequest)
	}
	return b.String()
}

func syscallMethodText(perf bool) string {
	if perf {
		return "perf stat -e raw_syscalls:sys_enter (plus syscalls:sys_enter_<name> for the breakdown), " +
			"attached to each proxy process and enabled only in the second half of each run's warmup, under the same load: " +
			"counting slows a saturated sidecar by about a quarter, so it is kept out of the measured window; every syscall of every thread"
	}
	return "/proc/PID/io syscr+syscw: read- and write-type syscalls only (perf is not available), " +
		"a lower bound that misses epoll, futex and the rest"
}

// runOne runs the load generator once against t and collects what the
// proxies spent in the measured window.
//
// perf takes a second to exit once told to, so the syscall counts are not
// in the result yet: collect, called later, waits for them and fills them
// in, while the next runs go on (collect(nil) just ends perf).
func (e *env) runOne(ctx context.Context, cfg *Config, t *topology, size int, p point, rep int, events *[]string) (
	res RunResult, collect func(*RunResult) error, err error) {
	res = RunResult{Topology: t.name, Rep: rep, Point: p.String(), Payload: size}
	var counters []*syscallCounter
	defer func() {
		if collect == nil {
			for _, c := range counters {
				c.kill()
			}
		}
	}()
	if *events != nil {
		for _, m := range t.procs {
			c, err := startSyscallCounter(m.PID, e.dir, *events, func(cmd *exec.Cmd) error {
				return e.pin.startOn(e.pin.LoadCPU, cmd.Start)
			})
			if err != nil {
				fmt.Fprintf(e.log, "bench: perf stat does not work here (%v); counting syscalls from /proc/PID/io instead\n", err)
				*events = nil
				for _, c := range counters {
					c.kill()
				}
				counters = nil
				break
			}
			counters = append(counters, c)
		}
	}

	args := []string{"bench", "load", "--parent-pipe", "--target", t.target, "--payload", strconv.Itoa(size),
		"--warmup", cfg.Warmup.String(), "--duration", cfg.Duration.String(), "--drain", drain.String(),
		"--max-requests", strconv.FormatInt(cfg.MaxRequests, 10)}
	if p.callers > 0 {
		args = append(args, "--callers", strconv.Itoa(p.callers))
	} else {
		args = append(args, "--rate", strconv.FormatFloat(p.rate, 'f', -1, 64), "--connections", strconv.Itoa(cfg.Connections))
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Warmup+cfg.Duration+drain+time.Minute)
	defer cancel()
	load, err := startChild(e.pin, e.pin.LoadCPU, e.bin, args...)
	if err != nil {
		return res, nil, err
	}
	defer load.stop()
	e.pin.observe("load", load.pid())

	// pids whose CPU is sampled: the server, then the proxies. (The load
	// generator measures its own: it may be gone by the time the "end" mark
	// is read.)
	pids := []int{e.server.pid()}
	for _, m := range t.procs {
		pids = append(pids, m.PID)
	}
	sample := func() ([]procSample, error) {
		out := make([]procSample, len(pids))
		for i, pid := range pids {
			s, err := readProc(pid)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.roleOf(t, i), err)
			}
			out[i] = s
		}
		return out, nil
	}
	cpus := []int{e.pin.LoadCPU, e.pin.ProxyCPU}
	var cpuBefore, cpuAfter []cpuStat
	var before, after []procSample
	var countResp, startResp, endResp int64
	var counting bool
	var loadRes *LoadResult
	lines := make(chan string)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		defer close(lines)
		for {
			s, err := load.stdout.ReadString('\n')
			if s != "" {
				select {
				case lines <- strings.TrimSpace(s):
				case <-quit:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for loadRes == nil {
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-runCtx.Done():
			return res, nil, fmt.Errorf("load generator did not finish in time\n%s", load.stderr.String())
		}
		if !ok {
			<-load.done
			return res, nil, fmt.Errorf("load generator ended without a result: %v\n%s", load.err, load.stderr.String())
		}
		verb, rest, _ := strings.Cut(line, " ")
		switch verb {
		case "mark":
			name, num, _ := strings.Cut(rest, " ")
			n, _ := strconv.ParseInt(num, 10, 64)
			switch name {
			case "count":
				countResp, counting = n, true
				for _, c := range counters {
					if err := c.command("enable"); err != nil {
						return res, nil, fmt.Errorf("perf enable: %w", err)
					}
				}
			case "measure":
				startResp = n
				for _, c := range counters {
					if err := c.command("disable"); err != nil {
						return res, nil, fmt.Errorf("perf disable: %w", err)
					}
				}
				if before, err = sample(); err != nil {
					return res, nil, err
				}
				if e.pin.Enabled {
					cpuBefore, _ = readCPUStats(cpus)
				}
			case "end":
				endResp = n
				if after, err = sample(); err != nil {
					return res, nil, err
				}
				if e.pin.Enabled {
					cpuAfter, _ = readCPUStats(cpus)
				}
			}
		case "result":
			loadRes = &LoadResult{}
			if err := json.Unmarshal([]byte(rest), loadRes); err != nil {
				<-load.done
				return res, nil, fmt.Errorf("load generator result (%d bytes): %v; it exited: %v\n%s",
					len(rest), err, load.err, load.stderr.String())
			}
		}
	}
	if before == nil || after == nil {
		return res, nil, errors.New("load generator did not mark its window")
	}
	res.fromLoad(loadRes)
	requests := endResp - startResp
	counted := startResp - countResp // responses in the syscall window
	if counters != nil && (!counting || counted <= 0) {
		fmt.Fprintf(e.log, "bench: %s: no responses in the syscall window (the second half of the warmup); "+
			"syscalls per request are read- and write-type only, from /proc/PID/io\n", res.Topology)
		for _, c := range counters {
			c.kill()
		}
		counters = nil
	}
	window := loadRes.Window
	if window <= 0 {
		return res, nil, errors.New("load generator measured an empty window")
	}
	cores := func(i int) float64 {
		return round2(float64(after[i].cpuTicks-before[i].cpuTicks) / clockTicks / window)
	}
	res.LoadCPU, res.ServerCPU = loadRes.CPU, cores(0)
	for _, c := range counters {
		c.interrupt()
	}
	for i, m := range t.procs {
		j := i + 1
		pr := ProcResult{Role: m.Role, PID: m.PID, CPUs: e.pin.Observed[m.Role],
			CPUUtil: cores(j), RSSMiB: round2(float64(after[j].rssKiB) / 1024)}
		if requests > 0 {
			pr.CPUPerRequest = round2(float64(after[j].cpuTicks-before[j].cpuTicks) * 1e6 / clockTicks / float64(requests))
			pr.RWSyscallsPerRequest = round2(float64(after[j].syscr+after[j].syscw-before[j].syscr-before[j].syscw) / float64(requests))
		}
		if counters == nil {
			pr.SyscallsPerRequest = pr.RWSyscallsPerRequest
		}
		res.Procs = append(res.Procs, pr)
	}
	if cpuBefore != nil && cpuAfter != nil {
		busy := func(i int) float64 {
			total := cpuAfter[i].total - cpuBefore[i].total
			if total == 0 {
				return 0
			}
			return round2(float64(cpuAfter[i].busy-cpuBefore[i].busy) / float64(total))
		}
		res.LoadCPUBusy, res.ProxyCPUBusy = busy(0), busy(1)
		res.LoadCPUOthers = round2(max(0, res.LoadCPUBusy-res.LoadCPU-res.ServerCPU))
		proxies := 0.0
		for _, p := range res.Procs {
			proxies += p.CPUUtil
		}
		res.ProxyCPUOthers = round2(max(0, res.ProxyCPUBusy-proxies))
	}
	collect = func(r *RunResult) error {
		var errs []error
		for i, c := range counters {
			if r == nil {
				c.kill()
				continue
			}
			counts, err := c.stop()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.Procs[i].Role, err))
				continue
			}
			r.Procs[i].SyscallsPerRequest, r.Procs[i].Syscalls = syscallBreakdown(counts, counted)
		}
		return errors.Join(errs...)
	}
	return res, collect, nil
}

// roleOf names the i-th sampled process of a run.
func (e *env) roleOf(t *topology, i int) string {
	if i == 0 {
		return "echo server"
	}
	return t.procs[i-1].Role
}

// RunLoadCommand is `octomesh bench load`: it runs one load, printing
// "mark count N" halfway through the warmup (the syscall window's start),
// "mark measure N" and "mark end N" at the window's edges (N: responses so
// far) and a final "result {json}" line to w. It stops early if stdin
// closes.
func RunLoadCommand(ctx context.Context, cfg LoadConfig, w io.Writer) error {
	var mu sync.Mutex
	cfg.Mark = func(name string, n int64) {
		mu.Lock()
		fmt.Fprintf(w, "mark %s %d\n", name, n)
		mu.Unlock()
	}
	res, err := RunLoad(ctx, cfg)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	_, err = fmt.Fprintf(w, "result %s\n", b)
	return err
}

// ServeCommand is `octomesh bench server`: it serves echo on a Unix socket
// and, when tcpAddr is set, on TCP, prints the bound addresses as one JSON
// line to w, and serves until ctx ends.
func ServeCommand(ctx context.Context, unixPath, tcpAddr string, w io.Writer) error {
	s := &Server{Name: "bench-" + strconv.Itoa(os.Getpid())}
	defer s.Close()
	var ready serverReady
	if unixPath != "" {
		os.Remove(unixPath)
		ln, err := net.Listen("unix", unixPath)
		if err != nil {
			return err
		}
		s.Serve(ln)
		ready.Unix = "unix://" + unixPath
	}
	if tcpAddr != "" {
		ln, err := net.Listen("tcp", tcpAddr)
		if err != nil {
			return err
		}
		s.Serve(ln)
		ready.TCP = "tcp://" + ln.Addr().String()
	}
	if ready.Unix == "" && ready.TCP == "" {
		return errors.New("bench server: give --unix or --tcp")
	}
	b, _ := json.Marshal(ready)
	if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// hostInfo describes the machine for the report.
func hostInfo() Host {
	h := Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				h.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				h.Revision = s.Value + h.Revision
			case s.Key == "vcs.modified" && s.Value == "true":
				h.Revision += " (with uncommitted changes)"
			}
		}
	}
	return h
}
