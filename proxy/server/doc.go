// Package server wires one sidecar together from a config: clusters
// (proxy/upstream), route tables (proxy/router), listeners
// (proxy/transport) and the admin endpoint (proxy/admin). It is the only
// fan-in of the data plane.
//
// The request path, in the order a request meets it:
//
//	transport.Conn.onRequest       one whole frame off the socket
//	downstream.ServeFrame          codec.Header.Decode, route lookup, limits
//	upstream.Cluster.TryForward    lb pick, connection pick, seqID rewrite, write
//	upstream.conn.ServeFrame       response: slot lookup, seqID restore
//	downstream.Respond             write back to the caller
//
// Failures come back as downstream.Fail and become TTHeader responses that
// carry a Thrift (or Kitex protobuf) exception and the om-error key.
package server
