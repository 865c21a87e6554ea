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
	"pilot":       {"run the control plane: xDS server, registration API, embedded etcd", runPilot},
	"meta":        {"run the Meta Server: which pilot serves which app", runMeta},
	"scanner":     {"run a scanner: central health checks of the registered instances", runScanner},
	"mocksidecar": {"run simulated sidecars from a YAML step script", runMockSidecar},
	"perf":        {"profile a running sidecar through its admin endpoint", runPerf},
	"bench":       {"measure the mesh: topologies, load generator, report", runBench},
	"demo":        {"run two sidecars and echo apps on this machine, with live traffic", runDemo},
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(os.Stdout)
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "octomesh: unknown command %q\n\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err := enterBuildWorkingDirectory(); err != nil {
		fmt.Fprintf(os.Stderr, "octomesh: %v\n", err)
		os.Exit(1)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the flag set printed the usage
		}
		fmt.Fprintf(os.Stderr, "octomesh %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

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
