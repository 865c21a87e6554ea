// Package authz is the authz filter: authorization by caller at the
// inbound sidecar, before a call reaches the app. A listener's rule sets
// (config.AuthzPolicy, one per service) are checked against the caller's
// identity from its certificate (filter.Request.Peer, set by the transport
// at the TLS handshake; never a header) and the call's method:
//
//   - a service without a rule set: every caller is allowed;
//   - a rule set with an allow rule: only calls some allow rule matches;
//   - a matching deny rule refuses the call, whatever allow rules match.
//
// A refused call is answered at once with a permission_denied error that
// names the caller and the rule set (authz.denied); calls checked and let
// through count as authz.allowed. The rule sets are compiled once per
// route table into maps read without locks.
//
// Hot-path package: it must never import cp/..., api/..., proxy/downstream,
// proxy/server, proxy/xds, proxy/admin or proxy/hotrestart (the packages
// above the filters).
package authz
