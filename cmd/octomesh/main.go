package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{
	"proxy":       {"run a sidecar from a config file", runProxy},
	"agent":       {"keep a sidecar running: restart on crash, hot upgrade with rollback", runAgent},
	"pilot":       {"run the control plane: xDS server, registration API, embedded etcd", runPilot},
	"meta":        {"run the Meta Server: which pilot serves which app", runMeta},
	"mocksidecar": {"run simulated sidecars from a YAML step script", runMockSidecar},
	"perf":        {"profile a running sidecar through its admin endpoint", runPerf},
	"bench":       {"measure the mesh: topologies, load generator, report", runBench},
	"demo":        {"run two sidecars and echo apps on this machine, with live traffic", runDemo},
	"version":     {"print this build's version", runVersion},
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
	err := cmd.run(args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0 // -h: the flag set printed the usage
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "octomesh %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "octomesh %s: %v\n", args[0], err)
	return 1
}

// usageError is a command's error in how it was called (its flags), not in
// what it did: the exit status is 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// enterBuildWorkingDirectory makes relative paths in flags (bench --json,
// --markdown, --plot, --from-json; a proxy's --config; ...) mean what they
// mean in a shell: `bazel run //cmd/octomesh -- ...` starts the binary in its
// runfiles tree and names the caller's directory in BUILD_WORKING_DIRECTORY.
func enterBuildWorkingDirectory() error {
	wd := os.Getenv("BUILD_WORKING_DIRECTORY")
	if wd == "" {
		return nil
	}
	if err := os.Chdir(wd); err != nil {
		return fmt.Errorf("BUILD_WORKING_DIRECTORY: %w", err)
	}
	return nil
}

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

// newLogger returns a text logger on stderr at the named level, and the
// variable holding that level, which can change it while the logger runs.
func newLogger(level string) (*slog.Logger, *slog.LevelVar, error) {
	lv := new(slog.LevelVar)
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})), lv, nil
}
