// Package e2e holds end-to-end tests: real Kitex clients and servers from
// examples/echo talking through `octomesh proxy` processes built from this
// tree, on Unix sockets and loopback TCP.
package e2e
