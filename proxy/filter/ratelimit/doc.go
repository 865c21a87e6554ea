// Package ratelimit is the rate_limit filter: a token bucket per route, or
// per route and calling app (TTHeader from-service), in front of the
// route's forwarder. A call over the limit is answered at once with a
// rate_limited error; it is never queued.
//
// The bucket is GCRA (the generic cell rate algorithm): one atomic word
// per bucket, the time at which it will be full again, moved forward by
// one call's share of a second per admitted call. A call is admitted while
// that time is at most Burst calls' worth ahead of now.
//
// Hot-path package: it must never import cp/..., proxy/downstream,
// proxy/server, proxy/xds, proxy/admin or proxy/hotrestart (the packages
// above the filters).
package ratelimit
