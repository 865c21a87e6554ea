package server

import (
	"strings"

	"github.com/octomesh/octomesh/proxy/admin"
)

// writeGovernanceMetrics writes the counters of the governance policies:
// retries, circuit breakers, outlier detection, mirroring, and every
// filter's own counters.
func (s *Server) writeGovernanceMetrics(m *admin.Metrics) {
	st, up := &s.sidecar.Stats, &s.upstream
	counter := func(name, help string, v uint64, labels ...admin.Label) {
		m.Header(name, "counter", help)
		m.Uint(name, v, labels...)
	}
	counter("octomesh_retries_total", "Tries of calls after their first (route retry policies).", st.Retries.Load())
	const refused = "octomesh_retries_refused_total"
	m.Header(refused, "counter", "Retries not made because the cluster's retry budget was spent or its max_retries were in flight; the caller got the failure.")
	m.Uint(refused, up.RetryBudgetExhausted.Load(), admin.Label{Name: "reason", Value: "budget"})
	m.Uint(refused, up.RetryOverflow.Load(), admin.Label{Name: "reason", Value: "max_retries"})
	const open = "octomesh_circuit_breaker_open_total"
	m.Header(open, "counter", "Requests a cluster's circuit breaker refused, by the limit reached.")
	m.Uint(open, up.CircuitOpen.Load(), admin.Label{Name: "limit", Value: "max_requests"})
	m.Uint(open, up.PendingOverflow.Load(), admin.Label{Name: "limit", Value: "max_pending"})
	counter("octomesh_outlier_ejections_total", "Endpoints ejected by outlier detection.", up.Ejections.Load())
	counter("octomesh_outlier_ejections_refused_total", "Ejections not made because max_ejection_percent of the cluster was ejected already.", up.EjectionsRefused.Load())
	counter("octomesh_outlier_returns_total", "Ejected endpoints returned to balancing after a passing probe.", up.Returns.Load())
	counter("octomesh_outlier_degraded_total", "Endpoints down-weighted by outlier detection.", up.Degraded.Load())
	counter("octomesh_outlier_probes_total", "Probes of ejected endpoints.", up.Probes.Load())
	counter("octomesh_outlier_probe_failures_total", "Probes of ejected endpoints that failed.", up.ProbeFailures.Load())
	counter("octomesh_health_probes_answered_total", "Health probes from peer sidecars this sidecar answered.", st.HealthProbes.Load())
	counter("octomesh_mirrored_total", "Copies of calls sent to shadow clusters.", st.Mirrored.Load())
	counter("octomesh_mirror_dropped_total", "Copies of calls not sent because the shadow cluster had no connection ready.", st.MirrorDropped.Load())
	counter("octomesh_mirror_failed_total", "Copies of calls the shadow cluster could not complete (no room, breaker open, unreachable, timed out) or answered with a mesh error.", st.MirrorFailed.Load())

	const ejected = "octomesh_outlier_ejected"
	set := *s.clusters.Load()
	header := false
	for _, name := range set.sortedNames() {
		e := set[name]
		if e.cfg.OutlierDetection == nil {
			continue
		}
		if !header {
			m.Header(ejected, "gauge", "Endpoints ejected now, per cluster with outlier detection.")
			header = true
		}
		n := 0
		for _, ep := range e.c.Endpoints() {
			if ep.State == "ejected" {
				n++
			}
		}
		m.Float(ejected, float64(n), admin.Label{Name: "cluster", Value: name})
	}

	seen := map[string]bool{}
	each := func(name string, v uint64) {
		if seen[name] {
			return
		}
		seen[name] = true
		counter("octomesh_"+strings.ReplaceAll(name, ".", "_")+"_total", "Counted by the "+strings.SplitN(name, ".", 2)[0]+" filter (docs/governance.md).", v)
	}
	s.counters.Each(each)
	for _, name := range s.filters.CounterNames() {
		each(name, 0)
	}
}
