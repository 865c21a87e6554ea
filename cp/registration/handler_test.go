package registration

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// memStore is a Store in memory, instances keyed by service/address;
// leases expire only when a test says so.
type memStore struct {
	mu        sync.Mutex
	next      registry.LeaseID
	leases    map[registry.LeaseID]string // lease -> instance key
	instances map[string]registry.Instance
	routes    map[string][]byte
	policies  map[string][]byte
	keepalive int
}

func newMemStore() *memStore {
	return &memStore{leases: map[registry.LeaseID]string{}, instances: map[string]registry.Instance{}, routes: map[string][]byte{}, policies: map[string][]byte{}}
}

func (m *memStore) Register(_ context.Context, in registry.Instance, _ time.Duration) (registry.LeaseID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	k := in.Service + "/" + in.Address
	m.leases[m.next], m.instances[k] = k, in
	return m.next, nil
}

func (m *memStore) Update(_ context.Context, l registry.LeaseID, in registry.Instance) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.leases[l]; !ok {
		return registry.ErrLeaseNotFound
	}
	m.instances[in.Service+"/"+in.Address] = in
	return nil
}

func (m *memStore) KeepAlive(_ context.Context, l registry.LeaseID) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keepalive++
	if _, ok := m.leases[l]; !ok {
		return 0, registry.ErrLeaseNotFound
	}
	return 3 * time.Second, nil
}

func (m *memStore) LeaseInstances(_ context.Context, l registry.LeaseID) ([]registry.Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.leases[l]
	if !ok {
		return nil, registry.ErrLeaseNotFound
	}
	return []registry.Instance{m.instances[k]}, nil
}

func (m *memStore) Revoke(_ context.Context, l registry.LeaseID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.leases[l]
	if !ok {
		return registry.ErrLeaseNotFound
	}
	delete(m.leases, l)
	delete(m.instances, k)
	return nil
}

func (m *memStore) Reinstate(_ context.Context, l registry.LeaseID, ins []registry.Instance, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.leases[l]; ok {
		return false, nil
	}
	for _, in := range ins {
		k := in.Service + "/" + in.Address
		m.leases[l], m.instances[k] = k, in
	}
	return true, nil
}

// expire ends every lease, as etcd would after the TTL.
func (m *memStore) expire() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for l, k := range m.leases {
		delete(m.leases, l)
		delete(m.instances, k)
	}
}

func (m *memStore) Instances(_ context.Context, service string) ([]registry.Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []registry.Instance
	for k, in := range m.instances {
		if strings.HasPrefix(k, service+"/") {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

func (m *memStore) Routes(_ context.Context, app string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.routes[app], nil
}

func (m *memStore) PutRoutes(_ context.Context, app string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.routes[app] = v
	return nil
}

func (m *memStore) DeleteRoutes(_ context.Context, app string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.routes, app)
	return nil
}

func (m *memStore) Policy(_ context.Context, service string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.policies[service], nil
}

func (m *memStore) PutPolicy(_ context.Context, service string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.policies[service] = v
	return nil
}

func (m *memStore) DeletePolicy(_ context.Context, service string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.policies, service)
	return nil
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// newAPI serves the API over a memStore; it returns the store, a client,
// and the server's URL.
func newAPI(t *testing.T) (*memStore, *registry.Client, string) {
	t.Helper()
	store := newMemStore()
	srv := httptest.NewServer(Handler(store, discard))
	t.Cleanup(srv.Close)
	c, err := registry.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return store, c, srv.URL
}

var echo = registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7102", Weight: 1, Zone: "z1", Metadata: map[string]string{"v": "2"}}

func TestAPIRegisterUpdateRevoke(t *testing.T) {
	store, c, _ := newAPI(t)
	ctx := context.Background()
	lease, ttl, err := c.Register(ctx, echo, 5*time.Second)
	if err != nil || ttl != 5*time.Second {
		t.Fatalf("Register: %v %v", ttl, err)
	}
	in := echo
	in.Weight = 7
	if err := c.Update(ctx, lease, in); err != nil {
		t.Fatal(err)
	}
	list, err := c.Instances(ctx, "echo")
	if err != nil || len(list) != 1 || list[0].Weight != 7 || list[0].Metadata["v"] != "2" {
		t.Fatalf("Instances: %+v %v", list, err)
	}
	if err := c.KeepAlive(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if err := c.KeepAlive(ctx, lease); !errors.Is(err, registry.ErrLeaseNotFound) {
		t.Fatalf("keepalive after revoke: %v", err)
	}
	if _, _, err := c.Register(ctx, echo, time.Second); !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), "ttl") {
		t.Fatalf("ttl of 1s: %v", err)
	}
	if len(store.instances) != 0 {
		t.Errorf("store %+v", store.instances)
	}
}

func TestAPIRoutes(t *testing.T) {
	store, c, _ := newAPI(t)
	ctx := context.Background()
	if err := c.PutRoutes(ctx, "web", []registry.RouteRule{{Service: "echo"}, {Service: "echo", Method: "Slow", Timeout: config.Duration(10 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	got, err := registry.DecodeRoutes(store.routes["web"])
	if err != nil || len(got.Routes) != 2 || got.Routes[0].Method != "*" || got.Routes[1].Cluster != "echo" {
		t.Fatalf("stored %s: %+v %v", store.routes["web"], got, err)
	}
	for _, bad := range [][]registry.RouteRule{
		{{Service: "echo"}, {Service: "echo", Method: "*"}},
		{{Service: "*"}},
		{{Service: "echo", Timeout: -1}},
	} {
		if err := c.PutRoutes(ctx, "web", bad); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("PutRoutes(%+v): %v", bad, err)
		}
	}
}

// TestAPIRefusesDataAfterTheBody: a body is one JSON value; what follows
// it was silently dropped (found by FuzzAPI).
func TestAPIRefusesDataAfterTheBody(t *testing.T) {
	h := Handler(newMemStore(), discard)
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodPut, "/v1/routes/web", `{"routes":[{"service":"echo"}]} {"routes":[]}`},
		{http.MethodPost, "/v1/instances", `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:1"}}0`},
		{http.MethodPut, "/v1/policies/echo", `{}]`},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "more than one JSON value") {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, w.Code, w.Body)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/v1/routes/web", strings.NewReader("{\"routes\":[{\"service\":\"echo\"}]}\n\t ")))
	if w.Code != http.StatusNoContent {
		t.Errorf("a body with trailing white space: %d %s", w.Code, w.Body)
	}
}

func TestRegistrationKeepsAliveAndRegistersAgain(t *testing.T) {
	// A pilot that restarts has forgotten the leases: it cannot give one
	// back, and the app registers again.
	store := newMemStore()
	var pilot atomic.Pointer[http.Handler]
	first := Handler(store, discard)
	pilot.Store(&first)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*pilot.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	c, err := registry.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	r, err := c.Keep(ctx, echo, registry.MinTTL, discard)
	if err != nil {
		t.Fatal(err)
	}
	lease := r.Lease()
	waitFor(t, func() bool { store.mu.Lock(); defer store.mu.Unlock(); return store.keepalive >= 1 })
	restarted := Handler(store, discard)
	store.expire() // the pilot was away longer than the TTL
	pilot.Store(&restarted)
	waitFor(t, func() bool { return r.Lease() != lease && r.Lease() != 0 })
	if list, _ := c.Instances(ctx, "echo"); len(list) != 1 {
		t.Fatalf("after registering again: %+v", list)
	}
	if err := r.SetWeight(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.Instances(ctx, "echo"); list[0].Weight != 0 {
		t.Fatalf("after SetWeight(0): %+v", list)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.Instances(ctx, "echo"); len(list) != 0 {
		t.Fatalf("after Close: %+v", list)
	}
	if _, err := c.Keep(ctx, registry.Instance{Service: "echo"}, 0, discard); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Keep of an invalid instance: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // generous: a busy machine under -race
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestALostLeaseIsGivenBack: a lease the store lost (it expired while etcd
// was out of reach) while its app kept renewing it is granted again under
// its own id, with its instances: at once by Reinstate (the pilot calls it
// when etcd is back), or on the app's next keepalive. A lease whose app
// stopped renewing it, or revoked it, is not.
func TestALostLeaseIsGivenBack(t *testing.T) {
	store := newMemStore()
	api := New(store, discard)
	now := time.Unix(1000, 0)
	api.h.now = func() time.Time { return now }
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c, err := registry.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	register := func(in registry.Instance) registry.LeaseID {
		t.Helper()
		lease, _, err := c.Register(ctx, in, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return lease
	}
	alive := register(echo)
	other := echo
	other.Address = "127.0.0.1:7103"
	gone := register(other)
	revoked := register(registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7104", Weight: 1})
	if err := c.Revoke(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	// 8s on, only alive's app renews (the store is away: it fails).
	now = now.Add(8 * time.Second)
	store.expire()
	if err := c.KeepAlive(ctx, alive); err != nil { // given back at once
		t.Fatalf("keepalive of a lost lease whose app renews it: %v", err)
	}
	if list, _ := c.Instances(ctx, "echo"); len(list) != 1 || list[0].Address != echo.Address {
		t.Fatalf("after the keepalive: %+v", list)
	}
	// Lost again; Reinstate gives it back with no keepalive, and not gone's
	// (its app has not asked for 13s, more than its TTL).
	now = now.Add(5 * time.Second)
	store.expire()
	n, err := api.Reinstate(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Reinstate = %d, %v; want 1 lease", n, err)
	}
	list, _ := c.Instances(ctx, "echo")
	if len(list) != 1 || list[0].Address != echo.Address {
		t.Fatalf("after Reinstate: %+v", list)
	}
	if err := c.KeepAlive(ctx, alive); err != nil {
		t.Fatalf("keepalive of the lease given back: %v", err)
	}
	// A live lease is left alone.
	if n, err := api.Reinstate(ctx); err != nil || n != 0 {
		t.Fatalf("Reinstate of live leases = %d, %v", n, err)
	}
	if err := c.KeepAlive(ctx, gone); !errors.Is(err, registry.ErrLeaseNotFound) {
		t.Fatalf("keepalive of a lease whose app stopped renewing it: %v", err)
	}
}
