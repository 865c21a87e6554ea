// Package e2e holds end-to-end tests: real Kitex clients and servers from
// examples/echo talking through `octomesh proxy` processes built from this
// tree, on Unix sockets and loopback TCP.
//
// e2e runs the mesh as users do, through the binary: it must never import
// proxy/... or cp/....
package e2e
