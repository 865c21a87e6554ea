// Package ca is the wire contract of the mesh's certificate authority
// (cp/ca, `octomesh ca`): workload identities (ID, the SPIFFE form
// spiffe://<trust-domain>/app/<app> carried in a certificate's URI SAN),
// the signing request and answer of POST /v1/certificates, the trust
// bundle of GET /v1/bundle, and the one client sidecars use (Client).
//
// ca is a leaf: it imports nothing of OctoMesh, and must never import
// proxy/..., cp/... or sdk.
package ca
