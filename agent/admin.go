package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// Handler serves the agent's admin endpoint:
//
//	GET  /healthz   ok
//	GET  /status    Status as JSON
//	GET  /stats     restarts, crash loop, serving: "name value" lines (metrics.go)
//	GET  /metrics   the same in the Prometheus text format
//	POST /upgrade   a Target as JSON; answers the UpgradeResult (200), or
//	                400 with it when the target was refused
//
// POST is refused (403) to callers not on loopback and to cross-origin
// browser requests.
func (s *Supervisor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Status()) })
	mux.HandleFunc("GET /stats", s.serveStats)
	mux.Handle("GET /metrics", agentStats.Handler(mux, "/stats"))
	mux.Handle("POST /upgrade", localOnly(http.HandlerFunc(s.serveUpgrade)))
	return mux
}

func (s *Supervisor) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	var t Target
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&t); err != nil {
		writeJSON(w, http.StatusBadRequest, UpgradeResult{Outcome: Rejected, Reason: "agent: the request is not a JSON target: " + err.Error()})
		return
	}
	res, err := s.Upgrade(r.Context(), t)
	switch {
	case errors.Is(err, ErrBadTarget):
		writeJSON(w, http.StatusBadRequest, res)
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, UpgradeResult{Outcome: Rejected, Reason: err.Error()})
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// localOnly lets through loopback callers that are no cross-origin
// browser request.
func localOnly(h http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "agent: changes are accepted from loopback only", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	}))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// RequestUpgrade asks the agent at admin (host:port) to upgrade to t and
// returns its answer. An error means the agent refused the target or was
// not reached; a rollback is a result, with Outcome RolledBack.
func RequestUpgrade(ctx context.Context, admin string, t Target) (UpgradeResult, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return UpgradeResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+admin+"/upgrade", bytes.NewReader(body))
	if err != nil {
		return UpgradeResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return UpgradeResult{}, fmt.Errorf("agent at %s: %w", admin, err)
	}
	defer resp.Body.Close()
	var res UpgradeResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return res, fmt.Errorf("agent at %s answered %s", admin, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("agent at %s: %s", admin, res.Reason)
	}
	return res, nil
}

// GetStatus reads the status of the agent at admin (host:port).
func GetStatus(ctx context.Context, admin string) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("agent at %s: %w", admin, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("agent at %s: GET /status: %s", admin, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// Ready is what `octomesh agent --ready-fd N` writes to descriptor N once
// its sidecar serves: where the agent's admin endpoint is, and the sidecar.
type Ready struct {
	PID     int           `json:"pid"`
	Admin   string        `json:"admin"`
	Sidecar SidecarStatus `json:"sidecar"`
}
