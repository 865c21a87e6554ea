package registration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

const maxBody = 64 << 10

// Handler serves the registration API (its paths, bodies and errors are
// api/registry's) over store.
func Handler(store Store, log *slog.Logger) http.Handler { return New(store, log) }

// API serves the registration API over a store, and remembers what each
// live lease holds (the instances registered under it, its TTL, when its
// app last asked to renew it), so that a lease lost while the store was
// out of reach can be given back (Reinstate) without waiting for the app
// to register again.
type API struct {
	http.Handler
	// Stats counts the refusals of an authenticated API (RequireIdentity).
	Stats Stats
	h     *handler
}

// New returns the registration API over store.
func New(store Store, log *slog.Logger) *API {
	a := &API{}
	h := &handler{store: store, log: log, leases: map[registry.LeaseID]*leaseRecord{}, now: time.Now, stats: &a.Stats}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/instances", h.register)
	mux.HandleFunc("PUT /v1/leases/{lease}", h.keepAlive)
	mux.HandleFunc("DELETE /v1/leases/{lease}", h.revoke)
	mux.HandleFunc("GET /v1/services/{service}", h.reader(h.instances))
	mux.HandleFunc("GET /v1/routes/{app}", h.reader(h.getRoutes))
	mux.HandleFunc("PUT /v1/routes/{app}", h.putRoutes)
	mux.HandleFunc("DELETE /v1/routes/{app}", h.deleteRoutes)
	mux.HandleFunc("GET /v1/policies/{service}", h.reader(h.getPolicy))
	mux.HandleFunc("PUT /v1/policies/{service}", h.putPolicy)
	mux.HandleFunc("DELETE /v1/policies/{service}", h.deletePolicy)
	a.Handler, a.h = mux, h
	return a
}

// Reinstate gives back every lease the store lost whose app is still
// renewing it (asked within the lease's TTL, successfully or not): the
// lease under its own id, the instances under it. The pilot calls it when
// its etcd is reachable again. It returns how many leases it granted
// again; an error ends it early (the store went away again).
func (a *API) Reinstate(ctx context.Context) (int, error) {
	n := 0
	for _, r := range a.h.live() {
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		granted, err := a.h.store.Reinstate(sctx, r.lease, r.instances, r.ttl)
		cancel()
		if errors.Is(err, registry.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return n, err // the store is away again: all of it later
		}
		if err != nil { // this lease only: the others go on
			a.h.log.Warn("cannot give back a lease the store lost; its app registers again", "lease", r.lease, "err", err)
			continue
		}
		if granted {
			n++
			a.h.log.Info("lease lost while the store was out of reach: granted again", "lease", r.lease, "instances", len(r.instances), "ttl", r.ttl)
		}
	}
	return n, nil
}

type handler struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
	// trustDomain, when set (RequireIdentity), makes every request show a
	// client certificate and limits what its app may do (identity.go).
	trustDomain string
	stats       *Stats

	mu     sync.Mutex
	leases map[registry.LeaseID]*leaseRecord
	swept  time.Time // when forgetStaleLocked last looked at every lease
}

// leaseRecord is what a lease holds, as registered through this API.
type leaseRecord struct {
	lease     registry.LeaseID
	app       string // the app that registered it
	ttl       time.Duration
	instances []registry.Instance // one per (service, address)
	asked     time.Time           // the app's last register or keepalive
}

// remember records in under lease (ttl 0: keep the one known), and that its
// app asked now.
func (h *handler) remember(lease registry.LeaseID, ttl time.Duration, in registry.Instance) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forgetStaleLocked()
	r := h.leases[lease]
	if r == nil {
		if ttl == 0 {
			return // a lease registered elsewhere: its TTL is unknown
		}
		r = &leaseRecord{lease: lease, app: in.App}
		h.leases[lease] = r
	}
	if ttl != 0 {
		r.ttl = ttl
	}
	r.asked = h.now()
	for i, old := range r.instances {
		if old.Service == in.Service && old.Address == in.Address {
			r.instances[i] = in
			return
		}
	}
	r.instances = append(r.instances, in)
}

// asked notes that lease's app asked to renew it.
func (h *handler) asked(lease registry.LeaseID) *leaseRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.leases[lease]
	if r == nil {
		return nil
	}
	r.asked = h.now()
	c := *r
	c.instances = append([]registry.Instance(nil), r.instances...)
	return &c
}

func (h *handler) forget(lease registry.LeaseID) {
	h.mu.Lock()
	delete(h.leases, lease)
	h.mu.Unlock()
}

// forgetStaleLocked drops leases whose app has not asked for a TTL: the
// app is gone, and the lease expires (or has) as it should. It looks at
// most once a second (registrations call it, and there may be many).
func (h *handler) forgetStaleLocked() {
	now := h.now()
	if now.Sub(h.swept) < time.Second {
		return
	}
	h.swept = now
	for id, r := range h.leases {
		if now.Sub(r.asked) > r.ttl {
			delete(h.leases, id)
		}
	}
}

// live returns copies of the leases whose app still asks.
func (h *handler) live() []leaseRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forgetStaleLocked()
	now := h.now()
	out := make([]leaseRecord, 0, len(h.leases))
	for _, r := range h.leases {
		if now.Sub(r.asked) > r.ttl {
			continue // stale, not swept yet
		}
		c := *r
		c.instances = append([]registry.Instance(nil), r.instances...)
		out = append(out, c)
	}
	return out
}

const storeTimeout = 5 * time.Second

func (h *handler) register(w http.ResponseWriter, r *http.Request) {
	app, ok := h.caller(w, r)
	if !ok {
		return
	}
	var req registry.RegisterRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := req.Instance.Validate(); err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.mayRegister(ctx, app, req.Instance); err != nil {
		h.answer(w, err)
		return
	}
	if req.Lease != 0 {
		if err := h.mayUseLease(ctx, app, req.Lease); err != nil {
			h.answer(w, err)
			return
		}
		if err := h.store.Update(ctx, req.Lease, req.Instance); err != nil {
			writeError(w, err)
			return
		}
		ttl, err := h.store.KeepAlive(ctx, req.Lease)
		if err != nil {
			writeError(w, err)
			return
		}
		h.remember(req.Lease, ttl, req.Instance)
		h.log.Info("instance updated", "service", req.Instance.Service, "address", req.Instance.Address, "weight", req.Instance.Weight, "lease", req.Lease)
		writeJSON(w, registry.RegisterResponse{Lease: req.Lease, TTL: ttl.String()})
		return
	}
	ttl := registry.DefaultTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < registry.MinTTL || d > registry.MaxTTL {
			writeError(w, invalidf("ttl %q: want a duration from %s to %s", req.TTL, registry.MinTTL, registry.MaxTTL))
			return
		}
		ttl = d
	}
	lease, err := h.store.Register(ctx, req.Instance, ttl)
	if err != nil {
		writeError(w, err)
		return
	}
	h.remember(lease, ttl, req.Instance)
	h.log.Info("instance registered", "service", req.Instance.Service, "app", req.Instance.App, "address", req.Instance.Address, "lease", lease, "ttl", ttl)
	writeJSON(w, registry.RegisterResponse{Lease: lease, TTL: ttl.String()})
}

func (h *handler) keepAlive(w http.ResponseWriter, r *http.Request) {
	app, ok := h.caller(w, r)
	if !ok {
		return
	}
	lease, err := registry.ParseLeaseID(r.PathValue("lease"))
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.mayUseLease(ctx, app, lease); err != nil {
		h.answer(w, err)
		return
	}
	rec := h.asked(lease) // the app is alive, whether or not the store is
	ttl, err := h.store.KeepAlive(ctx, lease)
	if errors.Is(err, registry.ErrLeaseNotFound) && rec != nil {
		// Lost while the store was out of reach, and the app renewed it
		// all along: give it back rather than make the app register again.
		if _, err = h.store.Reinstate(ctx, lease, rec.instances, rec.ttl); err == nil {
			h.log.Info("lease lost while the store was out of reach: granted again on its keepalive", "lease", lease, "instances", len(rec.instances))
			ttl, err = h.store.KeepAlive(ctx, lease)
		}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, registry.RegisterResponse{Lease: lease, TTL: ttl.String()})
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	app, ok := h.caller(w, r)
	if !ok {
		return
	}
	lease, err := registry.ParseLeaseID(r.PathValue("lease"))
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.mayUseLease(ctx, app, lease); err != nil {
		h.answer(w, err)
		return
	}
	err = h.store.Revoke(ctx, lease)
	if err == nil || errors.Is(err, registry.ErrLeaseNotFound) {
		h.forget(lease) // never to be given back
	}
	if err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("lease revoked", "lease", lease)
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) instances(w http.ResponseWriter, r *http.Request) {
	service, ok := pathName(w, r, "service")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	list, err := h.store.Instances(ctx, service)
	if err != nil {
		writeError(w, err)
		return
	}
	if list == nil {
		list = []registry.Instance{}
	}
	writeJSON(w, list)
}

func (h *handler) getRoutes(w http.ResponseWriter, r *http.Request) {
	app, ok := pathName(w, r, "app")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	b, err := h.store.Routes(ctx, app)
	if err != nil {
		writeError(w, err)
		return
	}
	routes := registry.AppRoutes{Routes: []registry.RouteRule{}}
	if b != nil {
		if routes, err = registry.DecodeRoutes(b); err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, routes)
}

func (h *handler) putRoutes(w http.ResponseWriter, r *http.Request) {
	caller, ok := h.caller(w, r)
	if !ok {
		return
	}
	app, ok := pathName(w, r, "app")
	if !ok {
		return
	}
	if err := h.mayWriteRoutes(caller, app); err != nil {
		h.answer(w, err)
		return
	}
	var routes registry.AppRoutes
	if err := readJSON(r, &routes); err != nil {
		writeError(w, err)
		return
	}
	for i := range routes.Routes {
		routes.Routes[i].Normalize()
	}
	if err := routes.Validate(); err != nil {
		writeError(w, err)
		return
	}
	b, err := json.Marshal(routes)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.store.PutRoutes(ctx, app, b); err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("routes set", "app", app, "rules", len(routes.Routes))
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteRoutes(w http.ResponseWriter, r *http.Request) {
	caller, ok := h.caller(w, r)
	if !ok {
		return
	}
	app, ok := pathName(w, r, "app")
	if !ok {
		return
	}
	if err := h.mayWriteRoutes(caller, app); err != nil {
		h.answer(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.store.DeleteRoutes(ctx, app); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) getPolicy(w http.ResponseWriter, r *http.Request) {
	service, ok := pathName(w, r, "service")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	b, err := h.store.Policy(ctx, service)
	if err != nil {
		writeError(w, err)
		return
	}
	var p registry.ServicePolicy
	if b != nil {
		if p, err = registry.DecodePolicy(service, b); err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, p)
}

func (h *handler) putPolicy(w http.ResponseWriter, r *http.Request) {
	caller, ok := h.caller(w, r)
	if !ok {
		return
	}
	service, ok := pathName(w, r, "service")
	if !ok {
		return
	}
	var p registry.ServicePolicy
	if err := readJSON(r, &p); err != nil {
		writeError(w, err)
		return
	}
	p.Normalize(service)
	if err := p.Validate(service); err != nil {
		writeError(w, err)
		return
	}
	b, err := json.Marshal(p)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.mayWritePolicy(ctx, caller, service); err != nil {
		h.answer(w, err)
		return
	}
	if err := h.store.PutPolicy(ctx, service, b); err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("policy set", "service", service, "circuit_breaker", p.CircuitBreaker != nil, "retry_budget", p.RetryBudget != nil,
		"outlier_detection", p.OutlierDetection != nil, "rules", len(p.Routes), "authorization", len(p.Authorization))
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deletePolicy(w http.ResponseWriter, r *http.Request) {
	caller, ok := h.caller(w, r)
	if !ok {
		return
	}
	service, ok := pathName(w, r, "service")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.mayWritePolicy(ctx, caller, service); err != nil {
		h.answer(w, err)
		return
	}
	if err := h.store.DeletePolicy(ctx, service); err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("policy deleted", "service", service)
	w.WriteHeader(http.StatusNoContent)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", registry.ErrInvalid, fmt.Sprintf(format, args...))
}

// pathName reads the name in the path's {key} and checks it; if it is
// bad, it answers 400 and returns false.
func pathName(w http.ResponseWriter, r *http.Request, key string) (string, bool) {
	name := r.PathValue(key)
	if err := config.CheckName(name); err != nil {
		writeError(w, invalidf("%s: %v", key, err))
		return "", false
	}
	return name, true
}

// readJSON decodes the request body, one JSON value, strictly: unknown
// fields and anything after the value are errors.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidf("request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidf("request body: more than one JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, registry.ErrInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, registry.ErrForbidden):
		code = http.StatusForbidden
	case errors.Is(err, registry.ErrLeaseNotFound):
		code = http.StatusNotFound
	case errors.Is(err, registry.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(registry.ErrorBody{Error: err.Error()})
}
