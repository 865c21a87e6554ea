package scanner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client talks to scanners: one Client serves any number of them (the
// address is a call's argument). It is safe for concurrent use.
type Client struct {
	http *http.Client
}

// NewClient returns a client whose calls give up after timeout (a scanner
// that does not answer in time counts as not answering: a frozen scanner
// must not hold its caller).
func NewClient(timeout time.Duration) *Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	return &Client{http: &http.Client{Transport: tr, Timeout: timeout}}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
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
