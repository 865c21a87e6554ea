package main

import (
	"flag"
	"fmt"
	"os"
)

// version is this build's version. Release builds set it:
//
//	go build -ldflags "-X main.version=1.4.0" ./cmd/octomesh
//
// A sidecar reports it in its ready info (api/sidecar's ReadyInfo), which
// is how the agent knows what runs after an upgrade.
var version = "dev"

func runVersion(args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	_, err := fmt.Fprintf(os.Stdout, "octomesh %s\n", version)
	return err
}
