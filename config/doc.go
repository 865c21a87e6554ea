// Package config reads a sidecar's static YAML configuration: listeners,
// routes, clusters with endpoints, limits. Decoding is strict: unknown and
// duplicate fields are errors, and every error names the file, the line and
// the field path ("sidecar.yaml:12: clusters[0].endpoints[1].weight: ...").
// Checks that need other packages (balancer names) are made where the
// config is used, through Config.Errorf, so they read the same way.
//
// config is a leaf: it must never import another OctoMesh package.
package config
