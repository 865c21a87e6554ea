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
	"os"

	"github.com/octomesh/octomesh/cmd/internal/cli"
	"github.com/octomesh/octomesh/cmd/internal/proxycmd"
)

// version is this build's, set with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "version" {
		fmt.Println(version)
		return
	}
	if len(args) > 0 && args[0] == "proxy" {
		args = args[1:]
	}
	if err := cli.EnterBuildWorkingDirectory(); err != nil {
		os.Exit(cli.Exit("octomesh-proxy", err, os.Stderr))
	}
	os.Exit(cli.Exit("octomesh-proxy", proxycmd.Run(args, version), os.Stderr))
}
