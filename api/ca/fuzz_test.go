package ca

import (
	"strings"
	"testing"
)

// FuzzParseID: identities come from peers' certificates and from CSRs.
// What parses must print back the same.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"spiffe://mesh.local/app/echo", "spiffe://a/app/b/c", "spiffe://A/app/b", "spiffe:///app/x", "spiffe://x/app/", "http://x/app/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if id.String() != s || id.URL().String() != s {
			t.Fatalf("%q parsed to %+v, which prints %q / %q", s, id, id.String(), id.URL().String())
		}
		if strings.ContainsAny(id.App, "/?#@:") || strings.ContainsAny(id.TrustDomain, "/?#@:") {
			t.Fatalf("%q: %+v", s, id)
		}
	})
}

// FuzzParseCertificates: bundles and chains come from the CA over the
// network, and from files.
func FuzzParseCertificates(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}
