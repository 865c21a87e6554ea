package scanner

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/scanner"
)

// handler serves:
//
//	POST /v1/check         check an address now (a pilot's fast path): 202
//	POST /v1/confirm       a second opinion for another scanner
//	GET  /stats            counters, "name value" lines
//	GET  /metrics          the same in the Prometheus text format (metrics.go)
//	GET  /debug/instances  the addresses it owns, with their state
//	GET  /healthz
func (s *Scanner) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+scanner.CheckPath, func(w http.ResponseWriter, r *http.Request) {
		var req scanner.CheckRequest
		if !decode(w, r, &req) {
			return
		}
		s.Stats.FastChecks.Add(1)
		s.mu.Lock()
		t := s.inv.targets[req.Address]
		s.mu.Unlock()
		if t != nil {
			s.start(t, true)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST "+scanner.ConfirmPath, func(w http.ResponseWriter, r *http.Request) {
		var req scanner.ConfirmRequest
		if !decode(w, r, &req) {
			return
		}
		s.mu.Lock()
		known := s.inv.targets[req.Address] != nil
		s.mu.Unlock()
		if !known { // only registered sidecars are probed for others
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "scanner: not a registered address: " + req.Address})
			return
		}
		writeJSON(w, s.confirmFor(r.Context(), req))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		s.WriteStats(w)
	})
	mux.Handle("GET /metrics", s.metrics(mux))
	mux.HandleFunc("GET /debug/instances", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.Owned())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

// TargetInfo describes one address a scanner owns.
type TargetInfo struct {
	Address  string   `json:"address"`
	Zone     string   `json:"zone,omitempty"`
	Services []string `json:"services"`
	Down     bool     `json:"down"`
	Fails    int      `json:"fails"`
	Oks      int      `json:"oks"`
	LastErr  string   `json:"last_error,omitempty"`
}

// Owned lists the addresses this scanner checks, sorted.
func (s *Scanner) Owned() []TargetInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []TargetInfo
	for addr, t := range s.inv.targets {
		if s.inv.owns(addr, t.zone) {
			out = append(out, TargetInfo{Address: addr, Zone: t.zone, Services: t.serviceList(), Down: s.inv.down(addr), Fails: t.fails, Oks: t.oks, LastErr: t.lastErr})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// WriteStats writes the counters as "name value" lines, sorted.
func (s *Scanner) WriteStats(w io.Writer) {
	st := &s.Stats
	ct := st.CheckTime.Snapshot()
	m := map[string]uint64{
		"scanner.owned":             uint64(st.Owned.Load()),
		"scanner.down":              uint64(st.Down.Load()),
		"scanner.checks":            st.Checks.Load(),
		"scanner.failures":          st.Failures.Load(),
		"scanner.skipped":           st.Skipped.Load(),
		"scanner.fast_checks":       st.FastChecks.Load(),
		"scanner.confirms":          st.Confirms.Load(),
		"scanner.confirmed":         st.Confirmed.Load(),
		"scanner.refuted":           st.Refuted.Load(),
		"scanner.unconfirmed":       st.Unconfirmed.Load(),
		"scanner.confirms_served":   st.ConfirmsServed.Load(),
		"scanner.marked":            st.Marked.Load(),
		"scanner.cleared":           st.Cleared.Load(),
		"scanner.orphans":           st.Orphans.Load(),
		"scanner.mark_errors":       st.MarkErrors.Load(),
		"scanner.notices":           st.Notices.Load(),
		"scanner.notice_errors":     st.NoticeErrors.Load(),
		"scanner.identity_refused":  st.IdentityRefused.Load(),
		"scanner.check_time.p50_us": uint64(ct.Quantile(0.5).Microseconds()),
		"scanner.check_time.p99_us": uint64(ct.Quantile(0.99).Microseconds()),
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s %d\n", n, m[n])
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	var addr string
	switch x := v.(type) {
	case *scanner.CheckRequest:
		addr = x.Address
	case *scanner.ConfirmRequest:
		addr = x.Address
	}
	if err == nil {
		_, _, err = registry.SplitAddress(addr)
	}
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "scanner: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
