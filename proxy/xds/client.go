package xds

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
)

// Target is the sidecar the client configures. *server.Server implements
// it. Both methods are atomic: on error nothing changed.
type Target interface {
	// ApplyClusters makes the live cluster set equal to clusters. It
	// refuses to remove a cluster that a route still uses.
	ApplyClusters(clusters []config.Cluster) error
	// ApplyRoutes replaces the routes of the named listener. It refuses a
	// route to a cluster that is not live.
	ApplyRoutes(listener string, routes []config.Route) error
	// SetConfigVersion names the configuration now applied, for the
	// admin endpoint ("xds-" and a hash of the resource versions).
	SetConfigVersion(version string)
	// ApplyAuthorization replaces the rule sets the pilot pushed for the
	// named (inbound) listener; the listener's static rule sets stay and
	// win over a pushed one of the same service or name.
	ApplyAuthorization(listener string, policies []config.AuthzPolicy) error
}

// Options configure a Client.
type Options struct {
	// Pilot is the pilot's xDS address (config address form). Give Pilot
	// or Meta.
	Pilot string
	// Meta is a Meta Server's address: the client asks it which pilot
	// serves App, follows redirects, and asks again when it loses the
	// pilot (see run).
	Meta string
	// NodeID, App, Zone and Set describe this sidecar to the pilot; App
	// also names the RouteConfiguration subscribed to.
	NodeID, App, Zone, Set string
	// Listener is the listener whose routes the client manages.
	Listener string
	// Services are subscribed at start, with those in SubscriptionsFile.
	Services          []string
	SubscriptionsFile string
	SubscribeWait     time.Duration
	MaxSubscriptions  int
	ReconnectMax      time.Duration
	// Authorization names, per inbound listener, the services whose
	// rule sets the pilot pushes to it (listeners[].authorization_from_pilot):
	// the client subscribes to their Listeners and applies the RBAC
	// filters they carry (ApplyAuthorization).
	Authorization map[string][]string
	// StaticClusters (all of the file's) and StaticRoutes (the managed
	// listener's, from the file) stay whatever the pilot sends; a pilot
	// cluster or route that clashes with them is ignored.
	StaticClusters []config.Cluster
	// ClusterTLS is the tls of every cluster the pilot sends
	// (config.XDS.ClusterTLS); nil: plain.
	ClusterTLS   *config.TLS
	StaticRoutes []config.Route
	// TLS, when set, makes the stream to the pilot mutual TLS (the
	// server's identity check is the config's); nil: plaintext.
	TLS *tls.Config
	// MetaTLS, when set, makes the owner look-ups at Meta (Meta) mutual
	// TLS as well (the sidecar's certificate; Meta's verified).
	MetaTLS *tls.Config
	Log     *slog.Logger
}

// FromConfig returns the options a sidecar's config asks for.
func FromConfig(cfg *config.Config, log *slog.Logger) Options {
	x := cfg.XDS
	o := Options{
		Pilot: x.Pilot, Meta: x.Meta, NodeID: cfg.Node.ID, App: cfg.Node.App, Zone: cfg.Node.Zone, Set: cfg.Node.Set,
		Listener: x.Listener, Services: x.Services, SubscriptionsFile: x.SubscriptionsFile,
		SubscribeWait: x.SubscribeWait.Std(), MaxSubscriptions: x.MaxSubscriptions, ReconnectMax: x.ReconnectMax.Std(),
		StaticClusters: cfg.Clusters, ClusterTLS: x.ClusterTLS, Log: log,
	}
	for _, l := range cfg.Listeners {
		if l.Name == x.Listener {
			o.StaticRoutes = l.Routes
		}
		if len(l.AuthorizationFromPilot) > 0 {
			if o.Authorization == nil {
				o.Authorization = map[string][]string{}
			}
			o.Authorization[l.Name] = l.AuthorizationFromPilot
		}
	}
	return o
}

// ErrTooManySubscriptions: Options.MaxSubscriptions services are
// subscribed already.
var ErrTooManySubscriptions = errors.New("xds: too many subscriptions")

// Stats counts what the client did.
type Stats struct {
	Connects, Responses, Acks, Nacks atomic.Uint64
	// OnDemand counts subscriptions made by a request's first call;
	// AwaitTimeouts the waits for one that ran out.
	OnDemand, AwaitTimeouts atomic.Uint64
	// Lookups counts questions to Meta; Redirects the pilots' answers
	// naming another pilot.
	Lookups, Redirects atomic.Uint64
}

// kinds of resources the client subscribes to, in the order of initial
// requests.
const (
	kCluster = iota
	kEndpoint
	kRoute
	// kListener: the Listeners of the services this sidecar serves, for
	// their authorization (Options.Authorization); asked for only when
	// there are some.
	kListener
	numKinds
)

var typeURLs = [numKinds]string{resource.ClusterType, resource.EndpointType, resource.RouteType, resource.ListenerType}

// Client is the sidecar's delta ADS client.
type Client struct {
	opts   Options
	target Target
	log    *slog.Logger
	Stats  Stats

	ctx     context.Context
	cancel  context.CancelFunc
	started atomic.Bool
	// inbound holds the sidecar's inbound addresses ([]string), sent in
	// the node's metadata (SetInbound).
	inbound atomic.Value
	done    chan struct{}
	// admin holds the sidecar's admin address (string), sent in the
	// node's metadata (SetAdmin).
	admin atomic.Value
	// conn is the connection to the current pilot (target); only run
	// uses it, and Close after run ended.
	conn   *grpc.ClientConn
	connTo meta.PilotInfo
	meta   *meta.Client

	fileMu sync.Mutex // serialises writes of the subscriptions file
	sendMu sync.Mutex // serialises Send on the stream

	mu        sync.Mutex
	stream    discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	subs      map[string]bool // subscribed services
	served    map[string]bool // services whose Listeners are subscribed (Options.Authorization)
	st        state           // the last good state (applied)
	routed    map[string]bool // services with a route in the applied table
	waiters   map[string]chan struct{}
	connected bool
	lastErr   string
	pilot     meta.PilotInfo // the pilot of the current (or last) stream
}

// New returns a client for target. It reads the subscriptions file; the
// services in it and in opts.Services are subscribed when Start connects.
func New(opts Options, target Target) (*Client, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	var mc *meta.Client
	if opts.Meta != "" {
		m, err := meta.NewClientTLS(opts.Meta, opts.MetaTLS)
		if err != nil {
			return nil, fmt.Errorf("xds: %w", err)
		}
		mc = m
	} else if _, _, err := config.ParseAddress(opts.Pilot); err != nil {
		return nil, fmt.Errorf("xds: pilot: %w", err)
	}
	c := &Client{meta: mc, opts: opts, target: target, log: opts.Log, done: make(chan struct{}),
		subs: map[string]bool{}, routed: map[string]bool{}, waiters: map[string]chan struct{}{}}
	c.st = newState(opts.StaticClusters, opts.StaticRoutes, opts.ClusterTLS)
	c.served = map[string]bool{}
	for l, services := range opts.Authorization {
		for _, s := range services {
			if err := config.CheckName(s); err != nil {
				return nil, fmt.Errorf("xds: listener %s: authorization_from_pilot: %v", l, err)
			}
			c.served[s] = true
		}
	}
	preload, err := c.readFile()
	if err != nil {
		c.log.Warn("xds: ignoring the subscriptions file", "file", opts.SubscriptionsFile, "err", err)
	}
	for _, s := range append(append([]string(nil), opts.Services...), preload...) {
		if config.CheckName(s) == nil && len(c.subs) < opts.MaxSubscriptions {
			c.subs[s] = true
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// SetInbound names the sidecar's inbound (peer-facing) addresses, host:port,
// to the pilot on every stream it opens from now on: when the stream drops,
// the pilot asks the scanners to check them at once.
func (c *Client) SetInbound(addrs []string) { c.inbound.Store(slices.Clone(addrs)) }

// SetAdmin names the sidecar's admin address (host:port) to the pilot on
// every stream it opens from now on (api/scanner.NodeAdminKey), so that
// the operator's tools can read the sidecar's own view of its config.
func (c *Client) SetAdmin(addr string) { c.admin.Store(addr) }

// Start connects to the pilot in the background and keeps reconnecting
// until Close.
func (c *Client) Start() {
	if c.started.Swap(true) {
		return
	}
	c.mu.Lock()
	n := len(c.subs)
	c.mu.Unlock()
	if n > 0 {
		c.writeFile() // the preload list now includes opts.Services
	}
	go c.run()
}

// Close stops the client; the sidecar keeps its last configuration.
func (c *Client) Close() {
	c.cancel()
	if c.started.Load() {
		<-c.done
	}
	if c.conn != nil {
		_ = c.conn.Close()
	}
	if c.meta != nil {
		c.meta.Close()
	}
}
