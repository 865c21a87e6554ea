package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/cp/mocksidecar"
	"github.com/octomesh/octomesh/internal/idlegc"
)

// varFlags collects --var name=value.
type varFlags map[string]string

func (v varFlags) String() string { return fmt.Sprint(map[string]string(v)) }
func (v varFlags) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("--var %q: want name=value", s)
	}
	v[name] = val
	return nil
}

func runMockSidecar(args []string) error {
	fs := flag.NewFlagSet("mocksidecar", flag.ContinueOnError)
	file := fs.String("script", "", "the YAML step script every simulated sidecar runs (see cp/mocksidecar/testdata)")
	count := fs.Int("count", 0, "number of simulated sidecars (default: the script's count, else 1)")
	first := fs.Int("first", 0, "index of the first sidecar (${i}); several processes take disjoint ranges")
	metaAddr := fs.String("meta", "127.0.0.1:15020", "the Meta Server: sidecars ask it which pilot serves their app")
	pilotAddr := fs.String("pilot", "", "a pilot's xDS address to use instead of Meta (no sharding)")
	registry := fs.String("registry", "", "the registration API for register steps (default: Meta, which serves it)")
	ramp := fs.Int("ramp", 0, "start at most this many sidecars per second (0: all at once)")
	limit := fs.Duration("timeout", 30*time.Minute, "end the run after this long")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	level := fs.String("log-level", "warn", "debug, info, warn or error")
	transport := fs.String("transport", "lean", "how the simulated sidecars speak gRPC: lean (HTTP/2 spoken directly, cheap) or grpc (a gRPC-go ClientConn each, as before)")
	vars := varFlags{}
	fs.Var(vars, "var", "set a script variable: name=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *file == "" {
		return errors.New("--script is required")
	}
	log, _, err := newLogger(*level)
	if err != nil {
		return err
	}
	script, err := mocksidecar.Load(*file)
	if err != nil {
		return err
	}
	n := *count
	if n == 0 {
		n = max(script.Count, 1)
	}
	opts := mocksidecar.Options{Meta: *metaAddr, Pilot: *pilotAddr, Registry: *registry, Count: n, First: *first, Ramp: *ramp, Vars: vars,
		Controls: mocksidecar.FileControls(), Transport: *transport, Log: log}
	if *pilotAddr != "" {
		opts.Meta = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// With GOGC=off (the scale runs): collect after the ramp, when quiet
	// for a second, so that a push reuses pages instead of faulting in new.
	go idlegc.Run(ctx, time.Second, 1<<20, 128<<20)
	rep, err := mocksidecar.Run(ctx, script, opts)
	if err != nil {
		return err
	}
	rep.Write(os.Stdout)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return fmt.Errorf("%d of %d sidecars failed a step", rep.Failed, rep.Sidecars)
	}
	return nil
}
