package kubernetes

import "embed"

// Manifests holds every manifest, by its path below deploy/kubernetes
// (control-plane/etcd.yaml, echo/echo-server.yaml, ...). A file may hold
// several documents separated by "---" lines.
//
//go:embed */*.yaml
var Manifests embed.FS
