// Package registry is OctoMesh's naming service: what an instance
// registration is (Instance), what an app's route rules are (RouteRule,
// with every policy of a config.Route), what a service's policy is
// (ServicePolicy: its cluster's policies and its own rules), how they are
// laid out in etcd (InstanceKey, ServicePrefix, RoutesKey, PolicyKey),
// and the pilot's registration API over HTTP: the server side (Handler, over
// a Store that the pilot's Diplomat implements with etcd) and the client
// side (Client, and Registration, which keeps one instance registered with
// a lease until it is closed).
//
// The sdk imports this package to register apps, so it must stay small: it
// imports only the standard library and config, never an etcd client (only
// cp/pilot/diplomat talks to etcd), proxy/... or another cp/... package.
// The embedded etcd server lives in cp/registry/embedded.
package registry
