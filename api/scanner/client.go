package scanner

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client talks to scanners: one Client serves any number of them (the
// address is a call's argument). It is safe for concurrent use.
type Client struct {
	http   *http.Client
	scheme string // "http://" or "https://"
}

// NewClient returns a client whose calls give up after timeout (a scanner
// that does not answer in time counts as not answering: a frozen scanner
// must not hold its caller).
func NewClient(timeout time.Duration) *Client { return NewClientTLS(timeout, nil) }

// NewClientTLS is NewClient over TLS when cfg is not nil: scanners whose
// port is mutual TLS need the caller's certificate in cfg, which must also
// verify theirs (spiffe://<trust-domain>/app/octomesh-scanner).
func NewClientTLS(timeout time.Duration, cfg *tls.Config) *Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second, TLSClientConfig: cfg}
	scheme := "http://"
	if cfg != nil {
		scheme = "https://"
	}
	return &Client{http: &http.Client{Transport: tr, Timeout: timeout}, scheme: scheme}
}

// CheckNow asks the scanner at addr (host:port) to check address now.
func (c *Client) CheckNow(ctx context.Context, addr, address string) error {
	return c.post(ctx, addr, CheckPath, CheckRequest{Address: address}, nil)
}

// Confirm asks the scanner at addr for a second opinion on address.
func (c *Client) Confirm(ctx context.Context, addr string, req ConfirmRequest) (ConfirmResponse, error) {
	var out ConfirmResponse
	err := c.post(ctx, addr, ConfirmPath, req, &out)
	return out, err
}

func (c *Client) post(ctx context.Context, addr, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.scheme+addr+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("scanner: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("scanner: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("scanner: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("scanner %s: %s: %s", addr, resp.Status, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("scanner %s: a bad answer: %v", addr, err)
		}
	}
	return nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
