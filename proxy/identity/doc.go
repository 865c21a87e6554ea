// Package identity is the sidecar's workload identity: its certificate and
// key, the trust bundle it verifies peers with, and how both are renewed.
// A Source comes from files an operator placed (NewStatic) or from the
// mesh's CA (NewFromCA: the sidecar makes its own ECDSA P-256 key, which
// never leaves it, sends a CSR with its node's bootstrap token, and renews
// at about half the certificate's lifetime). Source.Certificate and
// Source.Verify are what proxy/transport's mutual TLS asks at every
// handshake, so a renewed certificate serves new connections while open
// ones carry on.
//
// It must never import cp/... (the CA is reached through api/ca) nor the
// request path's packages (it is wired by proxy/server).
package identity
