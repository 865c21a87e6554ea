// Package ctl is `octomesh ctl`: the operator's command line for
// governance rules (apply, get, delete, diff), a client of the rule API
// that the dispatcher serves (api/rules' Client). docs/ctl.md is its
// reference.
//
// It must never import cp/...: it is a client, and speaks api/rules only.
package ctl
