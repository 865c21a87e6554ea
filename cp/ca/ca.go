package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
)

// Options configure a CA.
type Options struct {
	// TrustDomain is the identities' domain ("mesh.local").
	TrustDomain string
	// DataDir keeps a generated root (root.pem, root-key.pem) between
	// starts; used when RootCertFile is empty.
	DataDir string
	// RootCertFile and RootKeyFile load the signing root instead (PEM).
	RootCertFile, RootKeyFile string
	// ExtraRootsFile holds one more root (PEM) that the bundle carries
	// besides the signing one: the old root after a change, or the next
	// one before it.
	ExtraRootsFile string
	// Tokens are the nodes' bootstrap tokens (LoadTokens).
	Tokens []Grant
	// Lifetime of a signed certificate (default 1h, at least 1s; `octomesh
	// ca` takes at least 1m).
	Lifetime time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Grant is what one node's bootstrap token allows: certificates for these
// apps' identities.
type Grant struct {
	Node  string
	Token string
	Apps  []string
}

// CA signs workload certificates. Its methods may be called from any
// goroutine.
type CA struct {
	td       string
	root     *x509.Certificate
	key      crypto.Signer
	bundle   []*x509.Certificate
	lifetime time.Duration
	now      func() time.Time
	grants   []grant

	Stats Stats

	servingMu sync.Mutex
	serving   atomic.Pointer[tls.Certificate]
}

type grant struct {
	node string
	hash [32]byte
	apps map[string]bool
}

// Stats counts what the CA did.
type Stats struct {
	Signed atomic.Uint64
	// Refused counts refused requests by reason: bad_token (no token, or
	// one no node has), bad_request (not a CSR, bad signature, wrong key
	// type), bad_identity (SANs not one ID of this trust domain),
	// not_allowed (the token's node may not have that app).
	Refused [numRefusals]atomic.Uint64
}

// Refusal indexes Stats.Refused.
type Refusal int

const (
	RefusedBadToken Refusal = iota
	RefusedBadRequest
	RefusedBadIdentity
	RefusedNotAllowed
	numRefusals
)

var refusalNames = [numRefusals]string{"bad_token", "bad_request", "bad_identity", "not_allowed"}

func (r Refusal) String() string { return refusalNames[r] }

// Error is a refused request: the reason and what was wrong.
type Error struct {
	Reason Refusal
	Msg    string
}

func (e *Error) Error() string { return "ca: " + e.Msg }

// DefaultLifetime of a certificate.
const DefaultLifetime = time.Hour

// New opens the CA: loads its root, or generates one on first start.
func New(o Options) (*CA, error) {
	if err := api.CheckName(o.TrustDomain); err != nil {
		return nil, fmt.Errorf("ca: trust domain: %v", err)
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.Lifetime < time.Second {
		return nil, fmt.Errorf("ca: lifetime %v is shorter than 1s", o.Lifetime)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &CA{td: o.TrustDomain, lifetime: o.Lifetime, now: o.Now}
	var err error
	switch {
	case o.RootCertFile != "" || o.RootKeyFile != "":
		if o.RootCertFile == "" || o.RootKeyFile == "" {
			return nil, errors.New("ca: a root from files needs both the certificate and the key file")
		}
		c.root, c.key, err = loadRoot(o.RootCertFile, o.RootKeyFile)
	case o.DataDir != "":
		c.root, c.key, err = rootInDir(o.DataDir, o.TrustDomain, o.Now())
	default:
		return nil, errors.New("ca: no root: give a data directory (a root is generated there on first start) or root files")
	}
	if err != nil {
		return nil, err
	}
	c.bundle = []*x509.Certificate{c.root}
	if o.ExtraRootsFile != "" {
		data, err := os.ReadFile(o.ExtraRootsFile)
		if err != nil {
			return nil, fmt.Errorf("ca: extra roots: %w", err)
		}
		extra, err := api.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("ca: extra roots %s: %w", o.ExtraRootsFile, err)
		}
		if len(extra) != 1 {
			return nil, fmt.Errorf("ca: extra roots %s: holds %d certificates; the bundle takes the signing root and one more", o.ExtraRootsFile, len(extra))
		}
		if !extra[0].IsCA {
			return nil, fmt.Errorf("ca: extra roots %s: the certificate is not a CA", o.ExtraRootsFile)
		}
		if !extra[0].Equal(c.root) {
			c.bundle = append(c.bundle, extra[0])
		}
	}
	for i, g := range o.Tokens {
		if len(g.Token) < 16 {
			return nil, fmt.Errorf("ca: token of node %q (grant %d): shorter than 16 bytes", g.Node, i)
		}
		gr := grant{node: g.Node, hash: sha256.Sum256([]byte(g.Token)), apps: map[string]bool{}}
		for _, a := range g.Apps {
			gr.apps[a] = true
		}
		c.grants = append(c.grants, gr)
	}
	return c, nil
}

// TrustDomain is the CA's trust domain.
func (c *CA) TrustDomain() string { return c.td }

// Root is the signing root.
func (c *CA) Root() *x509.Certificate { return c.root }

// Bundle is the roots peers verify with (the signing one first).
func (c *CA) Bundle() []*x509.Certificate { return c.bundle }

// Sign checks a bootstrap token and a DER CSR and signs it.
func (c *CA) Sign(csrDER []byte, token string) (*api.SignResponse, error) {
	g := c.grantOf(token)
	if g == nil {
		c.Stats.Refused[RefusedBadToken].Add(1)
		return nil, &Error{RefusedBadToken, "the bootstrap token is missing or not any node's"}
	}
	csr, id, err := c.checkCSR(csrDER)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			c.Stats.Refused[e.Reason].Add(1)
		}
		return nil, err
	}
	if !g.apps[id.App] {
		c.Stats.Refused[RefusedNotAllowed].Add(1)
		return nil, &Error{RefusedNotAllowed, fmt.Sprintf("node %q may not have identity %s (its token allows apps %v)", g.node, id, sortedKeys(g.apps))}
	}
	leaf, err := c.issue(id, csr.PublicKey, c.lifetime)
	if err != nil {
		return nil, err
	}
	c.Stats.Signed.Add(1)
	return &api.SignResponse{Chain: string(api.EncodeCertificates(leaf)), Bundle: string(api.EncodeCertificates(c.bundle...)), NotAfter: leaf.NotAfter}, nil
}

// grantOf finds the grant of token, comparing every grant's hash in
// constant time.
func (c *CA) grantOf(token string) *grant {
	if token == "" {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	var found *grant
	for i := range c.grants {
		if subtle.ConstantTimeCompare(h[:], c.grants[i].hash[:]) == 1 {
			found = &c.grants[i]
		}
	}
	return found
}

// checkCSR parses a CSR and checks its signature, key and identity.
func (c *CA) checkCSR(der []byte) (*x509.CertificateRequest, api.ID, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, api.ID{}, &Error{RefusedBadRequest, "not a certificate request: " + err.Error()}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, api.ID{}, &Error{RefusedBadRequest, "the request's signature does not verify: " + err.Error()}
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, api.ID{}, &Error{RefusedBadRequest, fmt.Sprintf("the key is %T, want ECDSA P-256", csr.PublicKey)}
	}
	if len(csr.DNSNames)+len(csr.IPAddresses)+len(csr.EmailAddresses) > 0 || len(csr.URIs) != 1 {
		return nil, api.ID{}, &Error{RefusedBadIdentity, fmt.Sprintf("the request must name exactly one URI SAN, spiffe://%s/app/<app>, and nothing else (it has %d URIs, %d DNS names, %d addresses, %d e-mails)",
			c.td, len(csr.URIs), len(csr.DNSNames), len(csr.IPAddresses), len(csr.EmailAddresses))}
	}
	id, err := api.ParseID(csr.URIs[0].String())
	if err != nil {
		return nil, api.ID{}, &Error{RefusedBadIdentity, err.Error()}
	}
	if id.TrustDomain != c.td {
		return nil, api.ID{}, &Error{RefusedBadIdentity, fmt.Sprintf("identity %s is not in trust domain %s", id, c.td)}
	}
	return csr, id, nil
}

// issue signs a workload certificate for id and pub.
func (c *CA) issue(id api.ID, pub crypto.PublicKey, lifetime time.Duration) (*x509.Certificate, error) {
	now := c.now()
	notAfter := now.Add(lifetime)
	if notAfter.After(c.root.NotAfter) {
		notAfter = c.root.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		NotBefore:             now.Add(-time.Minute), // clock skew between nodes
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{id.URL()},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.root, pub, c.key)
	if err != nil {
		return nil, fmt.Errorf("ca: signing %s: %w", id, err)
	}
	return x509.ParseCertificate(der)
}

// Issue makes a key and a certificate for app without a CSR: for static
// setups (`octomesh ca issue`) and tests. The key is returned PKCS#8 PEM.
func (c *CA) Issue(app string, lifetime time.Duration) (certPEM, keyPEM []byte, err error) {
	if err := api.CheckName(app); err != nil {
		return nil, nil, fmt.Errorf("ca: app: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := c.issue(api.ID{TrustDomain: c.td, App: app}, &key.PublicKey, lifetime)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return api.EncodeCertificates(leaf), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// ServingCertificate is the CA's own HTTPS certificate (URI SAN
// api.CAName), made again once half its day has passed.
func (c *CA) ServingCertificate() (*tls.Certificate, error) {
	now := c.now()
	if cur := c.serving.Load(); cur != nil && now.Before(cur.Leaf.NotBefore.Add(cur.Leaf.NotAfter.Sub(cur.Leaf.NotBefore)/2)) {
		return cur, nil
	}
	c.servingMu.Lock()
	defer c.servingMu.Unlock()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(api.CAName(c.td))
	tmpl := &x509.Certificate{
		SerialNumber: serial(), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, URIs: []*url.URL{u},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.root, &key.PublicKey, c.key)
	if err != nil {
		return nil, err
	}
	leaf, _ := x509.ParseCertificate(der)
	cert := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	c.serving.Store(cert)
	return cert, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("ca: no randomness: " + err.Error())
	}
	return n.Add(n, big.NewInt(1))
}

// rootInDir loads the root kept in dir, or makes and keeps one.
func rootInDir(dir, td string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	certFile, keyFile := filepath.Join(dir, "root.pem"), filepath.Join(dir, "root-key.pem")
	if _, err := os.Stat(certFile); err == nil {
		return loadRoot(certFile, keyFile)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("ca: data directory: %w", err)
	}
	cert, key, err := NewRoot(td, now, 10*365*24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	// The key first: a root certificate without its key would be loaded
	// next time and fail.
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, fmt.Errorf("ca: keeping the root key: %w", err)
	}
	if err := os.WriteFile(certFile, api.EncodeCertificates(cert), 0o644); err != nil {
		return nil, nil, fmt.Errorf("ca: keeping the root: %w", err)
	}
	return cert, key, nil
}

// NewRoot makes a self-signed ECDSA P-256 root for trust domain td.
func NewRoot(td string, now time.Time, lifetime time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"OctoMesh"}, CommonName: "OctoMesh root " + td},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(lifetime),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func loadRoot(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: root: %w", err)
	}
	certs, err := api.ParseCertificates(data)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: root %s: %w", certFile, err)
	}
	if len(certs) != 1 || !certs[0].IsCA {
		return nil, nil, fmt.Errorf("ca: root %s: want one CA certificate", certFile)
	}
	kdata, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: root key: %w", err)
	}
	b, _ := pem.Decode(kdata)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, nil, fmt.Errorf("ca: root key %s: want a PEM PRIVATE KEY (PKCS#8)", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: root key %s: %w", keyFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("ca: root key %s: %T cannot sign", keyFile, k)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(certs[0].PublicKey) {
		return nil, nil, fmt.Errorf("ca: root key %s is not the key of %s", keyFile, certFile)
	}
	return certs[0], signer, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
