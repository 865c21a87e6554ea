package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sort"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/admin"
	"github.com/octomesh/octomesh/proxy/identity"
	"github.com/octomesh/octomesh/proxy/transport"
)

// identityWait bounds how long New waits for the first certificate from
// the CA.
const identityWait = 30 * time.Second

// openIdentity loads or fetches the sidecar's certificate and builds the
// TLS settings listeners and clusters share (docs/security.md).
func (s *Server) openIdentity() error {
	ic := s.cfg.Identity
	if ic == nil {
		return nil
	}
	var src *identity.Source
	var err error
	if ic.CertFile != "" {
		src, err = identity.NewStatic(ic.CertFile, ic.KeyFile, ic.BundleFile)
	} else {
		src, err = s.identityFromCA(ic)
	}
	if err != nil {
		return s.cfg.Errorf("identity", "%v", err)
	}
	s.identity = src
	for _, mode := range []transport.TLSMode{transport.TLSPermissive, transport.TLSStrict} {
		t, err := transport.NewTLS(transport.TLS{Mode: mode, Certificate: src.Certificate, Verify: src.Verify})
		if err != nil {
			src.Close()
			return err
		}
		s.tls[mode] = t
	}
	s.log.Info("workload identity", "id", src.ID().String(), "not_after", src.NotAfter())
	return nil
}

func (s *Server) identityFromCA(ic *config.Identity) (*identity.Source, error) {
	data, err := readFile(ic.BundleFile)
	if err != nil {
		return nil, err
	}
	roots, err := api.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("bundle_file %s: %w", ic.BundleFile, err)
	}
	signer := &identity.CAClient{Client: &api.Client{Address: ic.CA, TrustDomain: ic.TrustDomain, Roots: roots}, TokenFile: ic.TokenFile}
	ctx, cancel := context.WithTimeout(context.Background(), identityWait)
	defer cancel()
	return identity.NewFromCA(ctx, identity.Options{TrustDomain: ic.TrustDomain, App: ic.App, Signer: signer, Log: s.log})
}

// tlsOf is the transport's TLS for a config mode (nil: plain).
func (s *Server) tlsOf(t *config.TLS) *transport.TLS {
	switch t.ModeOf() {
	case config.TLSStrict:
		return s.tls[transport.TLSStrict]
	case config.TLSPermissive:
		return s.tls[transport.TLSPermissive]
	}
	return nil
}

// Identity is the sidecar's workload identity; nil without one.
func (s *Server) Identity() *identity.Source { return s.identity }

// securityStats adds the TLS and identity counters to /stats.
func (s *Server) securityStats(m map[string]uint64) {
	tr := &s.transport
	m["tls.handshakes"] = tr.TLSHandshakes.Load()
	m["tls.plain_accepted"] = tr.TLSPlainAccepted.Load()
	for reason, n := range tr.TLSCounts() {
		m["tls.handshake_failures."+reason] = n
	}
	if s.identity != nil {
		m["identity.renewals"] = s.identity.Renewals.Load()
		m["identity.renewal_failures"] = s.identity.RenewalFailures.Load()
		m["identity.expires_in_s"] = uint64(max(time.Until(s.identity.NotAfter()), 0) / time.Second)
	}
}

// writeSecurityMetrics adds them to /metrics.
func (s *Server) writeSecurityMetrics(m *admin.Metrics) {
	tr := &s.transport
	m.Header("octomesh_tls_handshakes_total", "counter", "Mutual TLS handshakes completed, accepted and dialled.")
	m.Uint("octomesh_tls_handshakes_total", tr.TLSHandshakes.Load())
	m.Header("octomesh_tls_plain_accepted_total", "counter", "Plain connections a permissive listener served.")
	m.Uint("octomesh_tls_plain_accepted_total", tr.TLSPlainAccepted.Load())
	const failures = "octomesh_tls_handshake_failures_total"
	m.Header(failures, "counter", "Failed TLS handshakes, by reason (docs/security.md).")
	counts := tr.TLSCounts()
	for _, reason := range sortedKeys(counts) {
		m.Uint(failures, counts[reason], admin.Label{Name: "reason", Value: reason})
	}
	if s.identity != nil {
		m.Header("octomesh_identity_renewals_total", "counter", "Certificates renewed from the CA.")
		m.Uint("octomesh_identity_renewals_total", s.identity.Renewals.Load())
		m.Header("octomesh_identity_renewal_failures_total", "counter", "Failed attempts to renew the certificate (retried).")
		m.Uint("octomesh_identity_renewal_failures_total", s.identity.RenewalFailures.Load())
		m.Header("octomesh_identity_expiry_seconds", "gauge", "Seconds until the current certificate expires.")
		m.Float("octomesh_identity_expiry_seconds", time.Until(s.identity.NotAfter()).Seconds())
	}
}

func sortedKeys(m map[string]uint64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func readFile(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("bundle_file: %w", err)
	}
	return data, nil
}

// controlPlaneTLS is the client TLS to a control-plane server (what: the
// pilot's xDS port, Meta's owner look-ups): this sidecar's certificate,
// and the server's verified against the bundle, which must be the
// server's identity (app: api/ca.PilotApp, api/ca.MetaApp) of the same
// trust domain.
func (s *Server) controlPlaneTLS(what, app string) *tls.Config {
	src := s.identity
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return src.Certificate() },
		InsecureSkipVerify:   true, // no host names: the chain and the identity are checked below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("xds: the %s presented no certificate", what)
			}
			id, err := src.Verify(raw)
			if err != nil {
				return fmt.Errorf("xds: the %s's certificate: %w", what, err)
			}
			if want := (api.ID{TrustDomain: src.ID().TrustDomain, App: app}).String(); id != want {
				return fmt.Errorf("xds: the %s's certificate names %s, want %s", what, id, want)
			}
			return nil
		},
	}
}
