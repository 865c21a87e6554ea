// Package release is the wire contract of staged sidecar releases: the
// artifacts an operator uploads, the releases and their stages, the target
// an agent polls for, the reports it sends back, and the node reports that
// `octomesh ctl nodes` shows. Client is its one client, used by the agent
// (poll, report, download) and by `octomesh ctl release` (upload, create,
// pause, resume, abort, status, nodes).
//
// The server is cp/release; docs/operations.md ("Staged releases") says
// how a release proceeds.
//
// It is a leaf: it must never import cp/..., proxy/..., agent or sdk (the
// agent imports it, and links no control-plane code through it).
package release
