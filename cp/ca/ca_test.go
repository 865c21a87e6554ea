package ca

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
)

const token1 = "node-1-token-0123456789"

func newCA(t *testing.T, mod func(*Options)) *CA {
	t.Helper()
	o := Options{TrustDomain: "mesh.local", DataDir: t.TempDir(),
		Tokens: []Grant{{Node: "node-1", Token: token1, Apps: []string{"client", "server"}}}}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func csrFor(t testing.TB, key any, uris ...string) []byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func p256(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignGivesTheRequestedIdentityForItsKeyAndLifetime(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	c := newCA(t, func(o *Options) { o.Lifetime = 10 * time.Minute; o.Now = func() time.Time { return now } })
	key := p256(t)
	resp, err := c.Sign(csrFor(t, key, "spiffe://mesh.local/app/client"), token1)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := api.ParseCertificates([]byte(resp.Chain))
	if err != nil {
		t.Fatal(err)
	}
	leaf := chain[0]
	id, err := api.IDOf(leaf)
	if err != nil || id.String() != "spiffe://mesh.local/app/client" {
		t.Fatalf("identity %v, %v", id, err)
	}
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Error("the certificate is not for the request's key")
	}
	if got := leaf.NotAfter.Sub(now); got != 10*time.Minute {
		t.Errorf("lifetime %v, want 10m", got)
	}
	if !resp.NotAfter.Equal(leaf.NotAfter) {
		t.Errorf("not_after %v, certificate's %v", resp.NotAfter, leaf.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.Root())
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the leaf does not verify against the root: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now.Add(11 * time.Minute)}); err == nil {
		t.Error("the leaf verifies after its lifetime")
	}
	if c.Stats.Signed.Load() != 1 {
		t.Errorf("signed %d", c.Stats.Signed.Load())
	}
}

func TestSignRefuses(t *testing.T) {
	c := newCA(t, nil)
	key := p256(t)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name   string
		csr    []byte
		token  string
		reason Refusal
		msg    string
	}{
		{"no token", csrFor(t, key, "spiffe://mesh.local/app/client"), "", RefusedBadToken, "token"},
		{"unknown token", csrFor(t, key, "spiffe://mesh.local/app/client"), "someone-elses-token-xyz", RefusedBadToken, "token"},
		{"app the token does not allow", csrFor(t, key, "spiffe://mesh.local/app/billing"), token1, RefusedNotAllowed, `node "node-1" may not have identity spiffe://mesh.local/app/billing`},
		{"other trust domain", csrFor(t, key, "spiffe://evil.local/app/client"), token1, RefusedBadIdentity, "not in trust domain mesh.local"},
		{"no SAN", csrFor(t, key), token1, RefusedBadIdentity, "exactly one URI SAN"},
		{"two SANs", csrFor(t, key, "spiffe://mesh.local/app/client", "spiffe://mesh.local/app/server"), token1, RefusedBadIdentity, "exactly one URI SAN"},
		{"not an app path", csrFor(t, key, "spiffe://mesh.local/ca"), token1, RefusedBadIdentity, "path must be /app/"},
		{"garbage", []byte("not DER"), token1, RefusedBadRequest, "not a certificate request"},
		{"wrong key type", csrFor(t, edKey, "spiffe://mesh.local/app/client"), token1, RefusedBadRequest, "want ECDSA P-256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := c.Stats.Refused[tc.reason].Load()
			_, err := c.Sign(tc.csr, tc.token)
			var e *Error
			if !errors.As(err, &e) || e.Reason != tc.reason || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want reason %v containing %q", err, tc.reason, tc.msg)
			}
			if c.Stats.Refused[tc.reason].Load() != before+1 {
				t.Error("not counted")
			}
		})
	}
}

func TestRootIsKeptAndBundleTakesASecondRoot(t *testing.T) {
	dir := t.TempDir()
	a := newCA(t, func(o *Options) { o.DataDir = dir })
	b := newCA(t, func(o *Options) { o.DataDir = dir })
	if !a.Root().Equal(b.Root()) {
		t.Fatal("a second start in the same data directory made a new root")
	}
	if fi, err := os.Stat(filepath.Join(dir, "root-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key file: %v %v", fi, err)
	}
	// The next root, trusted before it signs.
	next, _, err := NewRoot("mesh.local", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(t.TempDir(), "next.pem")
	if err := os.WriteFile(extra, api.EncodeCertificates(next), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCA(t, func(o *Options) { o.DataDir = dir; o.ExtraRootsFile = extra })
	if len(c.Bundle()) != 2 || !c.Bundle()[0].Equal(a.Root()) || !c.Bundle()[1].Equal(next) {
		t.Fatalf("bundle has %d roots", len(c.Bundle()))
	}
	resp, err := c.Sign(csrFor(t, p256(t), "spiffe://mesh.local/app/server"), token1)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := api.ParseCertificates([]byte(resp.Bundle)); len(got) != 2 {
		t.Errorf("the answer's bundle has %d roots, want 2", len(got))
	}
	// Three roots is more than a root change needs.
	two := filepath.Join(t.TempDir(), "two.pem")
	if err := os.WriteFile(two, append(api.EncodeCertificates(next), api.EncodeCertificates(a.Root())...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{TrustDomain: "mesh.local", DataDir: dir, ExtraRootsFile: two}); err == nil || !strings.Contains(err.Error(), "holds 2 certificates") {
		t.Errorf("error %v", err)
	}
}

func TestLoadTokensNamesTheField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"tokens:\n  - node: n1\n    token: short\n    apps: [a]\n", "t.yaml: tokens[0].token: missing or shorter than 16 bytes"},
		{"tokens:\n  - node: n1\n    token: 0123456789abcdef\n", "tokens[0].apps: at least one app"},
		{"tokens:\n  - node: n1\n    token: 0123456789abcdef\n    apps: [Bad]\n", "tokens[0].apps[0]"},
		{"tokens:\n  - node: n1\n    tokn: 0123456789abcdef\n", "tokn"},
		{"tokens:\n  - {node: n1, token: 0123456789abcdef, apps: [a]}\n  - {node: n2, token: 0123456789abcdef, apps: [b]}\n", `tokens[1].token: the same token as node "n1"`},
	} {
		_, err := LoadTokens("t.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
	g, err := LoadTokens("t.yaml", []byte("tokens:\n  - {node: n1, token: 0123456789abcdef, apps: [a, b]}\n"))
	if err != nil || len(g) != 1 || g[0].Node != "n1" || len(g[0].Apps) != 2 {
		t.Fatalf("%+v %v", g, err)
	}
}
