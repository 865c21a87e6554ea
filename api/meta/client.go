package meta

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/octomesh/octomesh/config"
)

// Client asks a Meta Server which pilot serves an app. It is safe for
// concurrent use.
type Client struct {
	http *http.Client
	base string // http://meta or https://meta: the dialer ignores the host
}

// NewClient returns a client of the Meta at addr (host:port, tcp:// or
// unix:///path).
func NewClient(addr string) (*Client, error) { return NewClientTLS(addr, nil) }

// NewClientTLS is NewClient over TLS when cfg is not nil: a Meta whose
// HTTP port is mutual TLS needs the client's certificate in cfg, which
// must also verify Meta's (spiffe://<trust-domain>/app/octomesh-meta).
func NewClientTLS(addr string, cfg *tls.Config) (*Client, error) {
	network, address, err := config.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		TLSClientConfig: cfg,
		// A mock sidecar process shares one client among its sidecars:
		// thousands ask at once when a pilot dies or returns. At most 64
		// connections (the rest queue for one), all kept: a connection per
		// look-up beyond the idle pool, closed after it, left a TIME_WAIT
		// each on the machine's 28,000 ports to Meta's address, and a
		// scale run once ran out of them ("cannot assign requested
		// address"; its registrations' keepalives failed and lapsed).
		MaxConnsPerHost:     64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	base := "http://meta"
	if cfg != nil {
		base = "https://meta"
	}
	return &Client{http: &http.Client{Transport: tr}, base: base}, nil
}

// Owner asks which pilot serves app (GET /v1/owner); with avoid, Meta
// waits (at most wait) until it is another pilot than avoid. An answer
// without a pilot id or a usable xDS address is an error.
func (c *Client) Owner(ctx context.Context, app, avoid string, wait time.Duration) (PilotInfo, error) {
	q := url.Values{"app": {app}}
	if avoid != "" {
		q.Set("avoid", avoid)
		q.Set("wait", wait.String())
	}
	var out OwnerResponse
	body, err := c.get(ctx, "/v1/owner?"+q.Encode(), 1<<20, &out)
	if err != nil {
		return PilotInfo{}, err
	}
	if _, _, err := config.ParseAddress(out.Pilot.XDS); err != nil || out.Pilot.ID == "" {
		return PilotInfo{}, fmt.Errorf("meta: an answer without a usable pilot: %s", body)
	}
	return out.Pilot, nil
}

// Assignment fetches the whole assignment (GET /v1/assignment).
func (c *Client) Assignment(ctx context.Context) (AssignmentInfo, error) {
	var out AssignmentInfo
	_, err := c.get(ctx, "/v1/assignment", 64<<20, &out)
	return out, err
}

// get reads at most limit bytes of path's answer into out, and returns the
// body.
func (c *Client) get(ctx context.Context, path string, limit int64, out any) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("meta: %s: %s", resp.Status, e.Error)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("meta: a bad answer: %v", err)
	}
	return body, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
