// Package catest is a CA for tests whose trust bundle and certificates are
// files, as `octomesh ca issue` writes them: New starts a cp/ca CA for the
// trust domain mesh.local with its data and its bundle file in a test's
// folder, and Issue writes an app's certificate and key files beside them,
// for the servers and clients under test to read.
//
// It is for tests only. It imports cp/ca, api/ca and the standard library,
// and must never import proxy/..., sdk, cp/store or cmd/...: only _test.go
// files import it, and no server, tool or library links it
// (internal/archtest checks both).
package catest
