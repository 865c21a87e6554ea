package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
)

// Source holds the sidecar's current certificate and trust bundle. Its
// methods may be called from any goroutine; they read one atomic pointer.
type Source struct {
	cur atomic.Pointer[state]
	td  string

	// Renewals counts certificates renewed after the first;
	// RenewalFailures, failed attempts (each retried with backoff).
	Renewals, RenewalFailures atomic.Uint64

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type state struct {
	cert  *tls.Certificate
	leaf  *x509.Certificate
	id    api.ID
	roots *x509.CertPool
	pem   []*x509.Certificate // the bundle, for Roots
	got   time.Time           // when it arrived (the CA back-dates NotBefore for clock skew)
}

// ID is this sidecar's identity.
func (s *Source) ID() api.ID { return s.cur.Load().id }

// NotAfter is when the current certificate expires.
func (s *Source) NotAfter() time.Time { return s.cur.Load().leaf.NotAfter }

// Leaf is the current certificate.
func (s *Source) Leaf() *x509.Certificate { return s.cur.Load().leaf }

// Roots is the current trust bundle.
func (s *Source) Roots() []*x509.Certificate { return s.cur.Load().pem }

// Certificate is the current certificate with its key, for a handshake.
func (s *Source) Certificate() (*tls.Certificate, error) { return s.cur.Load().cert, nil }

// Verify checks a peer's chain (DER, leaf first) against the bundle at the
// present time and returns the peer's identity. The peer must be of this
// trust domain. Errors from crypto/x509 are returned as they are (the
// transport counts them by kind).
func (s *Source) Verify(raw [][]byte) (string, error) {
	st := s.cur.Load()
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return "", fmt.Errorf("identity: the peer's certificate does not parse: %w", err)
		}
		certs = append(certs, c)
	}
	opts := x509.VerifyOptions{Roots: st.roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return "", err
	}
	id, err := api.IDOf(certs[0])
	if err != nil {
		return "", err
	}
	if id.TrustDomain != s.td {
		return "", fmt.Errorf("identity: the peer %s is not of trust domain %s", id, s.td)
	}
	return id.String(), nil
}

// Close stops renewing.
func (s *Source) Close() {
	s.once.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
}

// makeState checks that chain's leaf is for key and names a workload of
// trustDomain (any app when app is ""), and builds a state.
func makeState(chain []*x509.Certificate, key any, bundle []*x509.Certificate, trustDomain, app string) (*state, error) {
	leaf := chain[0]
	id, err := api.IDOf(leaf)
	if err != nil {
		return nil, err
	}
	if trustDomain != "" && id.TrustDomain != trustDomain {
		return nil, fmt.Errorf("identity: the certificate is for %s, not trust domain %s", id, trustDomain)
	}
	if app != "" && id.App != app {
		return nil, fmt.Errorf("identity: the certificate is for %s, not app %s", id, app)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	signer, ok2 := key.(crypto.Signer)
	if !ok || !ok2 {
		return nil, errors.New("identity: unsupported key type")
	}
	if !pub.Equal(signer.Public()) {
		return nil, errors.New("identity: the certificate is not for this key")
	}
	roots := x509.NewCertPool()
	for _, r := range bundle {
		roots.AddCert(r)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("identity: the certificate does not verify against the bundle: %w", err)
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return &state{cert: cert, leaf: leaf, id: id, roots: roots, pem: bundle}, nil
}

// NewStatic reads a certificate (PEM, leaf first), its key (PEM PKCS#8,
// EC or PKCS#1) and the trust bundle (PEM roots) from files. Renewal is
// the operator's: the files are read once.
func NewStatic(certFile, keyFile, bundleFile string) (*Source, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("identity: %s and %s: %w", certFile, keyFile, err)
	}
	chain, err := api.ParseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("identity: %s: %w", certFile, err)
	}
	bundle, err := readBundle(bundleFile)
	if err != nil {
		return nil, err
	}
	st, err := makeState(chain, pair.PrivateKey, bundle, "", "")
	if err != nil {
		return nil, fmt.Errorf("identity: %s: %w", certFile, err)
	}
	s := &Source{td: st.id.TrustDomain}
	s.cur.Store(st)
	return s, nil
}

func readBundle(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("identity: bundle: %w", err)
	}
	bundle, err := api.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("identity: bundle %s: %w", file, err)
	}
	return bundle, nil
}

// Signer gets a certificate for a CSR: the CA (CAClient), or a fake.
type Signer interface {
	Sign(ctx context.Context, csrDER []byte) (*api.SignResponse, error)
}

// CAClient signs through the CA's API with a node's bootstrap token.
type CAClient struct {
	Client    *api.Client
	TokenFile string
}

// Sign reads the token (again each time: the operator may replace it) and
// asks the CA.
func (c *CAClient) Sign(ctx context.Context, csrDER []byte) (*api.SignResponse, error) {
	tok, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("identity: bootstrap token: %w", err)
	}
	return c.Client.Sign(ctx, csrDER, strings.TrimSpace(string(tok)))
}

// Options of a Source that renews from the CA.
type Options struct {
	TrustDomain, App string
	Signer           Signer
	// Log, when set, notes renewals and failures.
	Log *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// NewFromCA makes a key, gets its first certificate (waiting for it, at
// most ctx's time) and renews it in the background at about half its
// lifetime, each time with a new key, until Close. A failed renewal is
// retried with backoff while the old certificate is valid.
func NewFromCA(ctx context.Context, o Options) (*Source, error) {
	if err := api.CheckName(o.TrustDomain); err != nil {
		return nil, fmt.Errorf("identity: trust domain: %v", err)
	}
	if err := api.CheckName(o.App); err != nil {
		return nil, fmt.Errorf("identity: app: %v", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Source{td: o.TrustDomain, stop: make(chan struct{}), done: make(chan struct{})}
	st, err := fetch(ctx, o)
	if err != nil {
		return nil, err
	}
	s.cur.Store(st)
	go s.renew(o)
	return s, nil
}

// fetch makes a key and a CSR and gets the certificate.
func fetch(ctx context.Context, o Options) (*state, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, err
	}
	id := api.ID{TrustDomain: o.TrustDomain, App: o.App}
	csr, err := x509.CreateCertificateRequest(crand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URL()}}, key)
	if err != nil {
		return nil, err
	}
	resp, err := o.Signer.Sign(ctx, csr)
	if err != nil {
		return nil, err
	}
	chain, err := api.ParseCertificates([]byte(resp.Chain))
	if err != nil {
		return nil, fmt.Errorf("identity: the CA's chain: %w", err)
	}
	bundle, err := api.ParseCertificates([]byte(resp.Bundle))
	if err != nil {
		return nil, fmt.Errorf("identity: the CA's bundle: %w", err)
	}
	st, err := makeState(chain, key, bundle, o.TrustDomain, o.App)
	if err != nil {
		return nil, err
	}
	st.got = o.Now()
	return st, nil
}

// renewAt is when a certificate that arrived at got is renewed: half its
// remaining lifetime then, less up to a tenth of it at random, so that
// sidecars started together spread out. (Not from NotBefore, which the CA
// back-dates for clock skew.)
func renewAt(st *state) time.Time {
	life := st.leaf.NotAfter.Sub(st.got)
	return st.got.Add(life/2 - time.Duration(rand.Int64N(int64(life/10)+1)))
}

func (s *Source) renew(o Options) {
	defer close(s.done)
	backoff := time.Second
	for {
		wait := renewAt(s.cur.Load()).Sub(o.Now())
		t := time.NewTimer(max(wait, 0))
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			st, err := fetch(ctx, o)
			cancel()
			if err == nil {
				s.cur.Store(st)
				s.Renewals.Add(1)
				backoff = time.Second
				if o.Log != nil {
					o.Log.Info("certificate renewed", "identity", st.id.String(), "not_after", st.leaf.NotAfter)
				}
				break
			}
			s.RenewalFailures.Add(1)
			if o.Log != nil {
				o.Log.Warn("certificate renewal failed; retrying", "error", err, "in", backoff, "expires", s.cur.Load().leaf.NotAfter)
			}
			t := time.NewTimer(backoff)
			select {
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}
}
