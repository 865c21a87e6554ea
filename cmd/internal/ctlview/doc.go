// Package ctlview is the operator's istioctl-style views of `octomesh
// ctl`: proxy-status, proxy-config and describe, printed as tables, JSON
// or YAML from cp/inspect's results. The ctl command calls Main.
//
// ctlview imports cp/inspect, cmd/internal/cli and the wire contracts;
// it must never import a server package (cp/pilot, cp/meta, proxy/...):
// the views speak to the mesh over HTTP only.
package ctlview
