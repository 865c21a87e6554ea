package pilot

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"

	"github.com/octomesh/octomesh/api/registry"
)

// fakeSource is a registry held in memory: tests set a service's instances
// or policy, or an app's routes, and every open watch sees the change.
type fakeSource struct {
	mu       sync.Mutex
	services map[string][]registry.Instance
	policies map[string]*registry.ServicePolicy
	marks    map[string]map[string]registry.HealthMark
	routes   map[string]*registry.AppRoutes
	watchers map[string][]chan struct{}
	opened   map[string]int
}

func newFakeSource() *fakeSource {
	return &fakeSource{services: map[string][]registry.Instance{}, policies: map[string]*registry.ServicePolicy{}, marks: map[string]map[string]registry.HealthMark{}, routes: map[string]*registry.AppRoutes{},
		watchers: map[string][]chan struct{}{}, opened: map[string]int{}}
}

func (f *fakeSource) setService(service string, list ...registry.Instance) {
	f.mu.Lock()
	f.services[service] = list
	f.notifyLocked("s/" + service)
	f.mu.Unlock()
}

func (f *fakeSource) setPolicy(service string, p *registry.ServicePolicy) {
	f.mu.Lock()
	f.policies[service] = p
	f.notifyLocked("p/" + service)
	f.mu.Unlock()
}

func (f *fakeSource) setMarks(service string, marks map[string]registry.HealthMark) {
	f.mu.Lock()
	f.marks[service] = marks
	f.notifyLocked("h/" + service)
	f.mu.Unlock()
}

func (f *fakeSource) setRoutes(app string, r *registry.AppRoutes) {
	f.mu.Lock()
	f.routes[app] = r
	f.notifyLocked("a/" + app)
	f.mu.Unlock()
}

func (f *fakeSource) notifyLocked(key string) {
	for _, ch := range f.watchers[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (f *fakeSource) watch(ctx context.Context, key string, deliver func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.watchers[key] = append(f.watchers[key], ch)
	f.opened[key]++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		list := f.watchers[key]
		for i, c := range list {
			if c == ch {
				f.watchers[key] = append(list[:i], list[i+1:]...)
				break
			}
		}
		f.mu.Unlock()
	}()
	deliver()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			deliver()
		}
	}
}

func (f *fakeSource) WatchService(ctx context.Context, service string, update func([]registry.Instance)) {
	f.watch(ctx, "s/"+service, func() {
		f.mu.Lock()
		list := append([]registry.Instance(nil), f.services[service]...)
		f.mu.Unlock()
		update(list)
	})
}

func (f *fakeSource) WatchPolicy(ctx context.Context, service string, update func(*registry.ServicePolicy)) {
	f.watch(ctx, "p/"+service, func() {
		f.mu.Lock()
		p := f.policies[service]
		f.mu.Unlock()
		update(p)
	})
}

func (f *fakeSource) WatchHealth(ctx context.Context, service string, update func(map[string]registry.HealthMark)) {
	f.watch(ctx, "h/"+service, func() {
		f.mu.Lock()
		m := make(map[string]registry.HealthMark, len(f.marks[service]))
		for k, v := range f.marks[service] {
			m[k] = v
		}
		f.mu.Unlock()
		update(m)
	})
}

func (f *fakeSource) WatchRoutes(ctx context.Context, app string, update func(*registry.AppRoutes)) {
	f.watch(ctx, "a/"+app, func() {
		f.mu.Lock()
		r := f.routes[app]
		f.mu.Unlock()
		update(r)
	})
}

func (f *fakeSource) open(key string) (opened, now int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened[key], len(f.watchers[key])
}

// fakeStream is an in-process delta ADS stream: the test (or benchmark)
// plays the client through its channels.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	in   chan *discovery.DeltaDiscoveryRequest
	out  chan *discovery.DeltaDiscoveryResponse
	done chan error
}

func (s *fakeStream) Context() context.Context { return s.ctx }

func (s *fakeStream) Send(r *discovery.DeltaDiscoveryResponse) error {
	select {
	case s.out <- r:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *fakeStream) Recv() (*discovery.DeltaDiscoveryRequest, error) {
	select {
	case r := <-s.in:
		return r, nil
	case <-s.ctx.Done():
		return nil, io.EOF
	}
}

// openStream starts a delta stream on srv; cancel ends it.
func openStream(ctx context.Context, srv *Server) (*fakeStream, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	s := &fakeStream{ctx: ctx, in: make(chan *discovery.DeltaDiscoveryRequest, 4), out: make(chan *discovery.DeltaDiscoveryResponse, 4), done: make(chan error, 1)}
	go func() { s.done <- srv.DeltaAggregatedResources(s) }()
	return s, cancel
}

// client is a scripted delta xDS client over a fakeStream.
type client struct {
	t     testing.TB
	close context.CancelFunc
	s     *fakeStream
	node  *core.Node
	sent  bool
	queue []*discovery.DeltaDiscoveryResponse
}

func (c *client) send(r *discovery.DeltaDiscoveryRequest) {
	if !c.sent {
		r.Node, c.sent = c.node, true
	}
	select {
	case c.s.in <- r:
	case <-time.After(5 * time.Second):
		c.t.Fatal("the pilot does not read requests")
	}
}

func (c *client) subscribe(k kind, names ...string) {
	c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[k], ResourceNamesSubscribe: names})
}

func (c *client) ack(r *discovery.DeltaDiscoveryResponse) {
	c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce})
}

func (c *client) nack(r *discovery.DeltaDiscoveryResponse, msg string) {
	c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce, ErrorDetail: &status.Status{Code: 3, Message: msg}})
}

func (c *client) recv() *discovery.DeltaDiscoveryResponse {
	c.t.Helper()
	if len(c.queue) > 0 {
		r := c.queue[0]
		c.queue = c.queue[1:]
		return r
	}
	select {
	case r := <-c.s.out:
		return r
	case <-time.After(5 * time.Second):
		c.t.Fatal("no response from the pilot")
		return nil
	}
}

// recvKind returns the next response of kind k, keeping others queued.
func (c *client) recvKind(k kind) *discovery.DeltaDiscoveryResponse {
	c.t.Helper()
	for i, r := range c.queue {
		if r.TypeUrl == typeURLs[k] {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			return r
		}
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-c.s.out:
			if r.TypeUrl == typeURLs[k] {
				return r
			}
			c.queue = append(c.queue, r)
		case <-deadline:
			c.t.Fatalf("no %s response from the pilot", k)
			return nil
		}
	}
}

// quiet fails if a response arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	if len(c.queue) > 0 {
		c.t.Fatalf("unexpected response %s: %v", c.queue[0].TypeUrl, names(c.queue[0]))
	}
	select {
	case r := <-c.s.out:
		c.t.Fatalf("unexpected response %s: %v removed %v", r.TypeUrl, names(r), r.RemovedResources)
	case <-time.After(d):
	}
}

func names(r *discovery.DeltaDiscoveryResponse) []string {
	var out []string
	for _, res := range r.Resources {
		out = append(out, res.Name+"@"+res.Version)
	}
	return out
}

func newTestServer(t testing.TB) (*Server, *fakeSource) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	src := newFakeSource()
	return NewServer(ctx, src, slog.New(slog.NewTextHandler(io.Discard, nil))), src
}

func newClient(t testing.TB, srv *Server, id, app string) *client {
	s, cancel := openStream(context.Background(), srv)
	t.Cleanup(cancel)
	return &client{t: t, s: s, close: cancel, node: &core.Node{Id: id, Cluster: app}}
}
