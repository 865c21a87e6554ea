package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh/config"
)

// Client calls the rule store's API (the dispatcher's). It is safe for
// concurrent use.
type Client struct {
	base  string // http://host:port
	token string
	http  *http.Client
}

// NewClient returns a client of the rule API at addr (host:port,
// http://host:port, tcp://host:port or unix:///path); token is the
// operator token that writes need ("" for reads only).
func NewClient(addr, token string) (*Client, error) {
	addr = strings.TrimPrefix(addr, "http://")
	network, address, err := config.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("rule API address: %v", err)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     time.Minute,
	}
	base := "http://" + address
	if network == "unix" {
		base = "http://dispatcher" // the dialer ignores the host
	}
	return &Client{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode/100 != 2 {
		return StatusError(resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("rules: bad answer from %s: %v", c.base, err)
	}
	return nil
}

// StatusError turns an error answer (code, body) back into an error of
// its kind, for errors.Is: ErrInvalid, ErrUnauthorized, ErrNotFound,
// ErrConflict or ErrUnavailable. Its message is the server's.
func StatusError(code int, body []byte) error {
	var e ErrorBody
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	kind := map[int]error{
		http.StatusBadRequest:         ErrInvalid,
		http.StatusUnauthorized:       ErrUnauthorized,
		http.StatusNotFound:           ErrNotFound,
		http.StatusConflict:           ErrConflict,
		http.StatusServiceUnavailable: ErrUnavailable,
	}[code]
	if kind == nil {
		return fmt.Errorf("rules: the server answered %d: %s", code, msg)
	}
	return &serverError{kind: kind, msg: msg}
}

// serverError is an error answer: the server's message, of a kind.
type serverError struct {
	kind error
	msg  string
}

func (e *serverError) Error() string        { return e.msg }
func (e *serverError) Is(target error) bool { return target == e.kind }

// Apply applies the YAML documents of file (its name, for errors) in one
// write; with dryRun, nothing is written and the answer says what would
// change.
func (c *Client) Apply(ctx context.Context, file string, data []byte, dryRun bool) (*ApplyResponse, error) {
	return c.write(ctx, "/v1/rules/apply", file, data, dryRun)
}

// DeleteDocuments deletes the documents of file, by kind and name, in one
// write.
func (c *Client) DeleteDocuments(ctx context.Context, file string, data []byte, dryRun bool) (*ApplyResponse, error) {
	return c.write(ctx, "/v1/rules/delete", file, data, dryRun)
}

func (c *Client) write(ctx context.Context, path, file string, data []byte, dryRun bool) (*ApplyResponse, error) {
	if data == nil {
		data = []byte{}
	}
	q := url.Values{"file": {file}}
	if dryRun {
		q.Set("dry_run", "true")
	}
	var resp ApplyResponse
	if err := c.do(ctx, http.MethodPost, path, q, data, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Delete deletes one document; revision, when not 0, must be its stored
// one.
func (c *Client) Delete(ctx context.Context, kind, name string, revision int64) (*ApplyResponse, error) {
	q := url.Values{}
	if revision != 0 {
		q.Set("revision", strconv.FormatInt(revision, 10))
	}
	var resp ApplyResponse
	if err := c.do(ctx, http.MethodDelete, docPath(kind, name), q, nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// List lists the documents of kind ("": of every kind).
func (c *Client) List(ctx context.Context, kind string) ([]Document, error) {
	path := "/v1/rules"
	if kind != "" {
		path += "/" + url.PathEscape(kind)
	}
	var resp ListResponse
	err := c.do(ctx, http.MethodGet, path, nil, nil, &resp)
	return resp.Documents, err
}

// Get returns one document (ErrNotFound when there is none).
func (c *Client) Get(ctx context.Context, kind, name string) (*Document, error) {
	var d Document
	if err := c.do(ctx, http.MethodGet, docPath(kind, name), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// History returns one document and its previous versions.
func (c *Client) History(ctx context.Context, kind, name string) (*HistoryResponse, error) {
	var h HistoryResponse
	if err := c.do(ctx, http.MethodGet, docPath(kind, name), url.Values{"history": {"true"}}, nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

func docPath(kind, name string) string {
	return "/v1/rules/" + url.PathEscape(kind) + "/" + url.PathEscape(name)
}
