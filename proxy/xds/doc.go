// Package xds is the sidecar's delta ADS client. It subscribes to services
// on demand (Subscribe, Await), receives their Clusters and
// ClusterLoadAssignments and the app's RouteConfiguration from the pilot,
// translates them into config.Cluster and config.Route values with their
// governance policies (policy.go: Envoy's types, and filter_metadata
// "octomesh" where Envoy has no field), and applies
// them to its Target (the sidecar, *server.Server) in an order that never
// leaves a route without its cluster: new and changed clusters, then
// routes, then removals. The Target builds new tables and swaps them in
// atomically, so the request path never locks.
//
// An update that does not translate or apply is NACKed with the reason and
// the last good configuration keeps serving. While the pilot is away the
// client keeps the last good configuration, reconnects with backoff, and on
// reconnecting tells the pilot which versions it holds, so that only what
// changed is sent.
//
// With a sharded control plane (Options.Meta) the client asks Meta which
// pilot serves its app, follows a pilot's redirect (gRPC status
// FAILED_PRECONDITION with a google.rpc.ErrorInfo naming the owner), and
// when it loses its pilot tries it again and then asks Meta again, naming
// the lost pilot, with backoff and jitter: it never connects to a pilot that neither Meta nor a
// redirect named.
//
// Subscriptions are kept in a file and subscribed again at start (preload),
// before the app asks.
//
// For the services the sidecar serves (Options.Authorization, from
// listeners[].authorization_from_pilot) it also subscribes to their
// Listeners, reads their RBAC filters back into rule sets (authz.go) and
// gives each inbound listener its services' rule sets
// (Target.ApplyAuthorization).
//
// One concern per file, each with its own tests:
//
//	client.go     Client, Options, Target: start and stop
//	pilot.go      finding the pilot: Meta, redirects, backoff, the connection
//	stream.go     one ADS stream: initial requests, each response ACKed or NACKed
//	state.go      what the pilot sent: resources held, their versions
//	translate.go  Envoy resources to config values (policy.go: the policies)
//	authz.go      a served service's Listener to its rule set (Envoy RBAC)
//	apply.go      the cluster set and routes the sidecar should hold, applied in a safe order
//	subscribe.go  on-demand subscriptions (Subscribe, Await); file.go keeps them
//	status.go     what the admin endpoint shows
//
// xds imports config and the wire contract api/meta (Meta's look-up and
// the pilot's redirect) and nothing else of OctoMesh: it must never import
// proxy/server (the server is the fan-in and imports xds), proxy/transport,
// proxy/router, proxy/upstream, proxy/filter, proxy/downstream (the hot
// path), or cp/....
package xds
