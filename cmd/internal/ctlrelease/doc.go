// Package ctlrelease is `octomesh ctl release ...` and `octomesh ctl
// nodes`: upload a sidecar binary to the control plane's release store,
// create, pause, resume and abort staged releases, and show every node's
// version and state. Main and NodesMain take the arguments after
// `release` and `nodes`; `octomesh ctl` calls them.
//
// It speaks the release API (api/release's client) over HTTP: it must
// never import cp/... (it links no server), proxy/..., agent or sdk.
package ctlrelease
