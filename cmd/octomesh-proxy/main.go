// Command octomesh-proxy is the sidecar alone: `octomesh proxy` without the
// control plane, bench, perf and demo linked in, for the machines that only
// run sidecars (deps_test.go holds what it must never link).
//
// Usage: octomesh-proxy --config FILE [--log-level L] [--hot-restart] [--ready-fd N]
package main

import (
	"os"

	"github.com/octomesh/octomesh/cmd/internal/cli"
	"github.com/octomesh/octomesh/cmd/internal/proxycmd"
)

func main() {
	if err := cli.EnterBuildWorkingDirectory(); err != nil {
		os.Exit(cli.Exit("octomesh-proxy", err, os.Stderr))
	}
	os.Exit(cli.Exit("octomesh-proxy", proxycmd.Run(os.Args[1:]), os.Stderr))
}
