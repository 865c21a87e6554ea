package main

import (
	"io"

	"github.com/octomesh/octomesh/cmd/internal/ctl"
	"github.com/octomesh/octomesh/cmd/internal/ctlrelease"
	"github.com/octomesh/octomesh/cmd/internal/ctlview"
)

// ctlOthers are the ctl commands that are not the rule API's: the views
// (they read pilots, Meta and sidecars) and releases. Their flags follow
// the command (octomesh ctl proxy-status --pilot ADDR).
var ctlOthers = map[string]func(args []string, stdout, stderr io.Writer) int{
	"release": ctlrelease.Main,
	"nodes":   ctlrelease.NodesMain,
}

func init() {
	ctl.Others["release"] = "staged releases of the sidecar: upload, create, status, pause, resume, abort, artifacts"
	ctl.Others["nodes"] = "every node's last report from its agent: version, state, health, restarts, resources"
	for name, help := range ctlview.Commands {
		ctl.Others[name] = help + " (--pilot ADDR or --meta ADDR)"
		ctlOthers[name] = func(args []string, stdout, stderr io.Writer) int {
			return ctlview.Main(name, args, stdout, stderr)
		}
	}
}

// runCtl is `octomesh ctl`: the command named first goes to its package,
// the rule commands to ctl.
func runCtl(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if run, ok := ctlOthers[args[0]]; ok {
			return run(args[1:], stdout, stderr)
		}
	}
	return ctl.Main(args, stdout, stderr)
}
