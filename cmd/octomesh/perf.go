package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/perf"
)

func runPerf(args []string) error {
	if len(args) == 0 || args[0] != "profile" {
		return usageError{errors.New("usage: octomesh perf profile --admin ADDR [--seconds N] [--out DIR]")}
	}
	fs := flag.NewFlagSet("perf profile", flag.ContinueOnError)
	adminAddr := fs.String("admin", "", "the sidecar's admin address (host:port)")
	seconds := fs.Int("seconds", 10, "how long to profile CPU and allocations")
	out := fs.String("out", "", "directory for cpu.pb.gz, allocs.pb.gz, heap.pb.gz and summary.txt (default octomesh-profile-<time>)")
	top := fs.Int("top", 20, "functions listed per summary table")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	if *adminAddr == "" {
		return usageError{errors.New("--admin is required")}
	}
	if *out == "" {
		*out = "octomesh-profile-" + time.Now().Format("20060102-150405")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "profiling %s for %ds...\n", *adminAddr, *seconds)
	summary, err := perf.Profile(ctx, perf.Options{Admin: *adminAddr, Seconds: *seconds, OutDir: *out, Top: *top})
	if err != nil {
		return err
	}
	fmt.Print(summary)
	fmt.Fprintf(os.Stderr, "\nwrote %s; explore with: go tool pprof -http=: %s\n", *out, filepath.Join(*out, "cpu.pb.gz"))
	return nil
}
