package inspect

import (
	"crypto/tls"
	"errors"

	"github.com/octomesh/octomesh/api/ca"
)

// TLSFiles builds Options.TLS from an operator's certificate files
// (`octomesh ca issue --app <operator>`): nil when all are empty, an error
// when only some are given. It accepts the pilot's, Meta's and the
// scanners' identities of trustDomain.
func TLSFiles(certFile, keyFile, bundleFile, trustDomain string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" && bundleFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" || bundleFile == "" {
		return nil, errors.New("--tls-cert, --tls-key and --tls-bundle go together")
	}
	return ca.ClientTLS(certFile, keyFile, bundleFile, trustDomain, ca.PilotApp, ca.MetaApp, ca.ScannerApp)
}
