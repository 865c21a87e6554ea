// Package ca is the wire contract of the mesh's certificate authority
// (cp/ca, `octomesh ca`): workload identities (ID, the SPIFFE form
// spiffe://<trust-domain>/app/<app> carried in a certificate's URI SAN),
// the signing request and answer of POST /v1/certificates, the trust
// bundle of GET /v1/bundle, the one client sidecars use (Client), and the
// mutual TLS of the control plane's own doors built from files (ServerTLS
// for the pilot's and Meta's ports, ClientTLS for their clients, PeerID to
// read a verified peer's identity).
//
// ca is a leaf: it imports nothing of OctoMesh, and must never import
// proxy/..., cp/... or sdk.
package ca
