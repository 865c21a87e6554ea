package pilot

import (
	"net/http"

	"github.com/octomesh/octomesh/cp/registration"
	"github.com/octomesh/octomesh/stats/exposition"
)

// pilotStats names the lines of the pilot's /stats as /metrics writes
// them (stats/exposition): "pilot.pushes" is octomesh_pilot_pushes_total.
var pilotStats = exposition.Subsystem{
	Name: "pilot",
	Gauges: map[string]string{
		"pilot.sessions":         "xDS streams open now.",
		"pilot.watches":          "Data Cache entries, each one registry watch.",
		"pilot.watches.services": "Data Cache entries of services.",
		"pilot.watches.routes":   "Data Cache entries of apps' route rules.",
		"shard.owned":            "Apps this pilot owns now (sharded pilots).",
		"shard.preloaded":        "Services held for owned apps before any sidecar asked.",
		"diplomat.watches":       "etcd watches open now.",
		"notices.connected":      "1 while connected to the dispatcher's NATS (NATS mode), else 0.",
	},
	Counters: map[string]string{
		"pilot.identity_refused":    "xDS streams refused because the app they name is not the one their certificate names.",
		registration.RefusedStat:    registration.RefusedHelp,
		"notices.received":          "Dispatcher notices received (NATS mode).",
		"notices.fetched":           "Rule values read again from etcd because a notice named them.",
		"notices.stale":             "Notices ignored: older than the value held.",
		"notices.unheld":            "Notices ignored: for a key this pilot does not hold.",
		"notices.fetch_errors":      "Reads after a notice that failed.",
		"notices.revision_requests": "Back-check revision requests answered.",
		"notices.backchecks_asked":  "Back-checks this pilot asked for after (re)connecting to NATS.",
		"notices.published":         "Notices published for rule writes through this pilot's registration API.",
		"notices.publish_errors":    "Notices this pilot could not publish (the back-check repairs them).",
		"pilot.changes":             "Resource changes (kind, name) pushed to sessions.",
		"pilot.versions":            "New resource versions encoded.",
		"pilot.pushes":              "xDS responses sent.",
		"pilot.resources_sent":      "Resources in xDS responses (updated and removed).",
		"pilot.acks":                "Responses the clients ACKed.",
		"pilot.nacks":               "Responses the clients NACKed (refused).",
		"fastpath.asked":            "Check-now requests sent to scanners for sidecars whose stream dropped.",
		"fastpath.failed":           "Check-now requests that failed.",
		"fastpath.skipped":          "Dropped sidecars not asked about (no scanner in their zone, or too many requests in flight).",
		"shard.redirects":           "Streams refused or ended because another pilot serves their app.",
		"shard.moved":               "Sessions ended because their app moved to another pilot.",
		"shard.app_writes":          "Updates of app records (services learned).",
		"shard.gained":              "Apps assigned to this pilot.",
		"shard.lost":                "Apps taken from this pilot.",
		"diplomat.events":           "Changes received from etcd watches.",
		"diplomat.bad_values":       "Stored values that did not decode and were skipped.",
		"diplomat.resyncs":          "etcd watches restarted after an error or a compaction.",
	},
	Skip: []string{"pilot.push_delay.", "pilot.ack_delay.", "pilot.push_acked.", "pilot.last_change_unix_us", "pilot.last_push_ack_unix_us", "pilot.last_push.", "notices.delivery_delay.", "notices.fetch_delay."},
}

// metrics serves /metrics from the /stats page of mux, and the push delay
// (and, in NATS mode, the notices' delays) as histograms.
func (p *Pilot) metrics(mux http.Handler) http.Handler {
	hists := []exposition.Histogram{{
		Name: "octomesh_pilot_push_delay_seconds",
		Help: "For each new version of a resource a session held, the time from the change reaching the Data Cache to the response being handed to the session's stream: the pilot's share of the push latency.",
		H:    &p.XDS.Stats.PushDelay,
	}, {
		Name: "octomesh_pilot_ack_delay_seconds",
		Help: "For those pushes, the time from the response being handed to the session's stream to its ACK.",
		H:    &p.XDS.Stats.AckDelay,
	}, {
		Name: "octomesh_pilot_push_acked_seconds",
		Help: "For those pushes, the time from the change reaching the Data Cache to the session's ACK.",
		H:    &p.XDS.Stats.PushAcked,
	}}
	if p.notices != nil {
		hists = append(hists, exposition.Histogram{
			Name: "octomesh_notices_delivery_delay_seconds",
			Help: "For each dispatcher notice received, the time from the stream storing it to this pilot receiving it.",
			H:    &p.Notices.DeliveryDelay,
		}, exposition.Histogram{
			Name: "octomesh_notices_fetch_delay_seconds",
			Help: "For each registry read a notice queued, the time from the notice to the value handed to the Data Cache.",
			H:    &p.Notices.FetchDelay,
		})
	}
	return pilotStats.Handler(mux, "/stats", hists...)
}
