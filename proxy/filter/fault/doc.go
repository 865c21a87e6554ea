// Package fault is the fault filter: it holds back (delay) or answers
// (abort) a share of a route's calls, optionally only calls marked as test
// traffic by TTHeader string info keys, so that callers' timeouts,
// retries and fallbacks can be tested on the real path. As in Envoy, a
// call may be delayed and then aborted; an aborted call is answered with a
// "fault" error and never forwarded.
//
// Hot-path package: it must never import cp/..., proxy/downstream,
// proxy/server, proxy/xds, proxy/admin or proxy/hotrestart (the packages
// above the filters).
package fault
