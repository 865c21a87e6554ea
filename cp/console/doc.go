// Package console is OctoMesh's web console (`octomesh console`, and the
// demo's): one page, its assets embedded, plain JavaScript and SVG with no
// external network, and a read-only JSON API beside it that tests and
// tools use too (Console.Handler lists the routes).
//
// Pages: the service graph (apps and services, calls with req/s, error
// rate and p99, from two scrapes of the sidecars' /metrics some seconds
// apart, or from a Prometheus), services (instances with zone, SET,
// weight, the scanners' health marks and the calling sidecars' outlier
// ejections), sidecars (ctl proxy-status's data, stale ones highlighted),
// rules (the governance documents per service with revision and history,
// from the rule API), and the control plane (pilots and their sessions,
// Meta's assignment, push latency, scanners).
//
// Every view is gathered by cp/inspect, over HTTP (and the scanners'
// records from etcd); the rules come through api/rules' client. A source
// that does not answer is named in the view, never a blank page.
//
// console must never import a server package (cp/pilot, cp/meta,
// cp/scanner, cp/rules, cp/store) nor proxy/...: it runs beside a mesh,
// not inside one.
package console
