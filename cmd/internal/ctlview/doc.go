// Package ctlview is the operator's istioctl-style views of `octomesh
// ctl`: proxy-status, proxy-config and describe, printed as tables, JSON
// or YAML from cp/inspect's results. The ctl command calls Main.
//
// ctlview imports cp/inspect, cmd/internal/cli and the wire contracts. It
// must never import cp/pilot, cp/meta, cp/store or proxy/...: the views
// speak to the mesh over HTTP only.
package ctlview
