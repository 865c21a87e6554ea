package proxycmd

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/octomesh/octomesh/cmd/internal/cli"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/server"
)

// Run runs a sidecar from the flags in args until it is stopped
// (SIGINT/SIGTERM drain it; a second signal stops it), hands over to a
// new process, or fails. version is the binary's, reported with
// --ready-fd.
func Run(args []string, version string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	file := fs.String("config", "", "sidecar config file (YAML, see docs/config.md)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	hot := fs.Bool("hot-restart", false, "take the listening sockets over from the sidecar now running this config (hot_restart.socket) instead of binding them; it drains and exits once this one serves")
	release := fs.Bool("release-startup-memory", true, "once serving, return the heap that start-up used and drop the executable's text pages that only start-up touched, and do the same after each burst of connections (see docs/performance.md, Sidecar memory)")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound addresses as JSON to this inherited file descriptor and close it (for supervisors and tests)")
	if err := fs.Parse(args); err != nil {
		return cli.UsageError{Err: err}
	}
	if *file == "" {
		return cli.UsageError{Err: errors.New("--config is required")}
	}
	log, levelVar, err := cli.NewLogger(*level)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg, err := config.Parse(*file, data)
	if err != nil {
		return err
	}
	s, err := server.New(cfg, log)
	if err != nil {
		return err
	}
	s.SetLevelVar(levelVar)
	s.SetConfigVersion(server.StaticConfigVersion(data))
	start := s.Start
	if *hot {
		start = s.TakeOver
	}
	if err := start(); err != nil {
		return err
	}
	if *release {
		if err := s.ReleaseStartupMemory(); err != nil {
			log.Warn("start-up memory not released", "error", err)
		}
	}
	if *readyFD > 0 {
		ready := s.Ready()
		ready.Version = version
		if err := cli.WriteReady(*readyFD, ready); err != nil {
			s.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case got := <-sig:
		// Drain: stop accepting, let calls in flight finish (at most
		// hot_restart.drain_time). A second signal stops at once.
		log.Info("draining", "signal", got.String(), "drain_time", cfg.HotRestart.DrainTime.Std())
		s.Drain()
		select {
		case <-s.Done():
		case got := <-sig:
			log.Info("stopping now", "signal", got.String())
			s.Close()
		}
	case <-s.Done(): // handed over to a new process, or POST /drain
	}
	log.Info("stopped")
	return nil
}
