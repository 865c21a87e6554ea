// Command echo-client sends a closed-loop load of echo requests to a Unix
// socket (the local sidecar's, or an echo server's for a direct run),
// checks every answer, and prints one line: requests, errors, throughput and
// latency percentiles. It exits with status 1 if any request failed, got a
// wrong answer, or was not sent before -max-duration, and 2 on bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/examples/echo"
)

func main() {
	os.Exit(run())
}

func run() int {
	socket := flag.String("socket", "/tmp/octomesh-echo.sock", "Unix socket to send to: the sidecar's, or the echo server's")
	n := flag.Int("n", 10000, "total requests")
	c := flag.Int("c", 16, "concurrent callers")
	size := flag.Int("size", 128, "payload bytes per request")
	timeout := flag.Duration("timeout", time.Second, "timeout of each request (0: none)")
	maxDuration := flag.Duration("max-duration", 5*time.Minute, "start no request after this long (0: no bound)")
	firstID := flag.Int64("first-id", 0, "id of the first request (runs with disjoint ranges keep ids unique)")
	flag.Parse()

	cli, err := echo.NewClient(*socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-client: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := echo.RunLoad(ctx, cli, echo.LoadConfig{
		Requests:    *n,
		Concurrency: *c,
		PayloadSize: *size,
		Timeout:     *timeout,
		MaxDuration: *maxDuration,
		FirstID:     *firstID,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-client: %v\n", err)
		return 2
	}
	fmt.Println(res)
	if err := res.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "echo-client: %v\n", err)
		return 1
	}
	return 0
}
