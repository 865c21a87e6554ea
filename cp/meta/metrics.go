package meta

import (
	"github.com/octomesh/octomesh/cp/registration"
	"github.com/octomesh/octomesh/stats/exposition"
)

// metaStats names the lines of Meta's /stats as /metrics writes them
// (stats/exposition): "meta.moves" is octomesh_meta_moves_total.
var metaStats = exposition.Subsystem{
	Name: "meta",
	Gauges: map[string]string{
		"meta.apps":   "Apps in the assignment.",
		"meta.pilots": "Pilots in the assignment (draining ones excluded, leaving ones during their grace).",
	},
	Counters: map[string]string{
		"meta.apps_created":      "Apps added because a sidecar asked for an unknown one.",
		"meta.assignments":       "Assignments computed.",
		"meta.evictions":         "Pilots evicted before their lease ran out because every probe of their xDS address was refused.",
		"meta.lookups":           "Owner look-ups answered (GET /v1/owner).",
		"meta.moves":             "Apps that changed pilot between consecutive assignments.",
		"meta.no_pilot":          "Look-ups answered 503 because no pilot was up.",
		"meta.probe_rounds":      "Probe rounds of a pilot that a sidecar reported (avoid=) while it still owned the app.",
		"meta.probes_alive":      "Probe rounds that found the pilot answering (or not refusing): no eviction.",
		"meta.waits":             "Waits of look-ups (avoid=, wait=) for another owner.",
		registration.RefusedStat: registration.RefusedHelp,
	},
}
