// Package config reads a sidecar's static YAML configuration: listeners,
// routes, clusters with endpoints, limits. Decoding is strict: unknown and
// duplicate fields are errors, and every error names the file, the line and
// the field path ("sidecar.yaml:12: clusters[0].endpoints[1].weight: ...").
// Checks that need other packages (balancer names) are made where the
// config is used, through Config.Errorf, so they read the same way.
// DecodeYAML gives the project's other YAML inputs (Mock-Sidecar scripts)
// the same strict decoding and errors.
//
// config is a leaf: it must never import another OctoMesh package.
package config
