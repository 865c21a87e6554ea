package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/bench"
)

func runBench(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "load":
			return runBenchLoad(args[1:])
		case "server":
			return runBenchServer(args[1:])
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: octomesh bench [flags]

Starts the topologies (T0-UDS, T0-TCP, T1, T2, T1-HAProxy, T2-HAProxy) as separate
processes, runs every load point against each, and reports latency, added
latency over T0, throughput, proxy CPU per request, RSS and syscalls.

  octomesh bench --matrix --json r.json --markdown docs/performance.md --plot r.png
  octomesh bench --quick                      # the matrix in one-second runs
  octomesh bench --topologies T0-UDS,T2 --rate 5000 --payload 1KiB
  octomesh bench --realapp --duration 10s --callers 50 --repetitions 3

--realapp measures examples/echo's Kitex client and server instead, unpinned,
direct and through two sidecars (it builds them with the go command, or takes
$ECHO_CLIENT_BIN, $ECHO_SERVER_BIN and $OCTOMESH_PROXY_BIN); it takes
--duration, --warmup, --repetitions (default 3), --payload (default 128),
--callers, --json and --from-json (render an earlier run's --json again).

Its children: 'octomesh bench load' (one load run) and 'octomesh bench server'
(the echo server); run either with -h for their flags.

flags:
`)
		fs.PrintDefaults()
	}
	matrix := fs.Bool("matrix", false, "the standard matrix: payloads 128 B and 1 KiB; 1k, 5k, 10k req/s and closed loop with 50 callers; all topologies; 10s runs, 3 repetitions (other flags override parts of it)")
	quick := fs.Bool("quick", false, "the standard matrix with 1s runs, 200ms warmup and 1 repetition")
	topologies := fs.String("topologies", "T0-UDS,T1,T2", "comma-separated: "+strings.Join(bench.AllTopologies, ", "))
	rates := fs.String("rate", "5000", "open-loop rates in requests per second, comma-separated (empty: none)")
	payloads := fs.String("payload", "1KiB", "payload sizes, comma-separated (bytes, or with KiB)")
	closed := fs.String("closed", "", "closed-loop points: numbers of callers, comma-separated")
	conns := fs.Int("connections", 16, "connections an open-loop load is spread over")
	duration := fs.Duration("duration", 10*time.Second, "measured window of each run")
	warmup := fs.Duration("warmup", time.Second, "warmup before each measured window, at least 100ms: the proxies' syscalls are counted in its second half")
	reps := fs.Int("repetitions", 1, "repetitions of every run; the report gives medians")
	maxReq := fs.Int64("max-requests", 2_000_000, "most requests in one measured window")
	jsonOut := fs.String("json", "", "write the full report as JSON to this file")
	mdOut := fs.String("markdown", "", "replace the generated section of this Markdown file (docs/performance.md)")
	plotOut := fs.String("plot", "", "write a latency-by-percentile PNG to this file")
	serverCmd := fs.String("server-cmd", "", "run this server instead of the built-in echo server; {socket} is replaced by the Unix socket it must listen on (T0-TCP is then skipped)")
	install := fs.Bool("install-haproxy", true, "for T1-HAProxy and T2-HAProxy, run bench/install-haproxy.sh when haproxy is missing")
	realtime := fs.Bool("realtime", false, "run every process the benchmark starts under SCHED_FIFO (root only): a shared machine's other work then cannot delay them, but gets little CPU while a run saturates one")
	fromJSON := fs.String("from-json", "", "instead of running, render the report of an earlier run from its --json file (with --markdown, --plot)")
	bin := fs.String("bin", "", "the octomesh binary for sidecars, server and load generator (default: this one)")
	realApp := fs.Bool("realapp", false, "measure examples/echo's Kitex client and server, direct and through two sidecars (see above)")
	callers := fs.Int("callers", 50, "--realapp: the example client's concurrent callers")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *realApp {
		for _, name := range []string{"matrix", "quick", "topologies", "rate", "closed", "connections", "max-requests",
			"markdown", "plot", "server-cmd", "install-haproxy", "realtime", "bin"} {
			if set[name] {
				return fmt.Errorf("--%s does not apply to --realapp", name)
			}
		}
		cfg := bench.RealAppConfig{Callers: *callers, Payload: 128, Warmup: *warmup, Duration: *duration, Repetitions: 3,
			Command: "octomesh bench " + strings.Join(args, " "), Log: os.Stderr}
		if set["payload"] {
			sizes, err := parseSizes(*payloads)
			if err != nil || len(sizes) != 1 {
				return fmt.Errorf("--payload %q: want one size with --realapp", *payloads)
			}
			cfg.Payload = sizes[0]
		}
		if set["repetitions"] {
			cfg.Repetitions = *reps
		}
		if *fromJSON != "" {
			rep, err := bench.ReadRealAppReport(*fromJSON)
			if err != nil {
				return err
			}
			fmt.Print(rep.Markdown())
			return nil
		}
		return runRealApp(cfg, *jsonOut)
	}
	if set["callers"] {
		return errors.New("--callers applies to --realapp only (closed-loop points: --closed)")
	}

	cfg := bench.Config{
		Connections: *conns, Duration: *duration, Warmup: *warmup, Repetitions: *reps, MaxRequests: *maxReq,
	}
	var err error
	if cfg.Rates, err = parseRates(*rates); err != nil {
		return err
	}
	if cfg.Payloads, err = parseSizes(*payloads); err != nil {
		return err
	}
	if cfg.Closed, err = parseInts("--closed", *closed); err != nil {
		return err
	}
	cfg.Topologies = splitList(*topologies)
	if *matrix || *quick {
		preset := bench.StandardMatrix()
		if *quick {
			preset = bench.QuickMatrix()
		}
		if !set["topologies"] {
			cfg.Topologies = preset.Topologies
		}
		if !set["rate"] {
			cfg.Rates = preset.Rates
		}
		if !set["payload"] {
			cfg.Payloads = preset.Payloads
		}
		if !set["closed"] {
			cfg.Closed = preset.Closed
		}
		if !set["duration"] {
			cfg.Duration = preset.Duration
		}
		if !set["warmup"] {
			cfg.Warmup = preset.Warmup
		}
		if !set["repetitions"] {
			cfg.Repetitions = preset.Repetitions
		}
	}
	cfg.ServerCmd, cfg.InstallHAProxy, cfg.Realtime = *serverCmd, *install, *realtime
	cfg.Command = "octomesh bench " + strings.Join(args, " ")
	cfg.Log = os.Stderr
	if cfg.Binary = *bin; cfg.Binary == "" {
		if cfg.Binary, err = os.Executable(); err != nil {
			return err
		}
	}

	var rep *bench.Report
	if *fromJSON != "" {
		if rep, err = bench.ReadReport(*fromJSON); err != nil {
			return err
		}
		rep.Rendered = cfg.Command
	} else {
		fmt.Fprintf(os.Stderr, "bench: %d topologies x %d payloads x %d load points x %d repetitions, %s + %s each: about %s in all\n",
			len(cfg.Topologies), len(cfg.Payloads), len(cfg.Rates)+len(cfg.Closed), cfg.Repetitions,
			cfg.Warmup, cfg.Duration, cfg.Estimate().Round(time.Second))
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if rep, err = bench.Run(ctx, cfg); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			return err
		}
	}
	if *plotOut != "" {
		if err := rep.WritePlot(*plotOut); err != nil {
			return err
		}
	}
	link := ""
	if *mdOut != "" && *plotOut != "" {
		if rel, err := filepath.Rel(filepath.Dir(*mdOut), *plotOut); err == nil {
			link = filepath.ToSlash(rel)
		}
	}
	section := rep.Markdown(link)
	if *mdOut != "" {
		return bench.UpdateMarkdown(*mdOut, section)
	}
	fmt.Println(section)
	return nil
}

// runRealApp builds the example apps and the sidecar, runs the real-app
// mode and prints its tables.
func runRealApp(cfg bench.RealAppConfig, jsonOut string) error {
	dir, err := os.MkdirTemp("", "octomesh-realapp-bin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "bench: realapp: building echo-client, echo-server and octomesh-proxy")
	if err := bench.BuildRealApp(dir, &cfg); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: realapp: %d callers, %d B, %d repetitions of direct and mesh, %s + %s each: about %s in all\n",
		cfg.Callers, cfg.Payload, cfg.Repetitions, cfg.Warmup, cfg.Duration, cfg.Estimate().Round(time.Second))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := bench.RunRealApp(ctx, cfg)
	if err != nil {
		return err
	}
	if jsonOut != "" {
		if err := rep.WriteJSON(jsonOut); err != nil {
			return err
		}
	}
	fmt.Print(rep.Markdown())
	return nil
}

func runBenchLoad(args []string) error {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	var cfg bench.LoadConfig
	fs.StringVar(&cfg.Target, "target", "", "unix:///path or tcp://127.0.0.1:port")
	payload := fs.String("payload", "1KiB", "payload size (bytes, or with KiB)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop at this many requests per second")
	fs.IntVar(&cfg.Callers, "callers", 0, "closed loop with this many callers (one connection each)")
	fs.IntVar(&cfg.Connections, "connections", 16, "open-loop connections")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "warmup before the measured window")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured window")
	fs.Int64Var(&cfg.MaxRequests, "max-requests", 0, "most requests in the measured window (0: no limit)")
	fs.DurationVar(&cfg.Drain, "drain", 3*time.Second, "how long to wait for the last responses")
	parentPipe := fs.Bool("parent-pipe", false, "stop when stdin closes (set by the orchestrator)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	sizes, err := parseSizes(*payload)
	if err != nil || len(sizes) != 1 {
		return fmt.Errorf("--payload %q: want one size", *payload)
	}
	cfg.Payload = sizes[0]
	ctx, stop := childContext(*parentPipe)
	defer stop()
	return bench.RunLoadCommand(ctx, cfg, os.Stdout)
}

func runBenchServer(args []string) error {
	fs := flag.NewFlagSet("bench server", flag.ContinueOnError)
	unix := fs.String("unix", "", "Unix socket path to serve on")
	tcp := fs.String("tcp", "", "TCP address to serve on as well, e.g. 127.0.0.1:0")
	parentPipe := fs.Bool("parent-pipe", false, "stop when stdin closes (set by the orchestrator)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	ctx, stop := childContext(*parentPipe)
	defer stop()
	return bench.ServeCommand(ctx, *unix, *tcp, os.Stdout)
}

// childContext ends on SIGINT or SIGTERM and, for a child of the
// orchestrator, when its stdin closes (the orchestrator is gone).
func childContext(parentPipe bool) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	if !parentPipe {
		return ctx, stop
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx, func() { cancel(); stop() }
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range splitList(s) {
		mult := 1.0
		if v, ok := strings.CutSuffix(strings.ToLower(f), "k"); ok {
			f, mult = v, 1000
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("--rate %q: want requests per second, like 5000 or 5k", f)
		}
		out = append(out, r*mult)
	}
	return out, nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		mult := 1
		num := f
		switch {
		case strings.HasSuffix(f, "KiB"):
			num, mult = strings.TrimSuffix(f, "KiB"), 1024
		case strings.HasSuffix(f, "B"):
			num = strings.TrimSuffix(f, "B")
		}
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("payload size %q: want bytes, like 128 or 1KiB", f)
		}
		out = append(out, n*mult)
	}
	if len(out) == 0 {
		return nil, errors.New("no payload size given")
	}
	return out, nil
}

func parseInts(name, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s %q: want a positive number", name, f)
		}
		out = append(out, n)
	}
	return out, nil
}
