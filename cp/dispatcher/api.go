package dispatcher

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/octomesh/octomesh/api/rules"
)

// maxBody bounds a POST /v1/notices body.
const maxBody = 1 << 20

// Authorized reports whether r carries the operator token
// (Authorization: Bearer <token>).
func (d *Dispatcher) Authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(d.token)) == 1
}

// RequireToken wraps h so that its writes (any method but GET and HEAD)
// need the operator token: 401 otherwise, counted as api.unauthorized.
func (d *Dispatcher) RequireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !d.Authorized(r) {
			d.unauthorized(w)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (d *Dispatcher) unauthorized(w http.ResponseWriter) {
	d.Stats.Unauthorized.Add(1)
	w.Header().Set("WWW-Authenticate", `Bearer realm="octomesh"`)
	writeError(w, http.StatusUnauthorized, "missing or wrong operator token: send Authorization: Bearer <token> (the dispatcher's --token-file)")
}

// Handle mounts h on the API at pattern (http.ServeMux patterns), e.g. the
// rule store's handler at "/v1/rules/". It may be called while serving.
func (d *Dispatcher) Handle(pattern string, h http.Handler) { d.mux.Handle(pattern, h) }

// serveAPI opens the API listener and serves:
//
//	POST /v1/notices   a notice or an array of them (token required): 202 {"published": n}
//	GET  /stats        counters, "name value" lines
//	GET  /healthz      "ok", or 503 and why (NATS or etcd away)
//	GET  /debug/index  the index: pilots and their apps, apps' owners, services' apps
func (d *Dispatcher) serveAPI() error {
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("POST /v1/notices", d.postNotices)
	d.mux.HandleFunc("GET /stats", d.serveStats)
	d.mux.HandleFunc("GET /healthz", d.serveHealth)
	d.mux.HandleFunc("GET /debug/index", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(d.idx.Load().info())
	})
	if err := d.mountOperatorAPI(); err != nil {
		return err
	}
	for pattern, h := range d.opts.Handlers {
		d.mux.Handle(pattern, h)
	}
	ln, err := net.Listen("tcp", d.opts.APIAddress)
	if err != nil {
		return fmt.Errorf("dispatcher: api address: %w", err)
	}
	d.ln = ln
	d.addrs.API = "tcp://" + ln.Addr().String()
	// No read or write timeout: agents hold a poll open for up to 30s and
	// upload whole binaries (the release service bounds both itself).
	d.http = &http.Server{Handler: d.mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := d.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("dispatcher: api server stopped", "err", err)
		}
	}()
	return nil
}

// decodeNotices reads one notice or an array of them; an error names the
// notice (notices[i]) and its field.
func decodeNotices(body []byte) ([]rules.Notice, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("body: empty (want a notice {kind, key, revision} or an array of them)")
	}
	if body[0] != '[' {
		n, err := rules.DecodeNotice(body)
		if err != nil {
			return nil, err
		}
		return []rules.Notice{n}, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("body: %v", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("body: an empty array (want at least one notice)")
	}
	out := make([]rules.Notice, 0, len(raw))
	for i, r := range raw {
		n, err := rules.DecodeNotice(r)
		if err != nil {
			return nil, fmt.Errorf("notices[%d]: %v", i, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func (d *Dispatcher) postNotices(w http.ResponseWriter, r *http.Request) {
	if !d.Authorized(r) {
		d.unauthorized(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		d.Stats.BadRequests.Add(1)
		writeError(w, http.StatusBadRequest, fmt.Sprintf("body: %v (at most %d bytes)", err, maxBody))
		return
	}
	notices, err := decodeNotices(body)
	if err != nil {
		d.Stats.BadRequests.Add(1)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for i, n := range notices {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		err := d.pub.Publish(ctx, n)
		cancel()
		if err != nil {
			d.Stats.PublishErrors.Add(1)
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("notices[%d]: %v (the first %d were published)", i, err, i))
			return
		}
		d.Stats.Published.Add(1)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "{\"published\":%d}\n", len(notices))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error": msg})
}

func (d *Dispatcher) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !d.nc.IsConnected() {
		http.Error(w, fmt.Sprintf("NATS %s unreachable", d.addrs.NATS), http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := d.Store.Probe(ctx); err != nil {
		http.Error(w, fmt.Sprintf("etcd %s: %v", d.addrs.Etcd, err), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// StatsMap is the counters of /stats by name.
func (d *Dispatcher) StatsMap() map[string]uint64 {
	s := &d.Stats
	m := map[string]uint64{
		"dispatcher.received":          s.Received.Load(),
		"dispatcher.bad":               s.Bad.Load(),
		"dispatcher.forwarded":         s.Forwarded.Load(),
		"dispatcher.forwarded_all":     s.ForwardedAll.Load(),
		"dispatcher.dropped":           s.Dropped.Load(),
		"dispatcher.dropped_test":      s.DroppedTest.Load(),
		"dispatcher.forward_errors":    s.ForwardErrors.Load(),
		"dispatcher.backcheck_runs":    s.BackCheckRuns.Load(),
		"dispatcher.backcheck_repairs": s.BackCheckRepairs.Load(),
		"dispatcher.backcheck_errors":  s.BackCheckErrors.Load(),
		"dispatcher.publish_errors":    s.PublishErrors.Load(),
		"api.published":                s.Published.Load(),
		"api.unauthorized":             s.Unauthorized.Load(),
		"api.bad_requests":             s.BadRequests.Load(),
	}
	fd := s.ForwardDelay.Snapshot()
	m["dispatcher.forward_delay.count"] = fd.Count()
	m["dispatcher.forward_delay.p50_us"] = uint64(fd.Quantile(0.5).Microseconds())
	m["dispatcher.forward_delay.p99_us"] = uint64(fd.Quantile(0.99).Microseconds())
	m["dispatcher.forward_delay.max_us"] = uint64(fd.Quantile(1).Microseconds())
	s.mu.Lock()
	for id, n := range s.perPilot {
		m["dispatcher.forwarded.pilot."+id] = n
	}
	s.mu.Unlock()
	d.operatorStats(m)
	return m
}

func (d *Dispatcher) serveStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	m := d.StatsMap()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s %d\n", n, m[n])
	}
}
