// Package sdk is the OctoMesh Mesh SDK for applications: the Kitex client and
// server options that put an app behind its local sidecar.
//
// An app in the mesh never dials a remote service and never listens on TCP:
//
//   - as a client, it sends every call to its sidecar's Unix socket with
//     TTHeader framing, and the sidecar routes on the TTHeader int info keys
//     ToService (6) and ToMethod (9) that Kitex fills in (ClientOptions);
//   - as a server, it listens on a Unix socket of its own and the sidecar,
//     which owns the service's TCP port, forwards inbound calls to it
//     (ServerOptions).
//
// The SDK is linked into applications, so it must stay small: it imports
// codec and the wire-contract leaves api/registry (to register) and api/ca
// (to register over mutual TLS with the app's certificate), and must
// never import proxy/... (the sidecar) or cp/... (the control plane): an
// app depends on the mesh only through the wire protocol and this package.
package sdk
