package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// UsageError is a command's error in how it was called (its flags), not in
// what it did: the exit status is 2. Exit knows an error of any type with
// an IsUsage method as one.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }
func (UsageError) IsUsage() bool   { return true }

// Exit reports err of the command name on stderr and returns the exit
// status: 0, 1 when the command failed, 2 for a usage error, as the flag
// package does; -h is not an error.
func Exit(name string, err error, stderr io.Writer) int {
	var ue interface{ IsUsage() bool }
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue) && ue.IsUsage():
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// NewLogger returns a text logger on stderr at the named level, and the
// variable holding that level, which can change it while the logger runs.
func NewLogger(level string) (*slog.Logger, *slog.LevelVar, error) {
	lv := new(slog.LevelVar)
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})), lv, nil
}

// WriteReady reports readiness (r as JSON) on an inherited descriptor.
func WriteReady(fd int, r any) error {
	f := os.NewFile(uintptr(fd), "ready-fd")
	if f == nil {
		return fmt.Errorf("--ready-fd %d is not an open descriptor", fd)
	}
	defer f.Close()
	if err := json.NewEncoder(f).Encode(r); err != nil {
		return fmt.Errorf("--ready-fd %d: %w", fd, err)
	}
	return nil
}

// EnterBuildWorkingDirectory makes relative paths in flags (bench --json,
// --markdown, --plot, --from-json; a proxy's --config; ...) mean what they
// mean in a shell: `bazel run //cmd/octomesh -- ...` starts the binary in its
// runfiles tree and names the caller's directory in BUILD_WORKING_DIRECTORY.
func EnterBuildWorkingDirectory() error {
	wd := os.Getenv("BUILD_WORKING_DIRECTORY")
	if wd == "" {
		return nil
	}
	if err := os.Chdir(wd); err != nil {
		return fmt.Errorf("BUILD_WORKING_DIRECTORY: %w", err)
	}
	return nil
}
