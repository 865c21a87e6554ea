// Package ca is the mesh's certificate authority: it signs short-lived
// X.509 certificates for sidecars from their CSRs (the key never leaves
// the sidecar), for the identity spiffe://<trust-domain>/app/<app> that a
// node's bootstrap token allows. Its root is generated on first start and
// kept in the data directory, or loaded from files; its trust bundle holds
// the signing root and at most one more (during a root change). It serves
// HTTPS (Handler, ServingCertificate): POST /v1/certificates and GET
// /v1/bundle (api/ca is the wire contract). `octomesh ca` runs it.
//
// It must never import proxy/... or another cp/... package: it stands
// alone, so that it can run on a host of its own with its root key.
package ca
