package ca

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ID is a workload identity: spiffe://<TrustDomain>/app/<App>.
type ID struct {
	TrustDomain string
	App         string
}

// String is the ID's URI form.
func (id ID) String() string { return "spiffe://" + id.TrustDomain + "/app/" + id.App }

// URL is the ID as a certificate's URI SAN.
func (id ID) URL() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: id.TrustDomain, Path: "/app/" + id.App}
}

// PilotApp is the app of the pilot's own identity,
// spiffe://<trust-domain>/app/octomesh-pilot: a sidecar that speaks xDS over
// mutual TLS accepts no other pilot. A CA's tokens file must not grant it
// to a node that runs apps.
const PilotApp = "octomesh-pilot"

// CAName is the URI SAN of the CA's own serving certificate in a trust
// domain; no workload can have it (workload IDs have /app/).
func CAName(trustDomain string) string { return "spiffe://" + trustDomain + "/ca" }

// ParseID reads spiffe://<trust-domain>/app/<app>. Both names must pass
// CheckName; nothing else (query, fragment, user, port, more segments) is
// allowed.
func ParseID(s string) (ID, error) {
	const scheme = "spiffe://"
	if len(s) > 2048 {
		return ID{}, errors.New("identity: longer than 2048 bytes")
	}
	rest, ok := strings.CutPrefix(s, scheme)
	if !ok {
		return ID{}, fmt.Errorf("identity %q: does not start with spiffe://", s)
	}
	td, path, ok := strings.Cut(rest, "/")
	if !ok {
		return ID{}, fmt.Errorf("identity %q: has no path (want spiffe://<trust-domain>/app/<app>)", s)
	}
	app, ok := strings.CutPrefix(path, "app/")
	if !ok {
		return ID{}, fmt.Errorf("identity %q: path must be /app/<app>", s)
	}
	if err := CheckName(td); err != nil {
		return ID{}, fmt.Errorf("identity %q: trust domain: %v", s, err)
	}
	if err := CheckName(app); err != nil {
		return ID{}, fmt.Errorf("identity %q: app: %v", s, err)
	}
	return ID{TrustDomain: td, App: app}, nil
}

// CheckName checks a trust domain or app name: 1-255 bytes of lower-case
// letters, digits, '.', '-' and '_'.
func CheckName(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > 255 {
		return errors.New("longer than 255 bytes")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%q: only lower-case letters, digits, '.', '-' and '_' are allowed", s)
		}
	}
	return nil
}

// IDOf reads a workload certificate's identity: exactly one URI SAN, an
// ID; no DNS names, addresses or e-mail addresses.
func IDOf(cert *x509.Certificate) (ID, error) {
	if len(cert.URIs) != 1 {
		return ID{}, fmt.Errorf("identity: the certificate has %d URI SANs (want exactly one spiffe:// ID)", len(cert.URIs))
	}
	if len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.EmailAddresses) > 0 {
		return ID{}, errors.New("identity: the certificate has DNS, IP or e-mail SANs besides its spiffe:// ID")
	}
	return ParseID(cert.URIs[0].String())
}
