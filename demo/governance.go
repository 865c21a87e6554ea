package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/examples/echo"
)

// clientApp is the demo client's app name: the pilot serves its route rules.
const clientApp = "echo-client"

// governanceRules are the demo's governance documents, as an operator
// would write them for `octomesh ctl apply -f`: echo-client's calls to echo
// time out after 3s and are retried once on another instance when they
// cannot have reached the server; echo's instances are ejected after 5
// failures in a row.
var governanceRules = fmt.Sprintf(`kind: Timeout
metadata: {name: echo-client-echo-timeout}
target: {app: %[1]s, service: %[2]s}
spec: {timeout: 3s}
---
kind: Retry
metadata: {name: echo-client-echo-retry}
target: {app: %[1]s, service: %[2]s}
spec: {attempts: 2}
---
kind: OutlierDetection
metadata: {name: %[2]s-outliers}
target: {service: %[2]s}
spec: {interval: 1s, base_ejection_time: 5s, max_ejection_percent: 50}
`, clientApp, echo.ServiceName)

// faultRule holds 10% of echo-client's calls to echo 20ms.
var faultRule = fmt.Sprintf(`kind: Fault
metadata: {name: echo-client-echo-delay}
target: {app: %s, service: %s}
spec: {delay: {percent: 10, duration: 20ms}}
`, clientApp, echo.ServiceName)

// governance applies the demo's rules through the operator API (the rule
// store checks them, compiles them, and tells the dispatcher; the pilot
// fetches them and pushes them to sidecar A).
func governance(ctx context.Context, api *rules.Client, out io.Writer) error {
	if _, err := api.Apply(ctx, "demo-governance.yaml", []byte(governanceRules), false); err != nil {
		return fmt.Errorf("governance rules: %w", err)
	}
	fmt.Fprintf(out, "governance from the pilot: %s's calls to %s time out after 3s and are retried once on another instance when they cannot have reached it; %s ejects an instance after 5 failures in a row (rule documents applied through the operator API, as octomesh ctl apply does; see sidecar A's /clusters)\n",
		clientApp, echo.ServiceName, echo.ServiceName)
	return nil
}

// delayPhase injects a 20ms delay into 10% of echo-client's calls to echo
// at the time given, for the time given, by applying a Fault document and
// deleting it again (no restart): the live report's p99 shows it come and
// go.
func delayPhase(ctx context.Context, api *rules.Client, say func(string, ...any), at, length time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(at):
	}
	if _, err := api.Apply(ctx, "demo-fault.yaml", []byte(faultRule), false); err != nil {
		say("fault injection: %v", err)
		return
	}
	say("fault injection on: 10%% of echo-client's calls to echo held 20ms (a Fault rule applied through the dispatcher; watch p99)")
	select {
	case <-ctx.Done():
	case <-time.After(length):
	}
	if _, err := api.Delete(context.Background(), "Fault", "echo-client-echo-delay", 0); err != nil {
		say("fault injection: %v", err)
		return
	}
	say("fault injection off")
}
