// Package archtest holds the tests that keep the package arrows of
// docs/architecture.md true:
//
//   - TestPackageArrows: what each package may import of ours;
//   - TestNeverImports: what a package must never depend on, and why:
//     nothing imports a command, the hot path never reaches the control
//     plane, the sidecar and the sdk reach the control plane through the
//     wire contracts (api/...) only, the wire contracts are leaves, Meta
//     and the pilots do not import each other;
//   - TestThirdParty: nothing imports netpoll (proxy/transport has its own
//     poller), only cp/store imports etcd, and what apps and sidecars link carries no etcd (apps:
//     no gRPC or Envoy API either);
//   - TestDocsSayWhatNeverToImport: every package's doc.go says what it
//     must never import, and the package holds to it.
//
// archtest reads the tree through go list: it must never import another
// OctoMesh package.
package archtest
