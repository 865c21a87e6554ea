package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/examples/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

func main() {
	os.Exit(run())
}

func run() int {
	socket := flag.String("socket", "/tmp/octomesh-echo.sock", "Unix socket to send to: the sidecar's, or the echo server's")
	n := flag.Int("n", 10000, "total requests (0: closed loop for -duration)")
	c := flag.Int("c", 16, "concurrent callers")
	size := flag.Int("size", 128, "payload bytes per request")
	timeout := flag.Duration("timeout", time.Second, "timeout of each request (0: none)")
	maxDuration := flag.Duration("max-duration", 5*time.Minute, "start no request after this long (0: no bound)")
	firstID := flag.Int64("first-id", 0, "id of the first request (runs with disjoint ranges keep ids unique)")
	rate := flag.Float64("rate", 0, "open loop: calls started per second (0: closed loop)")
	duration := flag.Duration("duration", 5*time.Second, "how long to start calls: open loop, or closed loop with -n 0")
	caller := flag.String("caller", "echo-client", "the calling app's name, sent as the TTHeader from-service")
	asJSON := flag.Bool("json", false, "closed loop: print the result as one JSON line (durations in nanoseconds)")
	flag.Parse()

	opts := append(sdk.ClientOptions(*socket), sdk.CallerName(*caller))
	cli, err := echoservice.NewClient(echo.ServiceName, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-client: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *rate > 0 {
		return runRate(ctx, cli, echo.RateConfig{Rate: *rate, Duration: *duration, MaxInFlight: *c, Timeout: *timeout})
	}
	cfg := echo.LoadConfig{
		Requests:    *n,
		Concurrency: *c,
		PayloadSize: *size,
		Timeout:     *timeout,
		MaxDuration: *maxDuration,
		FirstID:     *firstID,
	}
	if *n == 0 {
		cfg.Duration = *duration
	}
	res, err := echo.RunLoad(ctx, cli, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-client: %v\n", err)
		return 2
	}
	if *asJSON {
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
	} else {
		fmt.Println(res)
	}
	if err := res.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "echo-client: %v\n", err)
		return 1
	}
	return 0
}

func runRate(ctx context.Context, cli echoservice.Client, cfg echo.RateConfig) int {
	res, err := echo.RunRate(ctx, cli, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-client: %v\n", err)
		return 2
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}
