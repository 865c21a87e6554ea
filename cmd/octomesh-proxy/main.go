// Command octomesh-proxy is the sidecar alone: `octomesh proxy` without the
// control plane, bench, perf and demo linked in, for the machines that only
// run sidecars (deps_test.go holds what it must never link).
//
// Usage: octomesh-proxy [proxy] --config FILE [--log-level L] [--hot-restart] [--ready-fd N]
//
//	octomesh-proxy version
//
// It takes the same arguments as `octomesh proxy`, with or without the word
// proxy, so that the agent can run it (octomesh agent --sidecar-binary).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/octomesh/octomesh/cmd/internal/cli"
	"github.com/octomesh/octomesh/cmd/internal/proxycmd"
)

// version is this build's, set with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the sidecar and returns the exit status (cli.Exit).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, version)
		return 0
	}
	if len(args) > 0 && args[0] == "proxy" {
		args = args[1:]
	}
	if err := cli.EnterBuildWorkingDirectory(); err != nil {
		return cli.Exit("octomesh-proxy", err, stderr)
	}
	return cli.Exit("octomesh-proxy", proxycmd.Run(args, version), stderr)
}
