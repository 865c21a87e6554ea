package xds

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

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
	// StaticClusters (all of the file's) and StaticRoutes (the managed
	// listener's, from the file) stay whatever the pilot sends; a pilot
	// cluster or route that clashes with them is ignored.
	StaticClusters []config.Cluster
	StaticRoutes   []config.Route
	Log            *slog.Logger
}

// FromConfig returns the options a sidecar's config asks for.
func FromConfig(cfg *config.Config, log *slog.Logger) Options {
	x := cfg.XDS
	o := Options{
		Pilot: x.Pilot, Meta: x.Meta, NodeID: cfg.Node.ID, App: cfg.Node.App, Zone: cfg.Node.Zone, Set: cfg.Node.Set,
		Listener: x.Listener, Services: x.Services, SubscriptionsFile: x.SubscriptionsFile,
		SubscribeWait: x.SubscribeWait.Std(), MaxSubscriptions: x.MaxSubscriptions, ReconnectMax: x.ReconnectMax.Std(),
		StaticClusters: cfg.Clusters, Log: log,
	}
	for _, l := range cfg.Listeners {
		if l.Name == x.Listener {
			o.StaticRoutes = l.Routes
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
	numKinds
)

var typeURLs = [numKinds]string{resource.ClusterType, resource.EndpointType, resource.RouteType}

// Client is the sidecar's delta ADS client.
type Client struct {
	opts   Options
	target Target
	log    *slog.Logger
	Stats  Stats

	ctx     context.Context
	cancel  context.CancelFunc
	started atomic.Bool
	done    chan struct{}
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
	st        state           // the last good state (applied)
	routed    map[string]bool // services with a route in the applied table
	waiters   map[string]chan struct{}
	connected bool
	lastErr   string
	pilot     meta.PilotInfo // the pilot of the current (or last) stream
}

// state is what the pilot sent that the sidecar applied.
type state struct {
	clusters  map[string]config.Cluster    // settings by service
	endpoints map[string][]config.Endpoint // by service
	rules     []config.Route               // the app's route rules; nil: none
	versions  [numKinds]map[string]string  // held resource versions
	absent    map[string]bool              // subscribed services the pilot says do not exist
	// applied is what Target holds now.
	clusterSet []config.Cluster
	routes     []config.Route
}

func (s *state) clone() state {
	c := *s
	c.clusters = cloneMap(s.clusters)
	c.endpoints = cloneMap(s.endpoints)
	c.absent = cloneMap(s.absent)
	for k := range s.versions {
		c.versions[k] = cloneMap(s.versions[k])
	}
	return c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// New returns a client for target. It reads the subscriptions file; the
// services in it and in opts.Services are subscribed when Start connects.
func New(opts Options, target Target) (*Client, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	var mc *meta.Client
	if opts.Meta != "" {
		m, err := meta.NewClient(opts.Meta)
		if err != nil {
			return nil, fmt.Errorf("xds: %w", err)
		}
		mc = m
	} else if _, _, err := config.ParseAddress(opts.Pilot); err != nil {
		return nil, fmt.Errorf("xds: pilot: %w", err)
	}
	c := &Client{meta: mc, opts: opts, target: target, log: opts.Log, done: make(chan struct{}),
		subs: map[string]bool{}, routed: map[string]bool{}, waiters: map[string]chan struct{}{}}
	c.st = state{clusters: map[string]config.Cluster{}, endpoints: map[string][]config.Endpoint{}, absent: map[string]bool{}}
	for k := range c.st.versions {
		c.st.versions[k] = map[string]string{}
	}
	c.st.clusterSet = append([]config.Cluster(nil), opts.StaticClusters...)
	c.st.routes = append([]config.Route(nil), opts.StaticRoutes...)
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

// Finding the pilot. Without Meta it is always Options.Pilot. With Meta:
//
//   - ask Meta which pilot serves the app, and open the stream there;
//   - a pilot that does not serve the app ends the stream with a redirect
//     naming the one that does: go there at once (at most maxRedirects in
//     a row, then back off and ask Meta again);
//   - when a working stream breaks otherwise, back off (with jitter) and
//     ask Meta again: if Meta still names the same pilot, try it (a broken
//     connection to a live pilot costs no more than that);
//   - when a pilot cannot be reached (or the stream fails before its first
//     response) twice in a row, ask Meta naming that pilot as one to
//     avoid: Meta answers
//     as soon as the app has another owner (when the lost pilot's lease
//     runs out), or after metaWait with whatever owner it has;
//   - never a pilot that neither Meta nor a redirect named.
const (
	maxRedirects = 3
	metaWait     = 15 * time.Second
	// moveJitter spreads the sidecars of a lost pilot over this long
	// before they connect to the app's new owner: all at once, ten
	// thousand of them overflow its listen queue (4096 by default), and
	// the dropped SYNs come back after 1s, 3s, 7s...
	moveJitter = 2 * time.Second
)

func (c *Client) run() {
	defer close(c.done)
	backoff := 100 * time.Millisecond
	var next meta.PilotInfo // named by a redirect
	avoid := ""
	redirects := 0
	failed, failures := "", 0 // the pilot that failed before a first response, how often in a row
	for c.ctx.Err() == nil {
		target := next
		next = meta.PilotInfo{}
		if target.XDS == "" {
			var err error
			if target, err = c.findPilot(avoid); err != nil {
				if c.ctx.Err() != nil {
					return
				}
				c.mu.Lock()
				c.connected, c.lastErr = false, err.Error()
				c.mu.Unlock()
				wait := backoff/2 + rand.N(backoff/2+1)
				c.log.Warn("xds: cannot find the pilot; retrying", "meta", c.opts.Meta, "err", err, "in", wait)
				if !c.sleep(wait) {
					return
				}
				backoff = min(2*backoff, c.opts.ReconnectMax)
				continue
			}
			if avoid != "" && target.ID != avoid && !c.sleep(rand.N(moveJitter)) {
				return
			}
		}
		start := time.Now()
		err := c.session(target)
		if c.ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		wasConnected := c.connected
		c.connected, c.lastErr = false, err.Error()
		c.mu.Unlock()
		if to, ok := meta.RedirectOf(err); ok && c.meta != nil && redirects < maxRedirects {
			redirects++
			c.Stats.Redirects.Add(1)
			c.log.Info("xds: redirected", "from", target.ID, "to", to.ID, "xds", to.XDS)
			next, avoid = to, ""
			continue
		}
		redirects = 0
		avoid = ""
		if _, ok := meta.RedirectOf(err); !ok && grpcstatus.Code(err) != codes.Aborted && !wasConnected {
			// Not even a first response, twice in a row: the pilot is
			// gone. Do not come back unless Meta says so. Once may be a
			// busy pilot's full listen queue; a stream that had been
			// working is tried again through a plain look-up.
			if target.ID != failed {
				failed, failures = target.ID, 0
			}
			if failures++; failures >= 2 {
				avoid, failures = target.ID, 0
			}
		} else {
			failed, failures = "", 0
		}
		if time.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond // it had been working
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		c.log.Warn("xds: pilot stream ended; serving the last good configuration and reconnecting", "pilot", target.XDS, "err", err, "in", wait)
		if !c.sleep(wait) {
			return
		}
		backoff = min(2*backoff, c.opts.ReconnectMax)
	}
}

func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// findPilot returns the pilot to use: Options.Pilot, or Meta's answer.
func (c *Client) findPilot(avoid string) (meta.PilotInfo, error) {
	if c.meta == nil {
		return meta.PilotInfo{XDS: c.opts.Pilot}, nil
	}
	c.Stats.Lookups.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, metaWait+5*time.Second)
	defer cancel()
	wait := time.Duration(0)
	if avoid != "" {
		wait = metaWait
	}
	return c.meta.Owner(ctx, c.opts.App, avoid, wait)
}

// dial returns a connection to the target pilot, reusing the last one if
// it is the same pilot.
func (c *Client) dial(t meta.PilotInfo) (*grpc.ClientConn, error) {
	if c.conn != nil && c.connTo.XDS == t.XDS {
		return c.conn, nil
	}
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	network, address, err := config.ParseAddress(t.XDS)
	if err != nil {
		return nil, fmt.Errorf("xds: pilot %q: %w", t.XDS, err)
	}
	grpcTarget := "passthrough:///" + address
	if network == "unix" {
		grpcTarget = "unix://" + address
	}
	conn, err := grpc.NewClient(grpcTarget,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	)
	if err != nil {
		return nil, fmt.Errorf("xds: pilot %s: %w", t.XDS, err)
	}
	c.conn, c.connTo = conn, t
	return conn, nil
}

// session runs one ADS stream: initial requests carrying the versions the
// sidecar holds, then responses, each ACKed or NACKed, until it breaks.
func (c *Client) session(target meta.PilotInfo) error {
	conn, err := c.dial(target)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pilot = target
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(c.ctx, meta.AppHeader, c.opts.App))
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c.sendMu.Lock()
	c.mu.Lock()
	subs := c.subscriptionList()
	var initial [numKinds]map[string]string
	for k := range initial {
		initial[k] = cloneMap(c.st.versions[k])
	}
	c.stream = stream
	c.mu.Unlock()
	node := &core.Node{Id: c.opts.NodeID, Cluster: c.opts.App, Locality: &core.Locality{Zone: c.opts.Zone, SubZone: c.opts.Set}, UserAgentName: "octomesh"}
	reqs := [numKinds]*discovery.DeltaDiscoveryRequest{
		kCluster:  {Node: node, TypeUrl: typeURLs[kCluster], ResourceNamesSubscribe: subs, InitialResourceVersions: initial[kCluster]},
		kEndpoint: {TypeUrl: typeURLs[kEndpoint], ResourceNamesSubscribe: subs, InitialResourceVersions: initial[kEndpoint]},
		kRoute:    {TypeUrl: typeURLs[kRoute], ResourceNamesSubscribe: []string{c.opts.App}, InitialResourceVersions: initial[kRoute]},
	}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			c.sendMu.Unlock()
			return err
		}
	}
	c.sendMu.Unlock()
	defer func() {
		c.sendMu.Lock()
		c.mu.Lock()
		c.stream = nil
		c.mu.Unlock()
		c.sendMu.Unlock()
	}()
	c.Stats.Connects.Add(1)
	c.log.Info("xds: connected to the pilot", "pilot", target.XDS, "id", target.ID, "services", len(subs))
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.connected, c.lastErr = true, ""
		c.mu.Unlock()
		c.Stats.Responses.Add(1)
		ack := &discovery.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}
		if err := c.handle(resp); err != nil {
			c.Stats.Nacks.Add(1)
			c.log.Warn("xds: NACK: keeping the last good configuration", "type", resp.GetTypeUrl(), "nonce", resp.GetNonce(), "err", err)
			ack.ErrorDetail = &status.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
		} else {
			c.Stats.Acks.Add(1)
		}
		if err := c.send(stream, ack); err != nil {
			return err
		}
	}
}

func (c *Client) send(stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient, r *discovery.DeltaDiscoveryRequest) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return stream.Send(r)
}

func (c *Client) subscriptionList() []string {
	list := make([]string, 0, len(c.subs))
	for s := range c.subs {
		list = append(list, s)
	}
	sort.Strings(list)
	return list
}

// handle applies one response: translate it onto a copy of the state,
// apply the result to the target, and keep it only if all of that worked.
func (c *Client) handle(resp *discovery.DeltaDiscoveryResponse) error {
	c.mu.Lock()
	next := c.st.clone()
	subs := cloneMap(c.subs)
	c.mu.Unlock()
	k := -1
	for i, u := range typeURLs {
		if u == resp.GetTypeUrl() {
			k = i
		}
	}
	if k < 0 {
		return fmt.Errorf("type %s was not subscribed to", resp.GetTypeUrl())
	}
	for _, r := range resp.GetResources() {
		if err := next.put(k, r, c.opts.App); err != nil {
			return err
		}
	}
	for _, name := range resp.GetRemovedResources() {
		next.remove(k, name, subs[name])
	}
	if err := c.apply(&next, subs); err != nil {
		return err
	}
	c.target.SetConfigVersion(next.version())
	c.mu.Lock()
	c.st = next
	c.routed = routedServices(next.routes)
	c.resolveWaitersLocked()
	var missing []string
	for _, r := range next.rules {
		for _, name := range r.Clusters() {
			if !c.subs[name] && !isStatic(c.opts.StaticClusters, name) && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	c.mu.Unlock()
	if len(missing) > 0 { // route rules name clusters of their own
		if err := c.Subscribe(missing...); err != nil {
			c.log.Warn("xds: cannot subscribe to the clusters the route rules use", "clusters", missing, "err", err)
		}
	}
	return nil
}

// version names the state by a hash of the resource versions it holds.
func (s *state) version() string {
	h := fnv.New64a()
	for k := range s.versions {
		names := make([]string, 0, len(s.versions[k]))
		for name := range s.versions[k] {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			fmt.Fprintf(h, "%d/%s=%s;", k, name, s.versions[k][name])
		}
	}
	return fmt.Sprintf("xds-%016x", h.Sum64())
}

// put records one resource of kind k.
func (s *state) put(k int, r *discovery.Resource, app string) error {
	name := r.GetName()
	switch k {
	case kCluster:
		var m cluster.Cluster
		if err := unmarshal(r, &m); err != nil {
			return err
		}
		if m.GetName() != name {
			return fmt.Errorf("resource %q holds cluster %q", name, m.GetName())
		}
		cc, err := translateCluster(&m)
		if err != nil {
			return err
		}
		s.clusters[name] = cc
		delete(s.absent, name)
	case kEndpoint:
		var m endpoint.ClusterLoadAssignment
		if err := unmarshal(r, &m); err != nil {
			return err
		}
		if m.GetClusterName() != name {
			return fmt.Errorf("resource %q holds the assignment of %q", name, m.GetClusterName())
		}
		eps, err := translateEndpoints(&m)
		if err != nil {
			return err
		}
		s.endpoints[name] = eps
	case kRoute:
		if name != app {
			return fmt.Errorf("route configuration %q was not subscribed to (this node's app is %q)", name, app)
		}
		var m route.RouteConfiguration
		if err := unmarshal(r, &m); err != nil {
			return err
		}
		rules, err := translateRoutes(&m)
		if err != nil {
			return fmt.Errorf("route configuration %q: %v", name, err)
		}
		s.rules = rules
		if s.rules == nil {
			s.rules = []config.Route{}
		}
	}
	s.versions[k][name] = r.GetVersion()
	return nil
}

// remove records that resource name of kind k is gone (or never existed).
func (s *state) remove(k int, name string, subscribed bool) {
	delete(s.versions[k], name)
	switch k {
	case kCluster:
		delete(s.clusters, name)
		if subscribed {
			s.absent[name] = true
		}
	case kEndpoint:
		delete(s.endpoints, name)
	case kRoute:
		s.rules = nil
	}
}

func unmarshal(r *discovery.Resource, m proto.Message) error {
	if r.GetResource() == nil {
		return fmt.Errorf("resource %q has no body", r.GetName())
	}
	if err := r.GetResource().UnmarshalTo(m); err != nil {
		return fmt.Errorf("resource %q: %v", r.GetName(), err)
	}
	return nil
}

// desired computes the cluster set and the managed listener's routes from
// the state: the static clusters and routes; every pilot cluster that has
// both its settings and its endpoints; the app's route rules whose clusters
// (split and mirror included) are all live; and for each subscribed service
// with a live cluster and no rule of its own, a route of all its methods to
// it. A static route wins over a rule with the same match.
func (c *Client) desired(s *state, subs map[string]bool) ([]config.Cluster, []config.Route) {
	clusters := append([]config.Cluster(nil), c.opts.StaticClusters...)
	live := map[string]bool{}
	for _, cc := range clusters {
		live[cc.Name] = true
	}
	names := make([]string, 0, len(s.clusters))
	for name := range s.clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		eps, ok := s.endpoints[name]
		if !ok || live[name] {
			continue // warming (no assignment yet), or shadowed by a static cluster
		}
		cc := s.clusters[name]
		cc.Endpoints = eps
		clusters = append(clusters, cc)
		live[name] = true
	}
	routes := append([]config.Route(nil), c.opts.StaticRoutes...)
	taken := map[string]bool{}
	for i := range routes {
		taken[routes[i].MatchKey()] = true
	}
	ruled := map[string]bool{}
	for i := range s.rules {
		r := &s.rules[i]
		ruled[r.Service] = true
		if k := r.MatchKey(); allLive(r, live) && !taken[k] {
			taken[k] = true
			routes = append(routes, *r)
		}
	}
	for _, name := range names {
		r := config.NewRoute(name)
		r.Service = name
		if k := r.MatchKey(); subs[name] && live[name] && !ruled[name] && !taken[k] {
			taken[k] = true
			routes = append(routes, r)
		}
	}
	return clusters, routes
}

// allLive reports whether every cluster the route sends calls to (its
// cluster or split, and its mirror) is live.
func allLive(r *config.Route, live map[string]bool) bool {
	for _, name := range r.Clusters() {
		if !live[name] {
			return false
		}
	}
	return true
}

// apply brings the target from what it holds (s.clusterSet, s.routes) to
// what s asks for: clusters added and changed first (removed ones kept),
// then the routes, then the cluster set without the removed ones. If a
// step fails the target is put back as it was.
func (c *Client) apply(s *state, subs map[string]bool) error {
	clusters, routes := c.desired(s, subs)
	oldClusters := s.clusterSet
	union := append([]config.Cluster(nil), clusters...)
	in := map[string]bool{}
	for _, cc := range clusters {
		in[cc.Name] = true
	}
	removing := false
	for _, cc := range oldClusters {
		if !in[cc.Name] {
			union = append(union, cc)
			removing = true
		}
	}
	if err := c.target.ApplyClusters(union); err != nil {
		return fmt.Errorf("clusters: %w", err)
	}
	if err := c.target.ApplyRoutes(c.opts.Listener, routes); err != nil {
		if rerr := c.target.ApplyClusters(oldClusters); rerr != nil {
			c.log.Error("xds: cannot restore the clusters after a failed update", "err", rerr)
		}
		return fmt.Errorf("routes: %w", err)
	}
	if removing {
		if err := c.target.ApplyClusters(clusters); err != nil {
			// Not expected: no route uses them any more. The extra
			// clusters stay until the next update.
			c.log.Error("xds: cannot remove clusters", "err", err)
			clusters = union
		}
	}
	s.clusterSet, s.routes = clusters, routes
	return nil
}

func isStatic(static []config.Cluster, name string) bool {
	for _, cc := range static {
		if cc.Name == name {
			return true
		}
	}
	return false
}

// routedServices lists the services that have a route of their own.
func routedServices(routes []config.Route) map[string]bool {
	m := make(map[string]bool, len(routes))
	for _, r := range routes {
		if r.Service != "*" {
			m[r.Service] = true
		}
	}
	return m
}

// resolveWaitersLocked wakes the waits for services that now have a route
// or are known not to exist.
func (c *Client) resolveWaitersLocked() {
	for name, ch := range c.waiters {
		if c.routed[name] || c.st.absent[name] {
			close(ch)
			delete(c.waiters, name)
		}
	}
}

// Subscribe adds services to the subscription (ignoring those already
// in it), records them in the subscriptions file, and asks the pilot for
// them if it is connected (else they are asked for on connecting).
func (c *Client) Subscribe(services ...string) error {
	for _, s := range services {
		if err := config.CheckName(s); err != nil {
			return fmt.Errorf("xds: service: %v", err)
		}
	}
	c.mu.Lock()
	var added []string
	for _, s := range services {
		if c.subs[s] {
			continue
		}
		if len(c.subs) >= c.opts.MaxSubscriptions {
			c.mu.Unlock()
			return fmt.Errorf("%w: %d (xds.max_subscriptions)", ErrTooManySubscriptions, c.opts.MaxSubscriptions)
		}
		c.subs[s] = true
		added = append(added, s)
	}
	stream := c.stream
	c.mu.Unlock()
	if len(added) == 0 {
		return nil
	}
	sort.Strings(added)
	c.log.Info("xds: subscribing", "services", added)
	c.writeFile()
	if stream == nil {
		return nil
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	same := c.stream == stream
	c.mu.Unlock()
	if !same {
		return nil // a new stream subscribed them in its initial requests
	}
	for _, k := range []int{kCluster, kEndpoint} {
		if err := stream.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[k], ResourceNamesSubscribe: added}); err != nil {
			return nil // the stream is breaking; the next one subscribes them
		}
	}
	return nil
}

// Await is the request path's on-demand subscription: it subscribes to
// service if needed and waits, at most Options.SubscribeWait, until the
// service has a route or the pilot says it does not exist. It reports
// whether a route is there.
func (c *Client) Await(service string) bool {
	if config.CheckName(service) != nil {
		return false
	}
	c.mu.Lock()
	if c.routed[service] {
		c.mu.Unlock()
		return true
	}
	subscribed := c.subs[service]
	if subscribed && c.st.absent[service] || !subscribed && len(c.subs) >= c.opts.MaxSubscriptions {
		c.mu.Unlock()
		return false
	}
	ch := c.waiters[service]
	if ch == nil {
		ch = make(chan struct{})
		c.waiters[service] = ch
	}
	c.mu.Unlock()
	if !subscribed {
		c.Stats.OnDemand.Add(1)
		if err := c.Subscribe(service); err != nil {
			c.log.Warn("xds: on-demand subscription refused", "service", service, "err", err)
			return false
		}
	}
	t := time.NewTimer(c.opts.SubscribeWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		c.Stats.AwaitTimeouts.Add(1)
	case <-c.ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.routed[service]
}

// Status describes the client for the admin endpoint.
type Status struct {
	Pilot string `json:"pilot"`
	// PilotID names the pilot (with Meta).
	PilotID       string            `json:"pilot_id,omitempty"`
	Meta          string            `json:"meta,omitempty"`
	Connected     bool              `json:"connected"`
	LastError     string            `json:"last_error,omitempty"`
	Subscriptions []string          `json:"subscriptions"`
	Absent        []string          `json:"absent,omitempty"`
	Clusters      map[string]string `json:"clusters"`  // service -> version
	Endpoints     map[string]string `json:"endpoints"` // service -> version
	Routes        map[string]string `json:"routes"`    // app -> version
	Applied       AppliedStatus     `json:"applied"`
	Stats         map[string]uint64 `json:"stats"`
}

// AppliedStatus is what the client last applied to the sidecar.
type AppliedStatus struct {
	Clusters map[string][]string `json:"clusters"` // name -> endpoint addresses (weight)
	Routes   []string            `json:"routes"`   // "service/method -> cluster"
}

// Status reports the client's state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Pilot: c.pilot.XDS, PilotID: c.pilot.ID, Meta: c.opts.Meta, Connected: c.connected && c.stream != nil, LastError: c.lastErr,
		Subscriptions: c.subscriptionList(),
		Clusters:      cloneMap(c.st.versions[kCluster]), Endpoints: cloneMap(c.st.versions[kEndpoint]), Routes: cloneMap(c.st.versions[kRoute]),
		Applied: AppliedStatus{Clusters: map[string][]string{}},
		Stats: map[string]uint64{"connects": c.Stats.Connects.Load(), "responses": c.Stats.Responses.Load(), "acks": c.Stats.Acks.Load(),
			"nacks": c.Stats.Nacks.Load(), "on_demand": c.Stats.OnDemand.Load(), "await_timeouts": c.Stats.AwaitTimeouts.Load(),
			"meta_lookups": c.Stats.Lookups.Load(), "redirects": c.Stats.Redirects.Load()}}
	for name := range c.st.absent {
		st.Absent = append(st.Absent, name)
	}
	sort.Strings(st.Absent)
	for _, cc := range c.st.clusterSet {
		eps := make([]string, 0, len(cc.Endpoints))
		for _, e := range cc.Endpoints {
			eps = append(eps, fmt.Sprintf("%s (weight %d)", e.Address, e.Weight))
		}
		st.Applied.Clusters[cc.Name] = eps
	}
	for _, r := range c.st.routes {
		st.Applied.Routes = append(st.Applied.Routes, fmt.Sprintf("%s/%s -> %s", r.Service, r.Method, r.Cluster))
	}
	return st
}
