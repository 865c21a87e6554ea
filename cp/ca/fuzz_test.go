package ca

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"testing"

	api "github.com/octomesh/octomesh/api/ca"
)

// FuzzSignRequest feeds the CA's door arbitrary bodies: the JSON, the PEM
// and the CSR inside are all untrusted. It must never panic, and must sign
// only a request for an identity the token allows.
func FuzzSignRequest(f *testing.F) {
	c, err := New(Options{TrustDomain: "mesh.local", DataDir: f.TempDir(),
		Tokens: []Grant{{Node: "n", Token: token1, Apps: []string{"client"}}}})
	if err != nil {
		f.Fatal(err)
	}
	good := csrFor(f, p256(f), "spiffe://mesh.local/app/client")
	body := func(der []byte) []byte {
		b, _ := json.Marshal(api.SignRequest{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))})
		return b
	}
	f.Add(body(good))
	f.Add(body(csrFor(f, p256(f), "spiffe://mesh.local/app/server")))
	f.Add(body(good[:len(good)/2]))
	f.Add([]byte(`{"csr":""}`))
	f.Add([]byte(`{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n","x":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		der, err := ParseSignRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		resp, err := c.Sign(der, token1)
		if err != nil {
			return
		}
		chain, err := api.ParseCertificates([]byte(resp.Chain))
		if err != nil {
			t.Fatalf("signed, but the chain does not parse: %v", err)
		}
		if id, err := api.IDOf(chain[0]); err != nil || id.App != "client" {
			t.Fatalf("signed identity %v (%v), which the token does not allow", id, err)
		}
	})
}
