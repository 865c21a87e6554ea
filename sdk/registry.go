package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	kitexregistry "github.com/cloudwego/kitex/pkg/registry"
	"github.com/cloudwego/kitex/server"

	"github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
)

// Registration says how a server app's instance is registered in the
// mesh's registry.
//
// The app registers itself, through the pilot's registration API, rather
// than through its sidecar: the lease must live exactly as long as the app
// does, and the app is the one that knows. While the app runs, the SDK
// renews the lease; when it stops, the SDK revokes it and the instance
// leaves at once; when it dies, the lease expires and the instance leaves
// within TTL. Registering through the sidecar would tie the lease to the
// sidecar's life instead, and would need a liveness signal from the app to
// the sidecar to get it right. The pilot is the registry's only writer (its
// store, cp/store, holds the etcd client), so the app needs no etcd client
// and no etcd credentials.
type Registration struct {
	// Registry is the pilot's registration API: host:port,
	// http://host:port or unix:///path. Required.
	Registry string
	// Service is the service name callers use; default: the Kitex
	// server's service name (server.WithServerBasicInfo).
	Service string
	// App names the app the instance belongs to. Required.
	App string
	// Address is where peer sidecars reach the instance: its own
	// sidecar's inbound TCP address (host:port), not the app's socket.
	// Required.
	Address string
	// Weight is the instance's relative share; 0 means 1. SetWeight on the
	// registration changes it later (0 there drains the instance).
	Weight uint32
	// Zone and Set place the instance for locality-aware balancing.
	Zone, Set string
	// Metadata travels with the instance's endpoint to every sidecar.
	Metadata map[string]string
	// TTL is the lease's time to live (default 10s, at least 2s): how long
	// a dead instance stays registered.
	TTL time.Duration
	// CertFile, KeyFile and BundleFile, all or none, make the registration
	// mutual TLS, for a pilot or Meta whose HTTP port requires it
	// (--http-tls-cert): the app's certificate and key (PEM; `octomesh ca
	// issue --app <App>` writes them), and the roots the server's
	// certificate is verified with, which must name the pilot's or Meta's
	// identity (spiffe://<TrustDomain>/app/octomesh-pilot or
	// octomesh-meta). The server then lets the app register only instances
	// of the app its certificate names. Registry may be https://host:port.
	CertFile, KeyFile, BundleFile string
	// TrustDomain is the mesh's trust domain; default mesh.local.
	TrustDomain string
	// Log receives registration events; default: none.
	Log *slog.Logger
}

func (r *Registration) instance(service string) registry.Instance {
	if r.Service != "" {
		service = r.Service
	}
	w := r.Weight
	if w == 0 {
		w = 1
	}
	return registry.Instance{Service: service, App: r.App, Address: r.Address, Weight: w, Zone: r.Zone, Set: r.Set, Metadata: r.Metadata}
}

// client is the registry client r describes: over mutual TLS with its
// files, or plain.
func (r *Registration) client() (*registry.Client, error) {
	if r.CertFile == "" && r.KeyFile == "" && r.BundleFile == "" {
		return registry.NewClient(r.Registry)
	}
	if r.CertFile == "" || r.KeyFile == "" || r.BundleFile == "" {
		return nil, errors.New("registration: CertFile, KeyFile and BundleFile go together")
	}
	td := r.TrustDomain
	if td == "" {
		td = "mesh.local"
	}
	cfg, err := ca.ClientTLS(r.CertFile, r.KeyFile, r.BundleFile, td, ca.PilotApp, ca.MetaApp)
	if err != nil {
		return nil, fmt.Errorf("registration: %w", err)
	}
	return registry.NewClientTLS(r.Registry, cfg)
}

// registerTimeout bounds the first registration attempt and the revoke.
const registerTimeout = 5 * time.Second

// Register registers r's instance as service and keeps it registered until
// the returned registration is closed (which revokes the lease). If the
// pilot cannot be reached, Register still returns a registration that
// keeps trying; a registration the pilot refuses is an error.
func Register(ctx context.Context, r Registration, service string) (*registry.Registration, error) {
	c, err := r.client()
	if err != nil {
		return nil, fmt.Errorf("sdk: registry: %w", err)
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	reg, err := c.Keep(ctx, r.instance(service), r.TTL, log)
	if err != nil {
		return nil, fmt.Errorf("sdk: register: %w", err)
	}
	return reg, nil
}

// WithRegistration returns a Kitex server option that registers the
// server in the mesh when Kitex does (about a second after Run starts
// serving) and deregisters it when the server stops. It checks r now, so
// that a mistake shows before Run.
func WithRegistration(r Registration) (server.Option, error) {
	probe := r.instance("probe") // the service name may come from Kitex
	if err := probe.Validate(); err != nil {
		return server.Option{}, fmt.Errorf("sdk: registration: %w", err)
	}
	if r.TTL != 0 && (r.TTL < registry.MinTTL || r.TTL > registry.MaxTTL) {
		return server.Option{}, fmt.Errorf("sdk: registration: ttl %s: want %s to %s", r.TTL, registry.MinTTL, registry.MaxTTL)
	}
	if _, err := r.client(); err != nil {
		return server.Option{}, fmt.Errorf("sdk: registration: %w", err)
	}
	return server.WithRegistry(&kitexRegistry{cfg: r}), nil
}

// kitexRegistry adapts Registration to Kitex's registry.Registry.
type kitexRegistry struct {
	cfg Registration
	mu  sync.Mutex
	reg *registry.Registration
}

// Register implements kitexregistry.Registry.
func (k *kitexRegistry) Register(info *kitexregistry.Info) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.reg != nil {
		return errors.New("sdk: the server is registered already")
	}
	service := ""
	if info != nil {
		service = info.ServiceName
	}
	reg, err := Register(context.Background(), k.cfg, service)
	if err != nil {
		return err
	}
	k.reg = reg
	return nil
}

// Deregister implements kitexregistry.Registry: the lease is revoked.
func (k *kitexRegistry) Deregister(*kitexregistry.Info) error {
	k.mu.Lock()
	reg := k.reg
	k.reg = nil
	k.mu.Unlock()
	if reg == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), registerTimeout)
	defer cancel()
	if err := reg.Close(ctx); err != nil && !errors.Is(err, registry.ErrLeaseNotFound) {
		return fmt.Errorf("sdk: deregister: %w", err)
	}
	return nil
}
