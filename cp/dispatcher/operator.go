package dispatcher

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh/api/release"
	cprelease "github.com/octomesh/octomesh/cp/release"
	cprules "github.com/octomesh/octomesh/cp/rules"
	"github.com/octomesh/octomesh/stats/exposition"
)

// The operator API is the dispatcher's API listener: besides the publish
// API it serves the rule store (/v1/rules, `octomesh ctl apply|get|...`),
// whose writes publish their notices through this dispatcher, and the
// release service (/v1/releases, /v1/artifacts, /v1/agents, /v1/nodes,
// `octomesh ctl release|nodes`, the agents). One token guards every write.
func (d *Dispatcher) mountOperatorAPI() error {
	d.rules = cprules.New(d.Store, cprules.Options{Publisher: d.pub, Log: d.log})
	rh := cprules.NewHandler(d.rules, cprules.HandlerOptions{Token: d.token, Log: d.log})
	d.mux.Handle("/v1/rules", rh)
	d.mux.Handle("/v1/rules/", rh)
	rel, err := cprelease.NewHandler(cprelease.Config{
		DataDir:       filepath.Join(d.opts.DataDir, "releases"),
		OperatorToken: d.token,
		AgentToken:    d.opts.AgentToken,
		Log:           d.log,
	})
	if err != nil {
		return fmt.Errorf("dispatcher: release service: %w", err)
	}
	d.releases = rel
	for _, p := range []string{release.ReleasesPath, release.ArtifactsPath, release.AgentsPath} {
		d.mux.Handle(p, rel)
		d.mux.Handle(p+"/", rel)
	}
	d.mux.Handle(release.NodesPath, rel)
	d.mux.Handle("GET /metrics", dispatcherStats.Handler(d.mux, "/stats",
		exposition.Histogram{
			Name: "octomesh_dispatcher_forward_delay_seconds",
			Help: "For each notice forwarded, the time from the stream storing it to the dispatcher having forwarded it.",
			H:    &d.Stats.ForwardDelay,
		},
		exposition.Histogram{
			Name: "octomesh_rules_apply_read_seconds",
			Help: "For each rule write, reading and decoding the stored documents (of the attempt that committed).",
			H:    &d.rules.Stats.ReadDelay,
		},
		exposition.Histogram{
			Name: "octomesh_rules_apply_commit_seconds",
			Help: "For each rule write, building and committing its etcd transaction.",
			H:    &d.rules.Stats.CommitDelay,
		},
		exposition.Histogram{
			Name: "octomesh_rules_apply_publish_seconds",
			Help: "For each rule write, publishing its notices (until the stream acknowledged them).",
			H:    &d.rules.Stats.PublishDelay,
		}))
	return nil
}

// operatorStats adds the rule store's and the release service's counters
// to m.
func (d *Dispatcher) operatorStats(m map[string]uint64) {
	if d.rules != nil {
		var b bytes.Buffer
		d.rules.WriteStats(&b)
		for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if name, v, ok := strings.Cut(line, " "); ok {
				if n, err := strconv.ParseUint(v, 10, 64); err == nil {
					m[name] = n
				}
			}
		}
	}
	if d.releases != nil {
		s := d.releases.Stats()
		m["releases.unauthorized"] = s.Unauthorized
		m["releases.forbidden"] = s.Forbidden
		m["releases.bad_requests"] = s.BadRequests
		m["releases.digest_mismatch"] = s.DigestMismatch
		m["releases.polls"] = s.Polls
		m["releases.reports"] = s.Reports
	}
}

// dispatcherStats names the lines of the dispatcher's /stats as /metrics
// writes them (stats/exposition).
var dispatcherStats = exposition.Subsystem{
	Name: "dispatcher",
	Counters: map[string]string{
		"dispatcher.received":          "Notices taken from the stream.",
		"dispatcher.bad":               "Notices taken from the stream that did not decode or validate.",
		"dispatcher.forwarded":         "Notices forwarded to a pilot (one per pilot).",
		"dispatcher.forwarded_all":     "Notices forwarded to the pilots that are not shards.",
		"dispatcher.dropped":           "Notices no shard pilot cared about.",
		"dispatcher.dropped_test":      "Notices dropped on purpose by a test.",
		"dispatcher.forward_errors":    "Notices that could not be forwarded.",
		"dispatcher.backcheck_runs":    "Back-checks run.",
		"dispatcher.backcheck_repairs": "Notices sent by back-checks for revisions a pilot missed.",
		"dispatcher.backcheck_errors":  "Back-checks that failed (a pilot or etcd did not answer).",
		"dispatcher.publish_errors":    "Notices the publish API could not put on the stream.",
		"api.published":                "Notices published through POST /v1/notices.",
		"api.unauthorized":             "Writes to the publish API refused for their token.",
		"api.bad_requests":             "Publish API requests refused as invalid.",
		"rules.applies":                "Rule documents created or changed.",
		"rules.bad_values":             "Stored rule documents that did not decode.",
		"rules.deletes":                "Rule documents deleted.",
		"rules.publish_errors":         "Rule changes whose notice could not be published (the back-check repairs them).",
		"rules.published":              "Notices published for rule changes.",
		"rules.refused":                "Rule writes refused as invalid.",
		"rules.retries":                "Rule writes retried because another write got there first.",
		"rules.unauthorized":           "Rule writes refused for their token.",
		"releases.unauthorized":        "Release API writes refused for their token.",
		"releases.forbidden":           "Agent calls refused (off loopback without an agent token).",
		"releases.bad_requests":        "Release API requests refused as invalid.",
		"releases.digest_mismatch":     "Artifact uploads refused for their digest.",
		"releases.polls":               "Agents' polls for their target version.",
		"releases.reports":             "Agents' reports.",
	},
	// The delays' quantiles are on /stats only; /metrics has them as
	// histograms.
	Skip: []string{"dispatcher.forwarded.pilot.", "dispatcher.forward_delay.", "rules.apply_"},
}
