// Package downstream is the sidecar's request path from a caller's
// connection to the upstream: it decodes each call, looks up its route,
// admits it under the sidecar's limits, and runs the route's filter chain
// (proxy/filter), at whose end the route's forwarder picks a cluster of the
// split, sets the call's deadline, retries under the cluster's budget,
// mirrors, and hands the call to proxy/upstream. Answers come back to the
// Conn, which writes them to the caller; every error the mesh makes is a
// TTHeader exception with an om-error kind (codec.ErrorKind).
//
// In the order a call meets it:
//
//	Conn.ServeFrame     decode, health probes, route lookup, admission
//	Route.Handler       the route's filters (rate_limit, fault, ...)
//	Route.Serve         split, deadline, retries (call.go), mirror
//	upstream.Cluster    pick, send; the answer comes back to
//	Conn.Respond/Fail   written to the caller
//
// Hot-path package: it must never import cp/..., proxy/server, proxy/xds,
// proxy/admin or proxy/hotrestart.
package downstream
