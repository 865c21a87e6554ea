// Package e2e holds end-to-end tests: real Kitex clients and servers from
// examples/echo talking through `octomesh proxy` processes built from this
// tree, on Unix sockets and loopback TCP.
//
// e2e runs the mesh as users do, through the binary: it must never import
// proxy/..., cp/pilot, cp/meta, cp/scanner, cp/registration, cp/shardmap,
// cp/store or cp/mocksidecar. One control-plane package is linked: the
// staged-release test serves cp/release's API in the test process (no
// command serves it on its own; the agents under test are real processes).
// The console's browser test runs the console (cp/console, which reads the
// mesh over HTTP) in the test process, over a dispatcher, a pilot and a
// scanner run as processes.
package e2e
