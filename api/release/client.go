package release

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one control plane's release API. It is safe for
// concurrent use. Its calls have no timeout of their own: give them a
// context (a target poll waits up to its Wait, plus a little).
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client of the server at addr (host:port, or an
// http(s) URL), sending token (when not empty) as a Bearer token: the
// operator token for changes, the agent token for polls and reports.
func NewClient(addr, token string) *Client {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Transport: tr}}
}

// Error is an answer other than 2xx: its status and the server's message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("release API: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Upload sends a binary whose digest is sha256 (hex) as version.
func (c *Client) Upload(ctx context.Context, body io.Reader, version, sha256 string) (Artifact, error) {
	var a Artifact
	q := url.Values{"version": {version}, "sha256": {sha256}}
	err := c.do(ctx, http.MethodPost, ArtifactsPath+"?"+q.Encode(), "application/octet-stream", body, &a)
	return a, err
}

// Artifacts lists the uploaded artifacts.
func (c *Client) Artifacts(ctx context.Context) ([]Artifact, error) {
	var out []Artifact
	return out, c.getJSON(ctx, ArtifactsPath, &out)
}

// Download writes the artifact with digest sha256 to w. The caller checks
// the digest of what it got.
func (c *Client) Download(ctx context.Context, sha256 string, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, ArtifactsPath+"/"+url.PathEscape(sha256), "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("release API: downloading %s: %w", sha256, err)
	}
	return nil
}

// Create starts a release.
func (c *Client) Create(ctx context.Context, s Spec) (Release, error) {
	var r Release
	b, err := json.Marshal(s)
	if err != nil {
		return r, err
	}
	return r, c.do(ctx, http.MethodPost, ReleasesPath, "application/json", bytes.NewReader(b), &r)
}

// Releases lists every release, oldest first.
func (c *Client) Releases(ctx context.Context) ([]Release, error) {
	var out []Release
	return out, c.getJSON(ctx, ReleasesPath, &out)
}

// Release reads one release.
func (c *Client) Release(ctx context.Context, name string) (Release, error) {
	var r Release
	return r, c.getJSON(ctx, ReleasesPath+"/"+url.PathEscape(name), &r)
}

// Pause holds a running release after what its current stage does;
// Resume lets it go on; Abort halts it and sends its upgraded nodes back.
func (c *Client) Pause(ctx context.Context, name string) (Release, error) {
	return c.action(ctx, name, "pause")
}

func (c *Client) Resume(ctx context.Context, name string) (Release, error) {
	return c.action(ctx, name, "resume")
}

func (c *Client) Abort(ctx context.Context, name string) (Release, error) {
	return c.action(ctx, name, "abort")
}

func (c *Client) action(ctx context.Context, name, verb string) (Release, error) {
	var r Release
	return r, c.do(ctx, http.MethodPost, ReleasesPath+"/"+url.PathEscape(name)+"/"+verb, "", nil, &r)
}

// Nodes lists the last report of every node.
func (c *Client) Nodes(ctx context.Context) ([]NodeReport, error) {
	var out []NodeReport
	return out, c.getJSON(ctx, NodesPath, &out)
}

// TargetQuery is an agent's poll: who it is and what it runs. With Wait,
// the server holds the answer until the node's target differs from Have
// or Wait passed (a long poll); without, it answers at once.
type TargetQuery struct {
	App, Zone string
	Have      string // the SHA-256 the sidecar runs
	Wait      time.Duration
}

// Target asks for node's target.
func (c *Client) Target(ctx context.Context, node string, q TargetQuery) (Target, error) {
	var t Target
	v := url.Values{}
	for k, s := range map[string]string{"app": q.App, "zone": q.Zone, "have": q.Have} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Wait > 0 {
		v.Set("wait", strconv.FormatInt(q.Wait.Milliseconds(), 10)+"ms")
	}
	path := AgentsPath + "/" + url.PathEscape(node) + "/target"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return t, c.getJSON(ctx, path, &t)
}

// Report sends a node report.
func (c *Client) Report(ctx context.Context, r Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, AgentsPath+"/"+url.PathEscape(r.Node)+"/report", "application/json", bytes.NewReader(b), nil)
}

func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, "", nil, out)
}

func (c *Client) do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	resp, err := c.send(ctx, method, path, ctype, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("release API: %s %s: a bad answer: %v", method, path, err)
	}
	return nil
}

// send makes a request; an answer other than 2xx is an *Error.
func (c *Client) send(ctx context.Context, method, path, ctype string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("release API: %w", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("release API: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, &Error{Status: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
