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
