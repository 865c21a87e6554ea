package demo

import (
	"fmt"
	"io"
	"time"

	"github.com/octomesh/octomesh/cp/console"
	"github.com/octomesh/octomesh/cp/inspect"
)

// startConsole serves the web console over the demo's pilot and the
// dispatcher's operator API (the rules, node reports, releases), on
// console.DefaultAddress when it is free (else on a port of the system's
// choosing), and prints its URL. The returned stop ends it; a console that
// cannot start is reported and the demo goes on without it.
func startConsole(out io.Writer, pilotHTTP, operatorAPI string) (stop func()) {
	opts := console.Options{Inspect: inspect.Options{Pilots: []string{pilotHTTP}, Timeout: 2 * time.Second}, RulesServer: operatorAPI,
		ScrapeInterval: 2 * time.Second}
	s, err := console.Start(console.DefaultAddress, opts)
	if err != nil {
		s, err = console.Start("127.0.0.1:0", opts)
	}
	if err != nil {
		fmt.Fprintf(out, "console: not started: %v\n", err)
		return func() {}
	}
	fmt.Fprintf(out, "console: %s (service graph, services, sidecars, rules, control plane)\n", s.URL())
	return s.Close
}
