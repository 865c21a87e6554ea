// Package inspect gathers the mesh's state for an operator, from the
// control plane and the sidecars, as typed results (structs with JSON
// tags): `octomesh ctl proxy-status`, `proxy-config` and `describe`
// (cmd/internal/ctlview) print them, and the web console serves them.
//
//   - ProxyStatus: every sidecar connected to the pilots, per resource kind
//     the version it ACKed beside the pilot's current one (SYNCED, STALE,
//     NOT SENT, NACKED), from each pilot's GET /debug/status.
//   - ProxyConfig: one node's config as its pilot would send it now (GET
//     /debug/config?node=) and as the sidecar holds it (its admin /xds and
//     /config_dump), and where the two differ.
//   - DescribeService: a service's instances (zone, SET, weight) with the
//     scanners' health marks, its policy, and the apps' route rules that
//     send calls to it (the registration API and GET /debug/service).
//   - Scrape and GraphBetween: the service graph (apps, the services they
//     call, calls, errors and p99 per edge) from two scrapes of the
//     sidecars' /metrics; Services and Service: every service with its
//     instances' health and the calling sidecars' view of them (their
//     /clusters: outlier ejections); ControlPlane and Scanners: Meta's
//     assignment, the pilots' sessions and push latency, and the scanners
//     the pilots follow (GET /debug/scanners) with their counters and
//     targets. The web console (cp/console) serves these.
//
// The pilots are given by their HTTP addresses, or learnt from Meta's GET
// /v1/assignment. Every call has a timeout; a pilot or a sidecar that does
// not answer is reported in the result (Unreachable), not as the view's
// failure.
//
// inspect speaks HTTP to the pilots, Meta and the sidecars' admin
// endpoints; it imports config and the wire contracts (api/meta,
// api/registry) only. It must never import cp/pilot, cp/meta or any other
// server package (their JSON is mirrored here, and its tests check the
// mirror against a real pilot), nor proxy/...: the console links it.
package inspect
