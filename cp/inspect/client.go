package inspect

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/config"
)

// DefaultPilot is the pilot asked when neither pilots nor Meta are given:
// a pilot's default HTTP address.
const DefaultPilot = "127.0.0.1:15011"

// DefaultTimeout bounds each call to a pilot, Meta or a sidecar.
const DefaultTimeout = 3 * time.Second

// Options say where the control plane is.
type Options struct {
	// Pilots are pilots' HTTP addresses (host:port, tcp://host:port or
	// unix:///path).
	Pilots []string
	// Meta is Meta's HTTP address: the pilots are those of its assignment
	// (GET /v1/assignment). Pilots and Meta are exclusive; with neither,
	// DefaultPilot.
	Meta string
	// Timeout bounds each call (default DefaultTimeout).
	Timeout time.Duration
	// Scanners, when set, lists the live scanners instead of the pilots'
	// GET /debug/scanners (their records under /octomesh/v1/scanners/ in
	// etcd, as a pilot follows them). It is called with the Timeout.
	Scanners func(ctx context.Context) ([]scanner.Info, error)
	// TLS, when set (api/ca.ClientTLS with an operator's certificate,
	// accepting the pilot's, Meta's and scanners' identities), is used to
	// reach the pilots, Meta and scanners, whose HTTP ports are mutual TLS
	// (--http-tls-*). Sidecars' admin endpoints are always asked plain.
	TLS *tls.Config
}

// Inspector gathers views of the mesh. It is safe for concurrent use.
type Inspector struct {
	opts Options

	mu      sync.Mutex
	clients map[string]*http.Client // by address and scheme
}

// New checks opts and returns an Inspector.
func New(opts Options) (*Inspector, error) {
	if len(opts.Pilots) > 0 && opts.Meta != "" {
		return nil, errors.New("inspect: give pilots or Meta, not both")
	}
	if len(opts.Pilots) == 0 && opts.Meta == "" {
		opts.Pilots = []string{DefaultPilot}
	}
	for _, p := range opts.Pilots {
		if _, _, err := config.ParseAddress(p); err != nil {
			return nil, fmt.Errorf("inspect: pilot %v", err)
		}
	}
	if opts.Meta != "" {
		if _, _, err := config.ParseAddress(opts.Meta); err != nil {
			return nil, fmt.Errorf("inspect: meta %v", err)
		}
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("inspect: timeout %v is negative", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Inspector{opts: opts, clients: map[string]*http.Client{}}, nil
}

// Close releases idle connections.
func (in *Inspector) Close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, c := range in.clients {
		c.CloseIdleConnections()
	}
}

// Pilot is a pilot the Inspector asks.
type Pilot struct {
	// ID is the pilot's shard id (from Meta); empty when given by address.
	ID string `json:"id,omitempty"`
	// HTTP is its HTTP address.
	HTTP string `json:"http"`
}

// Name is how views name the pilot: its id, else its address.
func (p Pilot) Name() string {
	if p.ID != "" {
		return p.ID
	}
	return p.HTTP
}

// Unreachable is a source that did not answer (or answered an error).
type Unreachable struct {
	// Source: "pilot NAME", "meta ADDR", "sidecar NODE (ADDR)".
	Source string `json:"source"`
	Error  string `json:"error"`
}

// Pilots lists the pilots to ask: those given, or those of Meta's
// assignment. Unreachable lists Meta's pilots that publish no HTTP
// address. Meta not answering is an error: there is nothing to ask.
func (in *Inspector) Pilots(ctx context.Context) ([]Pilot, []Unreachable, error) {
	if in.opts.Meta == "" {
		out := make([]Pilot, len(in.opts.Pilots))
		for i, a := range in.opts.Pilots {
			out[i] = Pilot{HTTP: a}
		}
		return out, nil, nil
	}
	var a meta.AssignmentInfo
	if err := in.get(ctx, in.opts.Meta, "/v1/assignment", &a); err != nil {
		return nil, nil, fmt.Errorf("inspect: meta %s: %w", in.opts.Meta, err)
	}
	var out []Pilot
	var bad []Unreachable
	for _, p := range a.Pilots {
		if p.HTTP == "" {
			bad = append(bad, Unreachable{Source: "pilot " + p.ID, Error: "it publishes no HTTP address in the shard map"})
			continue
		}
		out = append(out, Pilot{ID: p.ID, HTTP: p.HTTP})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, bad, nil
}

// client returns the HTTP client of addr, which dials addr's network,
// over cfg's TLS if not nil.
func (in *Inspector) client(addr string, cfg *tls.Config) (*http.Client, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	key := addr
	if cfg != nil {
		key = "tls " + addr
	}
	if c := in.clients[key]; c != nil {
		return c, nil
	}
	network, address, err := config.ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		TLSClientConfig:     cfg,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	c := &http.Client{Transport: tr}
	in.clients[key] = c
	return c, nil
}

// maxBody bounds an answer read.
const maxBody = 64 << 20

// StatusError is an answer other than 200.
type StatusError struct {
	Code int
	// Message is the answer's {"error": ...}, or its text.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// get reads addr's answer to GET path into out (JSON), within the
// Inspector's timeout: addr is a pilot, Meta or a scanner (over
// Options.TLS when set).
func (in *Inspector) get(ctx context.Context, addr, path string, out any) error {
	return in.getFrom(ctx, addr, path, in.opts.TLS, out)
}

// getAdmin is get from a sidecar's admin endpoint (always plain).
func (in *Inspector) getAdmin(ctx context.Context, addr, path string, out any) error {
	return in.getFrom(ctx, addr, path, nil, out)
}

func (in *Inspector) getFrom(ctx context.Context, addr, path string, cfg *tls.Config, out any) error {
	body, err := in.fetch(ctx, addr, path, cfg)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: a bad answer: %v", path, err)
	}
	return nil
}

// getRaw is get's body, unread.
func (in *Inspector) getRaw(ctx context.Context, addr, path string) ([]byte, error) {
	return in.fetch(ctx, addr, path, in.opts.TLS)
}

// getAdminRaw is getAdmin's body, unread.
func (in *Inspector) getAdminRaw(ctx context.Context, addr, path string) ([]byte, error) {
	return in.fetch(ctx, addr, path, nil)
}

func (in *Inspector) fetch(ctx context.Context, addr, path string, cfg *tls.Config) ([]byte, error) {
	c, err := in.client(addr, cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, in.opts.Timeout)
	defer cancel()
	scheme := "http://"
	if cfg != nil {
		scheme = "https://"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+hostOf(addr)+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("GET %s: no answer within %v", path, in.opts.Timeout)
		}
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		return nil, fmt.Errorf("GET %s: %w", path, &StatusError{Code: resp.StatusCode, Message: msg})
	}
	return body, nil
}

// hostOf is a Host header for addr (a Unix socket has none).
func hostOf(addr string) string {
	if network, address, err := config.ParseAddress(addr); err == nil && network == "tcp" {
		return address
	}
	return "localhost"
}

// eachPilot calls f for every pilot at once and waits for them all.
func eachPilot(pilots []Pilot, f func(i int, p Pilot)) {
	var wg sync.WaitGroup
	for i, p := range pilots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, p)
		}()
	}
	wg.Wait()
}
