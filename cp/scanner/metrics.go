package scanner

import (
	"net/http"

	"github.com/octomesh/octomesh/stats/exposition"
)

// scannerStats names the lines of a scanner's /stats as /metrics writes
// them (stats/exposition): "scanner.marked" is
// octomesh_scanner_marked_total.
var scannerStats = exposition.Subsystem{
	Name: "scanner",
	Gauges: map[string]string{
		"scanner.owned": "Sidecar addresses this scanner checks now.",
		"scanner.down":  "Of those, the addresses marked down now.",
	},
	Counters: map[string]string{
		"scanner.notices":          "Health notices published to the dispatcher for marks written or cleared.",
		"scanner.notice_errors":    "Health notices that could not be published (the back-check repairs them).",
		"scanner.checks":           "Checks made (periodic, fast path and confirmations).",
		"scanner.failures":         "Checks that failed.",
		"scanner.skipped":          "Periodic checks not started: the previous one still ran, or MaxChecks were in flight.",
		"scanner.fast_checks":      "Check-now requests from pilots.",
		"scanner.confirms":         "Second opinions asked of other scanners.",
		"scanner.confirmed":        "Second opinions that agreed (the address was marked down).",
		"scanner.refuted":          "Second opinions that disagreed (nothing was marked).",
		"scanner.unconfirmed":      "Second opinions nobody gave (nothing was marked).",
		"scanner.confirms_served":  "Second opinions given to other scanners.",
		"scanner.identity_refused": "Requests refused because of the caller's certificate (mutual TLS): a check-now not from a pilot, a confirm not from a scanner.",
		"scanner.marked":           "Addresses marked down.",
		"scanner.cleared":          "Addresses marked up again.",
		"scanner.orphans":          "Marks deleted because their instance left.",
		"scanner.mark_errors":      "Failed writes of marks (retried at the next check).",
	},
	Skip: []string{"scanner.check_time."},
}

// metrics serves /metrics from the /stats page of mux, and the check
// time as a histogram.
func (s *Scanner) metrics(mux http.Handler) http.Handler {
	return scannerStats.Handler(mux, "/stats", exposition.Histogram{
		Name: "octomesh_scanner_check_duration_seconds",
		Help: "The time each health check took.",
		H:    &s.Stats.CheckTime,
	})
}
