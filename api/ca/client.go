package ca

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client asks the CA for certificates. It speaks HTTPS and trusts the CA
// only if its serving certificate chains to Roots and names CAName of
// TrustDomain: the bootstrap token is sent to nobody else.
type Client struct {
	// Address is the CA's host:port.
	Address     string
	TrustDomain string
	// Roots are the bundle the operator placed (bootstrap), or the one the
	// last answer carried.
	Roots []*x509.Certificate
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// Sign sends csrDER (x509.CreateCertificateRequest's output) with token and
// returns the CA's answer, checked: the chain parses and the bundle is not
// empty. The caller checks that the leaf is for its own key and ID.
func (c *Client) Sign(ctx context.Context, csrDER []byte, token string) (*SignResponse, error) {
	body, _ := json.Marshal(SignRequest{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+c.Address+PathCertificates, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("ca client: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("ca client: %s: %w", c.Address, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("ca client: reading the answer of %s: %w", c.Address, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("ca client: %s refused: %s (HTTP %d)", c.Address, e.Error, resp.StatusCode)
		}
		return nil, fmt.Errorf("ca client: %s answered HTTP %d", c.Address, resp.StatusCode)
	}
	var out SignResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("ca client: the answer of %s: %w", c.Address, err)
	}
	if _, err := ParseCertificates([]byte(out.Chain)); err != nil {
		return nil, fmt.Errorf("ca client: the chain from %s: %w", c.Address, err)
	}
	if _, err := ParseCertificates([]byte(out.Bundle)); err != nil {
		return nil, fmt.Errorf("ca client: the bundle from %s: %w", c.Address, err)
	}
	return &out, nil
}

func (c *Client) httpClient() *http.Client {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	want := CAName(c.TrustDomain)
	roots := x509.NewCertPool()
	for _, r := range c.Roots {
		roots.AddCert(r)
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // checked below: chain to Roots, and the CA's URI SAN
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the CA presented no certificate")
			}
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			inter := x509.NewCertPool()
			for _, r := range raw[1:] {
				if c, err := x509.ParseCertificate(r); err == nil {
					inter.AddCert(c)
				}
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("the CA's certificate: %w", err)
			}
			if len(leaf.URIs) != 1 || leaf.URIs[0].String() != want {
				var got []string
				for _, u := range leaf.URIs {
					got = append(got, u.String())
				}
				return fmt.Errorf("the CA's certificate names %s, want %s", strings.Join(got, ","), want)
			}
			return nil
		},
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: false}}
}
