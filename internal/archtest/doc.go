// Package archtest holds the test that keeps the package arrows of
// docs/architecture.md true: leaves import nothing of ours, the hot path
// never reaches the control plane, only proxy/transport imports netpoll,
// only cp/store imports the etcd client, cp/... never imports
// proxy/..., and what apps link (sdk, cp/registry) carries no etcd, gRPC or
// Envoy API.
package archtest
