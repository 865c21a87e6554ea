// Package mocksidecar runs simulated sidecars against the control plane:
// the control plane's regression suite (testdata/*.yaml, run by go test)
// and its load test (octomesh mocksidecar).
//
// Each simulated sidecar speaks real delta ADS (go-control-plane's
// types) to the pilot that Meta names for its app, over real HTTP/2 and
// gRPC on a connection of its own: by default through a lean client of
// the one method (lean.go: frames written by the sidecar's goroutines
// and read by an event loop per core, leanloop.go, which reads the ready
// connections and sends the sidecars' ACKs with one io_uring submission
// each; a fraction of a gRPC-go ClientConn's memory and reconnection
// cost), or through gRPC-go (Options.Transport "grpc"). On
// the lean transport a response is read with protowire (wire.go: what
// proto.Unmarshal would set, or its error); on either, an endpoint
// resource's body is read for what expect checks without Envoy's types, so
// that thousands share a process cheaply. It executes a Script:
// a list of steps (connect, subscribe, unsubscribe, expect, quiet, ack,
// nack, sleep, disconnect, reconnect, repeat, barrier, assert, register,
// deregister, control) read from strict YAML, with variables such as
// ${i} (the sidecar's index) and ${app}. The engine is the mechanism; the
// script is the policy. A run reports per-step latency percentiles,
// failures, counters and the moves between pilots.
//
// Like a real sidecar, a simulated one whose stream breaks (not by a
// disconnect step) reconnects by itself: it follows a pilot's redirect,
// or tries the lost pilot again and then asks Meta naming it, with
// backoff and jitter, and sends the versions it holds; it never connects to a pilot that neither
// Meta nor a redirect named. The logic repeats proxy/xds's (a cp package
// may not import proxy/...).
//
// mocksidecar imports config, internal/uring (the loop's batched
// receives and sends) and the wire contracts api/meta (the look-up
// client, the redirect) and api/registry (the registration API's
// client). Like a sidecar, it must never import proxy/..., cp/pilot or
// cp/meta.
package mocksidecar
