package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/server"
)

func runProxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	file := fs.String("config", "", "sidecar config file (YAML, see docs/config.md)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound addresses as JSON to this inherited file descriptor and close it (for supervisors and tests)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("--config is required")
	}
	log, levelVar, err := newLogger(*level)
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
	if err := s.Start(); err != nil {
		return err
	}
	if *readyFD > 0 {
		if err := writeReady(*readyFD, s.Ready()); err != nil {
			s.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	s.Close()
	return nil
}

// writeReady reports readiness (r as JSON) on an inherited descriptor.
func writeReady(fd int, r any) error {
	f := os.NewFile(uintptr(fd), "ready-fd")
	if f == nil {
		return fmt.Errorf("--ready-fd %d is not an open descriptor", fd)
	}
	defer f.Close()
	if err := json.NewEncoder(f).Encode(r); err != nil {
		return fmt.Errorf("--ready-fd %d: %w", fd, err)
	}
	return nil
}
