// Package e2e holds end-to-end tests: real Kitex clients and servers from
// examples/echo talking through `octomesh proxy` processes built from this
// tree, on Unix sockets and loopback TCP.
//
// e2e runs the mesh as users do, through the binary: it must never import
// proxy/..., cp/pilot, cp/meta, cp/scanner, cp/registration, cp/shardmap
// or cp/mocksidecar. A few control-plane packages are linked where no
// command serves their API on its own yet: the staged-release test serves
// cp/release's API in the test process (the agents under test are real
// processes), and the console's browser test serves the operator API the
// dispatcher will (cp/rules on cp/store, over the pilot process' etcd,
// beside cp/release) and runs the console (cp/console) in the test
// process.
package e2e
