// Package filter is the contract of the request path's filter chain and
// the registry that filters are known by.
//
// A route's chain is built once per route table, off the request path,
// from the listener's list of filter names (Registry.Chain) and the route's
// policies: every filter the route configures wraps the next one
// (Middleware, func(Handler) Handler), and the last handler is the route's
// forwarder (proxy/downstream). A call then goes down the chain with plain
// calls: a filter passes it on, holds it (Request.Hold) to pass it on
// later, or answers it (Request.Reject). Handler's doc is the contract:
// who owns the frame, what may block, what happens on the way back.
//
// The built-in filters, each a package of its own with its Def:
//
//	authz        proxy/filter/authz       authorization by the caller's certificate identity
//	rate_limit   proxy/filter/ratelimit   token buckets per route, optionally per caller
//	fault        proxy/filter/fault       injected delays and aborts
//
// The registry is strict: a name registered twice, an unknown or repeated
// name in a listener's list, a route setting for a filter its listener
// leaves out, and bad settings are errors naming the field.
//
// Hot-path package: it must never import cp/..., proxy/downstream (which
// runs the chain), proxy/server, proxy/xds, proxy/admin or proxy/hotrestart.
package filter
