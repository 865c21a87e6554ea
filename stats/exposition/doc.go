// Package exposition serves a control-plane server's counters in the
// Prometheus text format (0.0.4): it reads the server's own /stats page
// ("name value" lines, the same counters people read) and writes each
// line as a metric family with a proper name and a TYPE line, so that
// /stats and /metrics can never disagree. A stats.Histogram is written
// whole, with power-of-two buckets, in place of the quantiles /stats
// prints from it.
//
// A Subsystem describes one server's page: which stats are gauges and
// which counters, with their help text. Names follow one rule: stat
// "pilot.pushes" of subsystem "pilot" is octomesh_pilot_pushes_total (a
// counter), "shard.owned" is octomesh_pilot_shard_owned (a gauge). A stat
// the Subsystem does not describe is still written, as "untyped", so that
// nothing is lost and a test can notice it.
//
// The sidecar writes its own /metrics (proxy/admin.Metrics), with labels;
// WriteProcess gives it and the servers the same process memory metrics.
//
// exposition must never import cp/..., proxy/..., api/..., agent or sdk:
// the control-plane servers and the agent import it, and of ours it
// imports stats alone (internal/archtest holds that).
package exposition
