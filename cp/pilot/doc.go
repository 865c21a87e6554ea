// Package pilot is OctoMesh's xDS control plane: it serves sidecars their
// clusters, endpoints and route rules over delta ADS (and proxyless gRPC
// clients over state-of-the-world ADS), from the registry in etcd.
//
// Resources, all standard Envoy types:
//
//	Cluster                named by service   EDS over ADS, round robin, zone/SET-aware, the service's policy
//	ClusterLoadAssignment  named by service   one locality per (zone, SET); weight 0 is DRAINING
//	Listener               named by service   an API listener for proxyless gRPC (xds:///service), the service's own rules
//	RouteConfiguration     named by app       the app's outbound route rules, if it has any
//
// A service exists while it has at least one registered instance. The
// governance policies are in Envoy's types where Envoy has one, else in
// filter_metadata["octomesh"] (policy.go; docs/control-plane.md has the
// table); proxy/xds/translate.go is the other half and round-trips them.
//
// Inside, in the order a change travels:
//
//	Diplomat (cp/store)         the only contact with etcd: watches per service (instances, policy) / app
//	Data Cache (dataCache)      raw data and resources, each encoded once per version
//	Ability Manager (abilityMgr) index (kind, name) -> subscribed sessions
//	Node Snapshot (Snapshot)    per node: what it lacks, from its subscriptions and last response
//	SessionMgr (SessionMgr)     one Session per stream: node, subscriptions, ACK/NACK state
//
// A pilot started with ShardOptions is one shard of several (shard.go):
// it holds a leased membership key, follows the assignment of apps to
// pilots (cp/shardmap), admits only sessions of the apps it owns and
// redirects the others (gRPC FAILED_PRECONDITION with a
// google.rpc.ErrorInfo naming the owner), preloads an app's services when
// the app is assigned to it, and releases them and redirects the app's
// sessions when it moves away.
//
// The pilot's own handler runs delta streams (delta.go). On the xDS port's
// lean transport (lean.go, internal/grpclite; the default) a connection
// has one goroutine, which reads the requests and ACKs and handles them
// right there, and a redirect writes the stream's trailers at once; on
// gRPC-go (Options.XDSTransport "grpc") a stream has a reader that takes
// requests and ACKs and a handler goroutine that waits to end it. Either
// way a push is written by the fan-out straight to the streams, one
// response encoded once for all the sessions it goes to (xdsCodec, in
// XDSServerOptions, on gRPC-go); on the lean transport each fan-out
// worker sends its share with one io_uring submission per 128 sessions
// (grpclite.Batch) rather than one write(2) each, and an ACK is decoded
// without protobuf's reflection (decodeAck). go-control-plane's server runs the state-of-the-world
// streams, with Snapshot as its cache and SessionMgr its callbacks. A NACK
// is counted and logged, and the session stays on its last acknowledged
// version: the rejected version is not sent again, and the next change
// is. See docs/control-plane.md.
//
// Health marks (the scanners', cp/scanner) are a third watch per service:
// a marked instance is sent UNHEALTHY. A stream that drops without the
// pilot ending it makes the pilot ask the scanner owning the sidecar's
// inbound addresses to check them now (fastpath.go).
//
// With Options.NATSURL the pilot learns rule changes (route rules,
// policies) from the dispatcher's notices (cp/dispatcher, over NATS)
// instead of etcd watches: the Data Cache's Source reads a key once when
// it is first needed and again when a notice names it (notices.go), so the
// push path is the same; it answers the dispatcher's back-check with the
// revisions it holds. Instances and health marks are still watched.
//
// With Options.XDSTLS the xDS port is mutual TLS and a stream serves only
// the app its sidecar's certificate names (identity.go, docs/security.md).
// With Options.HTTPTLS the HTTP port is mutual TLS and the registration API
// lets an app register only its own instances of services it owns
// (cp/registration's RequireIdentity); with Options.ScannerTLS the
// check-now requests to scanners are mutual TLS too.
//
// The pilot imports the wire contracts (api/ca, api/meta, api/pilot, api/registry, api/rules,
// api/scanner), config,
// stats, cp/dispatcher/publish, cp/registration, cp/shardmap, cp/store and internal/grpclite. It must never import
// proxy/..., sdk, cp/meta (Meta is a peer, not a library), cp/dispatcher
// (a peer met on NATS) or an etcd
// client: only cp/store talks to etcd.
package pilot
