// Package server wires one sidecar together from a config: clusters
// (proxy/upstream), route tables with each route's filter chain and
// forwarder (proxy/router, proxy/filter, proxy/downstream), listeners
// (proxy/transport) and the admin endpoint (proxy/admin), with the
// governance metrics. It is the only fan-in of the data plane; the request
// path itself lives in proxy/downstream.
//
// The request path, in the order a request meets it:
//
//	transport.Conn.onRequest       one whole frame off the socket
//	downstream.Conn.ServeFrame     codec.Header.Decode, route lookup, limits
//	the route's filter chain       rate_limit, fault, ... (proxy/filter)
//	downstream.Route.Serve         split, deadline, retries, mirror
//	upstream.Cluster.TryForward    breaker, lb pick, connection pick, seqID rewrite, write
//	upstream.conn.ServeFrame       response: slot lookup, seqID restore
//	downstream.Conn.Respond        write back to the caller
//
// Failures come back as downstream.Conn.Fail (or Reject, from a filter or
// the forwarder) and become TTHeader responses that carry a Thrift (or
// Kitex protobuf) exception and the om-error key.
//
// server is the sidecar: it must never import cp/... or sdk. It learns the
// control plane through proxy/xds and the wire contracts (api/...) alone.
package server
