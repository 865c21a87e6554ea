package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/examples/echo"
)

// clientApp is the demo client's app name: the pilot serves its route rules.
const clientApp = "echo-client"

// governance sets, through the registry API, what the pilot then delivers:
// echo-client's route to echo (a timeout and one retry of calls that cannot
// have reached the server) and echo's outlier detection.
func governance(ctx context.Context, api *registry.Client, out io.Writer) error {
	if err := api.PutRoutes(ctx, clientApp, clientRoutes(nil)); err != nil {
		return fmt.Errorf("route rules: %w", err)
	}
	od := config.NewOutlierDetection()
	od.Interval, od.BaseEjectionTime = config.Duration(time.Second), config.Duration(5*time.Second)
	od.MaxEjectionPercent = 50
	if err := api.PutPolicy(ctx, echo.ServiceName, registry.ServicePolicy{OutlierDetection: &od}); err != nil {
		return fmt.Errorf("service policy: %w", err)
	}
	fmt.Fprintf(out, "governance from the pilot: %s's calls to %s time out after 3s and are retried once on another instance when they cannot have reached it; %s ejects an instance after 5 failures in a row (see sidecar A's /clusters)\n",
		clientApp, echo.ServiceName, echo.ServiceName)
	return nil
}

// clientRoutes is echo-client's route to echo, with fault added.
func clientRoutes(fault *config.Fault) []registry.RouteRule {
	retry := config.NewRetry()
	return []registry.RouteRule{{Service: echo.ServiceName, Method: "*", Cluster: echo.ServiceName,
		Timeout: config.Duration(3 * time.Second), Retry: &retry, Fault: fault}}
}

// delayPhase injects a 20ms delay into 10% of echo-client's calls to echo
// at the time given, for the time given, by changing its route rule in the
// registry (no restart): the live report's p99 shows it come and go.
func delayPhase(ctx context.Context, api *registry.Client, say func(string, ...any), at, length time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(at):
	}
	fault := &config.Fault{Delay: &config.FaultDelay{Percent: 10, Duration: config.Duration(20 * time.Millisecond)}}
	if err := api.PutRoutes(ctx, clientApp, clientRoutes(fault)); err != nil {
		say("fault injection: %v", err)
		return
	}
	say("fault injection on: 10%% of echo-client's calls to echo held 20ms (a route rule changed through the pilot; watch p99)")
	select {
	case <-ctx.Done():
	case <-time.After(length):
	}
	if err := api.PutRoutes(context.Background(), clientApp, clientRoutes(nil)); err != nil {
		say("fault injection: %v", err)
		return
	}
	say("fault injection off")
}
