package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/agent"
	"github.com/octomesh/octomesh/api/release"
)

func runAgent(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "upgrade":
			return runAgentUpgrade(args[1:])
		case "status":
			return runAgentStatus(args[1:])
		}
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: octomesh agent --config FILE --data-dir DIR [flags] [-- extra sidecar flags]\n"+
			"       octomesh agent upgrade --to PATH|URL --sha256 HEX [--agent ADDR]\n"+
			"       octomesh agent status [--agent ADDR]")
		fs.PrintDefaults()
	}
	file := fs.String("config", "", "the sidecar's config file, passed to `proxy --config`")
	dataDir := fs.String("data-dir", "", "the agent's state file and stored binaries (kept across agent restarts)")
	admin := fs.String("admin", "127.0.0.1:9911", "the agent's admin endpoint (GET /status, POST /upgrade)")
	bin := fs.String("sidecar-binary", "", "the sidecar binary (default: this executable)")
	pubKey := fs.String("public-key", "", "an ed25519 public key file: upgrades must carry a signature it verifies")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	readyFD := fs.Int("ready-fd", 0, "once the sidecar serves, write the agent's admin address and the sidecar as JSON to this inherited descriptor and close it")
	initial := fs.Duration("backoff-initial", 200*time.Millisecond, "wait before the first restart after a crash; doubles with each crash in a row")
	maxBackoff := fs.Duration("backoff-max", 30*time.Second, "the longest wait between restarts")
	stable := fs.Duration("stable-after", 30*time.Second, "a sidecar that ran this long before it crashed starts the backoff again")
	crashLoop := fs.Int("crash-loop-after", 5, "crashes in a row (without a stable run) reported as a crash loop")
	liveEvery := fs.Duration("liveness-interval", 5*time.Second, "how often to check the sidecar's admin /healthz (0: never)")
	liveTimeout := fs.Duration("liveness-timeout", 5*time.Second, "how long a liveness check may take")
	liveFails := fs.Int("liveness-failures", 3, "failed liveness checks in a row before the sidecar is killed and restarted")
	readyTimeout := fs.Duration("ready-timeout", 60*time.Second, "how long a starting sidecar may take to serve")
	stopGrace := fs.Duration("stop-grace", 30*time.Second, "how long a stopping sidecar may drain before it is killed")
	window := fs.Duration("watch-window", 10*time.Second, "after an upgrade, how long to watch the new version before keeping it")
	maxErr := fs.Float64("max-error-rate", 0.05, "the new version's highest error rate (downstream.error_responses / downstream.requests) in the watch window")
	minReq := fs.Uint64("min-requests", 20, "requests the new version must have seen before its error rate counts")
	cp := fs.String("control-plane", "", "follow staged releases from the control plane's release API at this address (host:port or URL); without it the agent follows none")
	node := fs.String("node", "", "this node's name in releases and node reports (required with --control-plane)")
	app := fs.String("app", "", "the app this node serves, for a release's scope")
	zone := fs.String("zone", "", "the zone this node is in, for a release's scope")
	agentTokenFile := fs.String("agent-token-file", "", "a file holding the control plane's agent token (default: $OCTOMESH_AGENT_TOKEN; none: the control plane must accept the agent from loopback)")
	pollWait := fs.Duration("poll-wait", 30*time.Second, "how long each long poll for the target may wait (0: plain polls every --poll-interval)")
	pollEvery := fs.Duration("poll-interval", 10*time.Second, "the wait between polls after a failed poll (or between plain polls)")
	reportEvery := fs.Duration("report-interval", 10*time.Second, "how often to report this node to the control plane")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *file == "" {
		return usageError{errors.New("--config is required")}
	}
	if *dataDir == "" {
		return usageError{errors.New("--data-dir is required")}
	}
	var follow *agent.FollowConfig
	if *cp != "" {
		if *node == "" {
			return usageError{errors.New("--node is required with --control-plane")}
		}
		if err := release.ValidName("--node", *node); err != nil {
			return usageError{err}
		}
		token := os.Getenv("OCTOMESH_AGENT_TOKEN")
		if *agentTokenFile != "" {
			b, err := os.ReadFile(*agentTokenFile)
			if err != nil {
				return fmt.Errorf("--agent-token-file: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		follow = &agent.FollowConfig{ControlPlane: *cp, Token: token, Node: *node, App: *app, Zone: *zone,
			PollWait: *pollWait, PollInterval: *pollEvery, ReportInterval: *reportEvery}
	}
	log, _, err := newLogger(*level)
	if err != nil {
		return err
	}
	cfgPath, err := filepath.Abs(*file)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfgPath); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg := agent.Config{
		Args:    append([]string{"proxy", "--config", cfgPath}, fs.Args()...),
		DataDir: *dataDir, ReadyTimeout: *readyTimeout, StopGrace: *stopGrace,
		Backoff:          agent.Backoff{Initial: *initial, Max: *maxBackoff, StableAfter: *stable, CrashLoopAfter: *crashLoop},
		LivenessInterval: *liveEvery, LivenessTimeout: *liveTimeout, LivenessFailures: *liveFails,
		WatchWindow: *window, MaxErrorRate: *maxErr, MinRequests: *minReq,
		Log: log,
	}
	if *bin != "" {
		if cfg.Binary, err = filepath.Abs(*bin); err != nil {
			return err
		}
	}
	if *pubKey != "" {
		if cfg.PublicKey, err = agent.ReadPublicKey(*pubKey); err != nil {
			return err
		}
	}
	sup, err := agent.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *admin)
	if err != nil {
		return fmt.Errorf("--admin: %w", err)
	}
	srv := &http.Server{Handler: sup.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for got := range sig {
			if got == syscall.SIGHUP {
				log.Info("agent: SIGHUP: exiting, the sidecar serves on for the next agent")
				sup.Detach()
				continue
			}
			log.Info("agent: stopping", "signal", got.String())
			cancel()
		}
	}()
	ran := make(chan error, 1)
	go func() { ran <- sup.Run(ctx) }()
	select {
	case <-sup.Started():
		st := sup.Status()
		log.Info("agent: serving", "admin", ln.Addr().String(), "sidecar_pid", st.Sidecar.PID, "version", st.Sidecar.Version, "adopted", st.Sidecar.Adopted)
		if *readyFD > 0 {
			if err := writeReady(*readyFD, agent.Ready{PID: os.Getpid(), Admin: ln.Addr().String(), Sidecar: *st.Sidecar}); err != nil {
				cancel()
				<-ran
				return err
			}
		}
	case err := <-ran:
		return err
	}
	if follow != nil {
		log.Info("agent: following releases", "control_plane", follow.ControlPlane, "node", follow.Node, "app", follow.App, "zone", follow.Zone)
		go func() {
			if err := sup.Follow(ctx, *follow); err != nil && ctx.Err() == nil {
				log.Error("agent: not following releases", "err", err)
			}
		}()
	}
	return <-ran
}

func runAgentUpgrade(args []string) error {
	fs := flag.NewFlagSet("agent upgrade", flag.ContinueOnError)
	addr := fs.String("agent", "127.0.0.1:9911", "the agent's admin endpoint")
	to := fs.String("to", "", "the new sidecar binary: a file path or an http(s) URL")
	sum := fs.String("sha256", "", "the new binary's SHA-256, hex")
	sig := fs.String("signature", "", "its ed25519 signature of the SHA-256 digest, hex or base64 (when the agent has --public-key)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the outcome")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *to == "" || *sum == "" {
		return usageError{errors.New("--to and --sha256 are required")}
	}
	from := *to
	if !strings.Contains(from, "://") {
		abs, err := filepath.Abs(from) // the agent's working directory is not ours
		if err != nil {
			return err
		}
		from = abs
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := agent.RequestUpgrade(ctx, *addr, agent.Target{From: from, SHA256: *sum, Signature: *sig})
	if err != nil {
		return err
	}
	switch res.Outcome {
	case agent.Upgraded:
		fmt.Printf("upgraded: %s -> %s, pid %d (watch window: %d requests, %d errors)\n", res.FromVersion, res.ToVersion, res.PID, res.Requests, res.Errors)
		return nil
	case agent.RolledBack:
		fmt.Printf("rolled back to %s (pid %d): %s\n", res.FromVersion, res.PID, res.Reason)
		return fmt.Errorf("upgrade to %s rolled back", res.ToVersion)
	}
	return fmt.Errorf("%s: %s", res.Outcome, res.Reason)
}

func runAgentStatus(args []string) error {
	fs := flag.NewFlagSet("agent status", flag.ContinueOnError)
	addr := fs.String("agent", "127.0.0.1:9911", "the agent's admin endpoint")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := agent.GetStatus(ctx, *addr)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", b)
	return err
}
