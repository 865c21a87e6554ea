package catest

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/cp/ca"
)

// TrustDomain is the trust domain of a CA from New.
const TrustDomain = "mesh.local"

// Files is a CA and the files it wrote, in one folder of a test.
type Files struct {
	CA          *ca.CA
	TrustDomain string // the CA's: TrustDomain unless NewWith was told another
	Dir         string // where the files are; the CA's own data is in Dir/ca
	Bundle      string // the trust bundle file, Dir/bundle.pem
	t           testing.TB
}

// New starts a CA for TrustDomain with its data in dir/ca and writes its
// trust bundle to dir/bundle.pem. A failure fails the test.
func New(t testing.TB, dir string) *Files {
	t.Helper()
	return NewWith(t, dir, ca.Options{})
}

// NewWith is New with the CA's options o (tokens, lifetime); an empty
// TrustDomain is TrustDomain, an empty DataDir is dir/ca.
func NewWith(t testing.TB, dir string, o ca.Options) *Files {
	t.Helper()
	if o.TrustDomain == "" {
		o.TrustDomain = TrustDomain
	}
	if o.DataDir == "" {
		o.DataDir = filepath.Join(dir, "ca")
	}
	c, err := ca.New(o)
	if err != nil {
		t.Fatalf("catest: CA in %s: %v", dir, err)
	}
	f := &Files{CA: c, Dir: dir, TrustDomain: o.TrustDomain, t: t}
	f.Bundle = f.Write("bundle.pem", api.EncodeCertificates(c.Bundle()...))
	return f
}

// Write writes data to the file name in the folder, and returns its path.
func (f *Files) Write(name string, data []byte) string {
	f.t.Helper()
	p := filepath.Join(f.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		f.t.Fatalf("catest: %v", err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		f.t.Fatalf("catest: %v", err)
	}
	return p
}

// Issue issues app an hour's certificate and writes it and its key to
// app.pem and app-key.pem in the folder (a second call writes new ones
// over them), and returns their paths.
func (f *Files) Issue(app string) (certFile, keyFile string) {
	f.t.Helper()
	certPEM, keyPEM, err := f.CA.Issue(app, time.Hour)
	if err != nil {
		f.t.Fatalf("catest: issue %s: %v", app, err)
	}
	return f.Write(app+".pem", certPEM), f.Write(app+"-key.pem", keyPEM)
}

// ServerTLS issues app's files (Issue) and returns a mesh server's TLS
// config over them (api/ca.ServerTLS: mutual TLS in the CA's trust domain).
func (f *Files) ServerTLS(app string) *tls.Config {
	f.t.Helper()
	cert, key := f.Issue(app)
	cfg, err := api.ServerTLS(cert, key, f.Bundle, f.TrustDomain)
	if err != nil {
		f.t.Fatalf("catest: server TLS of %s: %v", app, err)
	}
	return cfg
}

// ClientTLS issues app's files (Issue) and returns a mesh client's TLS
// config over them that accepts only servers of serverApps
// (api/ca.ClientTLS).
func (f *Files) ClientTLS(app string, serverApps ...string) *tls.Config {
	f.t.Helper()
	cert, key := f.Issue(app)
	cfg, err := api.ClientTLS(cert, key, f.Bundle, f.TrustDomain, serverApps...)
	if err != nil {
		f.t.Fatalf("catest: client TLS of %s: %v", app, err)
	}
	return cfg
}
