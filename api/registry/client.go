package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/octomesh/octomesh/config"
)

// Client calls a pilot's registration API. It is safe for concurrent use.
type Client struct {
	base string // http://host:port
	http *http.Client
}

// NewClient returns a client of the pilot's registration API at addr:
// host:port, http://host:port, tcp://host:port or unix:///path.
func NewClient(addr string) (*Client, error) { return NewClientTLS(addr, nil) }

// NewClientTLS is NewClient over TLS when cfg is not nil: an authenticated
// registration API (mutual TLS) needs the client's certificate in cfg
// (api/ca.ClientTLS builds it from files), and then lets the client
// register only instances of its certificate's app. addr may also be
// https://host:port.
func NewClientTLS(addr string, cfg *tls.Config) (*Client, error) {
	addr = strings.TrimPrefix(addr, "http://")
	if a, ok := strings.CutPrefix(addr, "https://"); ok {
		if cfg == nil {
			return nil, invalidf("registry address %s: https needs a TLS configuration (the client's certificate)", addr)
		}
		addr = a
	}
	network, address, err := config.ParseAddress(addr)
	if err != nil {
		return nil, invalidf("registry address: %v", err)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		TLSClientConfig:     cfg,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     time.Minute,
	}
	scheme := "http://"
	if cfg != nil {
		scheme = "https://"
	}
	base := scheme + address
	if network == "unix" {
		base = scheme + "pilot" // the dialer ignores the host
	}
	return &Client{base: base, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the pilot's answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode/100 != 2 {
		return StatusError(resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("registry: bad answer from the pilot: %v", err)
		}
	}
	return nil
}

// Register registers in with a lease of ttl (0: DefaultTTL) and returns
// the lease and its TTL. The lease must then be kept alive (KeepAlive), or
// the instance leaves when it expires.
func (c *Client) Register(ctx context.Context, in Instance, ttl time.Duration) (LeaseID, time.Duration, error) {
	if err := in.Validate(); err != nil {
		return 0, 0, err
	}
	req := RegisterRequest{Instance: in}
	if ttl > 0 {
		req.TTL = ttl.String()
	}
	var resp RegisterResponse
	if err := c.do(ctx, http.MethodPost, "/v1/instances", req, &resp); err != nil {
		return 0, 0, err
	}
	got, err := time.ParseDuration(resp.TTL)
	if err != nil {
		return 0, 0, fmt.Errorf("registry: bad ttl %q from the pilot", resp.TTL)
	}
	return resp.Lease, got, nil
}

// Update replaces the instance registered under lease.
func (c *Client) Update(ctx context.Context, lease LeaseID, in Instance) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/v1/instances", RegisterRequest{Instance: in, Lease: lease}, nil)
}

// KeepAlive renews lease; ErrLeaseNotFound means it is gone.
func (c *Client) KeepAlive(ctx context.Context, lease LeaseID) error {
	return c.do(ctx, http.MethodPut, "/v1/leases/"+lease.String(), nil, nil)
}

// Revoke ends lease: what was registered under it leaves at once.
func (c *Client) Revoke(ctx context.Context, lease LeaseID) error {
	return c.do(ctx, http.MethodDelete, "/v1/leases/"+lease.String(), nil, nil)
}

// Instances lists the registered instances of service.
func (c *Client) Instances(ctx context.Context, service string) ([]Instance, error) {
	var list []Instance
	err := c.do(ctx, http.MethodGet, "/v1/services/"+service, nil, &list)
	return list, err
}

// PutRoutes sets app's route rules (validated by the pilot: an error
// names the field).
func (c *Client) PutRoutes(ctx context.Context, app string, rules []RouteRule) error {
	return c.do(ctx, http.MethodPut, "/v1/routes/"+app, AppRoutes{Routes: rules}, nil)
}

// Routes returns app's route rules (none: an empty list).
func (c *Client) Routes(ctx context.Context, app string) ([]RouteRule, error) {
	var a AppRoutes
	err := c.do(ctx, http.MethodGet, "/v1/routes/"+app, nil, &a)
	return a.Routes, err
}

// DeleteRoutes removes app's route rules.
func (c *Client) DeleteRoutes(ctx context.Context, app string) error {
	return c.do(ctx, http.MethodDelete, "/v1/routes/"+app, nil, nil)
}

// PutPolicy sets service's policy (validated by the pilot: an error names
// the field).
func (c *Client) PutPolicy(ctx context.Context, service string, p ServicePolicy) error {
	return c.do(ctx, http.MethodPut, "/v1/policies/"+service, p, nil)
}

// Policy returns service's policy (none: the zero ServicePolicy).
func (c *Client) Policy(ctx context.Context, service string) (ServicePolicy, error) {
	var p ServicePolicy
	err := c.do(ctx, http.MethodGet, "/v1/policies/"+service, nil, &p)
	return p, err
}

// DeletePolicy removes service's policy: its clusters fall back to the
// defaults.
func (c *Client) DeletePolicy(ctx context.Context, service string) error {
	return c.do(ctx, http.MethodDelete, "/v1/policies/"+service, nil, nil)
}

// Registration keeps one instance registered: it renews the lease every
// third of its TTL and registers again if the lease was lost (the pilot or
// the store was away longer than the TTL). Close revokes the lease.
type Registration struct {
	c   *Client
	ttl time.Duration
	log *slog.Logger

	mu    sync.Mutex
	in    Instance
	lease LeaseID // 0 while not registered

	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// Keep registers in and keeps it registered until Close. A refused
// registration (ErrInvalid, ErrForbidden) is returned at once; if the pilot cannot be
// reached, Keep returns the Registration anyway and keeps trying, so that
// an app can start while its pilot is away.
func (c *Client) Keep(ctx context.Context, in Instance, ttl time.Duration, log *slog.Logger) (*Registration, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return nil, invalidf("ttl %s: want %s to %s", ttl, MinTTL, MaxTTL)
	}
	r := &Registration{c: c, ttl: ttl, log: log, in: in, stop: make(chan struct{}), done: make(chan struct{})}
	if err := r.register(ctx); errors.Is(err, ErrInvalid) || errors.Is(err, ErrForbidden) {
		return nil, err
	} else if err != nil {
		log.Warn("registry: cannot register yet; retrying", "service", in.Service, "address", in.Address, "err", err)
	}
	go r.run()
	return r, nil
}

func (r *Registration) register(ctx context.Context) error {
	r.mu.Lock()
	in := r.in
	r.mu.Unlock()
	lease, ttl, err := r.c.Register(ctx, in, r.ttl)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.lease, r.ttl = lease, ttl
	r.mu.Unlock()
	r.log.Info("registry: registered", "service", in.Service, "address", in.Address, "lease", lease, "ttl", ttl)
	return nil
}

func (r *Registration) run() {
	defer close(r.done)
	for {
		r.mu.Lock()
		lease, every := r.lease, r.ttl/3
		r.mu.Unlock()
		if lease == 0 {
			every = time.Second
		}
		select {
		case <-r.stop:
			return
		case <-time.After(every):
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.ttl/3)
		var err error
		if lease == 0 {
			err = r.register(ctx)
		} else if err = r.c.KeepAlive(ctx, lease); errors.Is(err, ErrLeaseNotFound) {
			r.log.Warn("registry: lease lost; registering again", "lease", lease)
			err = r.register(ctx)
		}
		cancel()
		if err != nil {
			r.log.Warn("registry: keepalive failed", "lease", lease, "err", err)
		}
	}
}

// Lease is the current lease, 0 while not registered.
func (r *Registration) Lease() LeaseID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lease
}

// SetWeight changes the registered weight (0 drains the instance). If
// the instance is not registered at the moment, it is registered with the
// new weight when it can be.
func (r *Registration) SetWeight(ctx context.Context, weight uint32) error {
	if weight > maxWeight {
		return invalidf("weight: %d is more than %d", weight, maxWeight)
	}
	r.mu.Lock()
	r.in.Weight = weight
	in, lease := r.in, r.lease
	r.mu.Unlock()
	if lease == 0 {
		return nil
	}
	return r.c.Update(ctx, lease, in)
}

// Close stops renewing and revokes the lease, so the instance leaves now
// rather than when the lease would expire. Later calls do nothing.
func (r *Registration) Close(ctx context.Context) error {
	first := false
	r.closeOnce.Do(func() { first = true; close(r.stop) })
	if !first {
		return nil
	}
	<-r.done
	r.mu.Lock()
	lease := r.lease
	r.lease = 0
	r.mu.Unlock()
	if lease == 0 {
		return nil
	}
	return r.c.Revoke(ctx, lease)
}
