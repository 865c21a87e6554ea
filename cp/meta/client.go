package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/shardmap"
)

// Client asks a Meta Server which pilot serves an app.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the Meta at addr (host:port, tcp:// or
// unix:///path).
func NewClient(addr string) (*Client, error) {
	network, address, err := config.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{base: "http://meta", http: &http.Client{Transport: tr}}, nil
}

// Owner asks which pilot serves app; with avoid, Meta waits (at most wait)
// until it is another pilot than avoid.
func (c *Client) Owner(ctx context.Context, app, avoid string, wait time.Duration) (shardmap.PilotInfo, error) {
	q := url.Values{"app": {app}}
	if avoid != "" {
		q.Set("avoid", avoid)
		q.Set("wait", wait.String())
	}
	var out OwnerResponse
	if err := c.get(ctx, "/v1/owner?"+q.Encode(), &out); err != nil {
		return shardmap.PilotInfo{}, err
	}
	return out.Pilot, nil
}

// Assignment fetches the whole assignment.
func (c *Client) Assignment(ctx context.Context) (shardmap.AssignmentInfo, error) {
	var out shardmap.AssignmentInfo
	err := c.get(ctx, "/v1/assignment", &out)
	return out, err
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("meta: %s: %s", resp.Status, e.Error)
	}
	return json.Unmarshal(body, out)
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
