package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/octomesh/octomesh/config"
)

// The registration API, served by the pilot over HTTP with JSON bodies:
//
//	POST   /v1/instances          RegisterRequest -> RegisterResponse
//	PUT    /v1/leases/{lease}     keep the lease alive -> RegisterResponse
//	DELETE /v1/leases/{lease}     revoke it: the instance leaves at once
//	GET    /v1/services/{service} -> []Instance
//	GET    /v1/routes/{app}       -> AppRoutes
//	PUT    /v1/routes/{app}       AppRoutes (validated)
//	DELETE /v1/routes/{app}
//	GET    /v1/policies/{service} -> ServicePolicy ({} when none)
//	PUT    /v1/policies/{service} ServicePolicy (validated)
//	DELETE /v1/policies/{service}
//
// Errors are {"error": "..."} with 400 (invalid), 404 (lease not found) or
// 503 (store unavailable).

// RegisterRequest registers an instance, or with Lease set, replaces the
// instance stored under that lease (to change its weight, say).
type RegisterRequest struct {
	Instance Instance `json:"instance"`
	// TTL is a Go duration; "" means DefaultTTL. Ignored with Lease.
	TTL   string  `json:"ttl,omitempty"`
	Lease LeaseID `json:"lease,omitempty"`
}

// RegisterResponse names the lease to keep alive.
type RegisterResponse struct {
	Lease LeaseID `json:"lease"`
	TTL   string  `json:"ttl"`
}

type errorBody struct {
	Error string `json:"error"`
}

const maxBody = 64 << 10

// Handler serves the registration API over store.
func Handler(store Store, log *slog.Logger) http.Handler {
	h := &handler{store: store, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/instances", h.register)
	mux.HandleFunc("PUT /v1/leases/{lease}", h.keepAlive)
	mux.HandleFunc("DELETE /v1/leases/{lease}", h.revoke)
	mux.HandleFunc("GET /v1/services/{service}", h.instances)
	mux.HandleFunc("GET /v1/routes/{app}", h.getRoutes)
	mux.HandleFunc("PUT /v1/routes/{app}", h.putRoutes)
	mux.HandleFunc("DELETE /v1/routes/{app}", h.deleteRoutes)
	mux.HandleFunc("GET /v1/policies/{service}", h.getPolicy)
	mux.HandleFunc("PUT /v1/policies/{service}", h.putPolicy)
	mux.HandleFunc("DELETE /v1/policies/{service}", h.deletePolicy)
	return mux
}

type handler struct {
	store Store
	log   *slog.Logger
}

const storeTimeout = 5 * time.Second

func (h *handler) register(w http.ResponseWriter, r *http.Request) {
	var req RegisterRequest
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
	if req.Lease != 0 {
		if err := h.store.Update(ctx, req.Lease, req.Instance); err != nil {
			writeError(w, err)
			return
		}
		ttl, err := h.store.KeepAlive(ctx, req.Lease)
		if err != nil {
			writeError(w, err)
			return
		}
		h.log.Info("instance updated", "service", req.Instance.Service, "address", req.Instance.Address, "weight", req.Instance.Weight, "lease", req.Lease)
		writeJSON(w, RegisterResponse{Lease: req.Lease, TTL: ttl.String()})
		return
	}
	ttl := DefaultTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < MinTTL || d > MaxTTL {
			writeError(w, invalidf("ttl %q: want a duration from %s to %s", req.TTL, MinTTL, MaxTTL))
			return
		}
		ttl = d
	}
	lease, err := h.store.Register(ctx, req.Instance, ttl)
	if err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("instance registered", "service", req.Instance.Service, "app", req.Instance.App, "address", req.Instance.Address, "lease", lease, "ttl", ttl)
	writeJSON(w, RegisterResponse{Lease: lease, TTL: ttl.String()})
}

func (h *handler) keepAlive(w http.ResponseWriter, r *http.Request) {
	lease, err := ParseLeaseID(r.PathValue("lease"))
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	ttl, err := h.store.KeepAlive(ctx, lease)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, RegisterResponse{Lease: lease, TTL: ttl.String()})
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	lease, err := ParseLeaseID(r.PathValue("lease"))
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.store.Revoke(ctx, lease); err != nil {
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
		list = []Instance{}
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
	routes := AppRoutes{Routes: []RouteRule{}}
	if b != nil {
		if routes, err = DecodeRoutes(b); err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, routes)
}

func (h *handler) putRoutes(w http.ResponseWriter, r *http.Request) {
	app, ok := pathName(w, r, "app")
	if !ok {
		return
	}
	var routes AppRoutes
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
	app, ok := pathName(w, r, "app")
	if !ok {
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
	var p ServicePolicy
	if b != nil {
		if p, err = DecodePolicy(service, b); err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, p)
}

func (h *handler) putPolicy(w http.ResponseWriter, r *http.Request) {
	service, ok := pathName(w, r, "service")
	if !ok {
		return
	}
	var p ServicePolicy
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
	if err := h.store.PutPolicy(ctx, service, b); err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("policy set", "service", service, "circuit_breaker", p.CircuitBreaker != nil, "retry_budget", p.RetryBudget != nil,
		"outlier_detection", p.OutlierDetection != nil, "rules", len(p.Routes))
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deletePolicy(w http.ResponseWriter, r *http.Request) {
	service, ok := pathName(w, r, "service")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if err := h.store.DeletePolicy(ctx, service); err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("policy deleted", "service", service)
	w.WriteHeader(http.StatusNoContent)
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
	case errors.Is(err, ErrInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, ErrLeaseNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
}

// statusError turns an API error response into an error of the right kind.
func statusError(code int, body []byte) error {
	var e errorBody
	msg := string(body)
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch code {
	case http.StatusBadRequest:
		return fmt.Errorf("%w (from the pilot: %s)", ErrInvalid, msg)
	case http.StatusNotFound:
		return fmt.Errorf("%w (from the pilot: %s)", ErrLeaseNotFound, msg)
	case http.StatusServiceUnavailable:
		return fmt.Errorf("%w (from the pilot: %s)", ErrUnavailable, msg)
	}
	return fmt.Errorf("registry: pilot answered %d: %s", code, msg)
}
