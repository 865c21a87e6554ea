package ca

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// The CA's HTTP paths.
const (
	// PathCertificates takes POST SignRequest with "Authorization: Bearer
	// <bootstrap token>" and answers SignResponse.
	PathCertificates = "/v1/certificates"
	// PathBundle answers GET with the trust bundle (PEM roots); public.
	PathBundle = "/v1/bundle"
)

// MaxRequestSize bounds a SignRequest's body.
const MaxRequestSize = 64 << 10

// SignRequest asks for a certificate for the key of CSR.
type SignRequest struct {
	// CSR is a PEM "CERTIFICATE REQUEST" whose only SAN is the requested
	// ID (a URI); the key is the sidecar's own and never leaves it.
	CSR string `json:"csr"`
}

// SignResponse is a signed certificate.
type SignResponse struct {
	// Chain is PEM certificates, the leaf first (then any intermediates).
	Chain string `json:"chain"`
	// Bundle is the PEM roots to verify peers with: one, or two while the
	// root changes.
	Bundle   string    `json:"bundle"`
	NotAfter time.Time `json:"not_after"`
}

// ErrorResponse is the body of every answer that is not 200.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ParseCertificates reads PEM "CERTIFICATE" blocks; anything else in the
// input, or none at all, is an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, not CERTIFICATE", n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return out, nil
}

// EncodeCertificates writes certs as PEM.
func EncodeCertificates(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
