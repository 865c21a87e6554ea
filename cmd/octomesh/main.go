package main

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/octomesh/octomesh/cmd/internal/cli"
)

type command struct {
	summary string
	run     func(args []string) error
	// main, when set, runs instead of run: a command with its own output
	// and exit statuses (ctl).
	main func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"proxy":       {"run a sidecar from a config file", runProxy, nil},
	"agent":       {"keep a sidecar running: restart on crash, hot upgrade with rollback", runAgent, nil},
	"pilot":       {"run the control plane: xDS server, registration API, embedded etcd", runPilot, nil},
	"meta":        {"run the Meta Server: which pilot serves which app", runMeta, nil},
	"scanner":     {"run a scanner: central health checks of the registered instances", runScanner, nil},
	"dispatcher":  {"run the dispatcher: change notices on NATS JetStream, routed to the pilots that care; the operator API (rules, releases)", runDispatcher, nil},
	"ca":          {"run the certificate authority that signs sidecars' certificates; `ca issue` writes static ones", runCA, nil},
	"ctl":         {"operate the mesh: governance rules (apply, get, delete, diff), proxy-status, proxy-config, describe, releases, nodes", nil, runCtl},
	"console":     {"serve the web console: service graph, services, sidecars, rules, control plane", runConsole, nil},
	"mocksidecar": {"run simulated sidecars from a YAML step script", runMockSidecar, nil},
	"perf":        {"profile a running sidecar through its admin endpoint", runPerf, nil},
	"bench":       {"measure the mesh: topologies, load generator, report", runBench, nil},
	"demo":        {"run two sidecars and echo apps on this machine, with live traffic", runDemo, nil},
	"version":     {"print this build's version", runVersion, nil},
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the command args name and returns the exit status: 0, 1 when
// the command failed, 2 for a usage error (no command, an unknown one, bad
// flags), as the flag package does.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "octomesh: no command given")
		fmt.Fprintln(stderr)
		usage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "octomesh: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := enterBuildWorkingDirectory(); err != nil {
		fmt.Fprintf(stderr, "octomesh: %v\n", err)
		return 1
	}
	if cmd.main != nil {
		return cmd.main(args[1:], stdout, stderr)
	}
	return cli.Exit("octomesh "+args[0], cmd.run(args[1:]), stderr)
}

// usageError is a command's error in how it was called (its flags), not in
// what it did: the exit status is 2 (cli.Exit).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (usageError) IsUsage() bool   { return true }

// The commands' shared helpers (cmd/internal/cli).
var (
	newLogger                  = cli.NewLogger
	writeReady                 = cli.WriteReady
	enterBuildWorkingDirectory = cli.EnterBuildWorkingDirectory
)

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: octomesh <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'octomesh <command> -h' for the command's flags.")
}
