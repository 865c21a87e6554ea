// Package registration is the server side of the registration API that
// apps (through the sdk), operators and tests call to register instances
// and to set route rules and service policies: Handler serves it over HTTP
// on a Store, and the pilot and Meta mount it. The API itself (paths,
// bodies, errors, validation, the one client) is api/registry's.
//
// With RequireIdentity the API is authenticated: mounted behind mutual TLS
// (api/ca.ServerTLS), it lets an app register only instances of its own
// certificate's app and of the services that app owns (identity.go).
//
// registration imports api/registry, api/ca (to read a client
// certificate's identity) and config; it must never import an
// etcd client (the Store hides it), proxy/..., sdk or another cp/...
// package.
package registration
