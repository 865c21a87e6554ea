// Package registry is the naming service's wire contract: what an
// instance registration is (Instance), what an app's route rules are
// (RouteRule, with every policy of a config.Route), what a service's policy
// is (ServicePolicy: its cluster's policies and its own rules), how they are
// validated and read back, the registration API over HTTP (RegisterRequest,
// ErrorBody, the paths in api.go), and its one client (Client, and
// Registration, which keeps one instance registered with a lease until it
// is closed). cp/registration serves the API; cp/store keeps its data in
// etcd.
//
// Apps link this package through the sdk, so it stays a leaf: it imports
// config and the standard library only, and must never import an etcd or
// gRPC client, proxy/..., sdk or cp/....
package registry
