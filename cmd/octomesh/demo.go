package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/octomesh/octomesh/demo"
)

func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	duration := fs.Duration("duration", 0, "stop after this long of traffic, counted once the mesh is up (default: run until Ctrl-C)")
	callers := fs.Int("callers", 8, "concurrent callers")
	payload := fs.Int("payload", 128, "echo payload size in bytes")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = demo.Run(ctx, demo.Options{Bin: bin, Out: os.Stdout, Duration: *duration, Callers: *callers, PayloadSize: *payload})
	return err
}
