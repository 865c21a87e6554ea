// Package kubernetes holds the Kubernetes manifests of OctoMesh, embedded in
// Manifests: the control plane (control-plane/: etcd and NATS StatefulSets,
// the pilot, Meta, scanner and dispatcher Deployments) and an app in the
// OCTO-style pod (echo/: the app, a sidecar container and a standby sidecar
// container sharing an emptyDir for the Unix sockets and the hot-restart
// socket). docs/kubernetes.md explains them.
//
// The tests decode every manifest strictly into the k8s.io/api types and
// check that the pieces agree (volumes, ports, names, the sidecar config,
// the commands' flags); no cluster is needed. Only the tests import
// Kubernetes' modules, so that nothing of them links into a binary. The
// package must never import another OctoMesh package (its tests read the
// sidecar config with config.Parse).
package kubernetes
