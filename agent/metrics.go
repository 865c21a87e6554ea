package agent

import (
	"fmt"
	"io"
	"net/http"

	"github.com/octomesh/octomesh/stats/exposition"
)

// agentStats names the lines of the agent's /stats as /metrics writes
// them (stats/exposition): "agent.restarts" is
// octomesh_agent_restarts_total.
var agentStats = exposition.Subsystem{
	Name: "agent",
	Gauges: map[string]string{
		"agent.consecutive_crashes":        "Crashes in a row since the sidecar last ran stably.",
		"agent.crash_loop":                 "1 while the sidecar is in a crash loop (--crash-loop-after crashes in a row), else 0.",
		"agent.sidecar_serving":            "1 while a sidecar process serves, 0 while the agent waits out a backoff or has stopped.",
		"agent.sidecar_start_time_seconds": "When the serving sidecar started, in seconds since the Unix epoch; 0 when none serves.",
	},
	Counters: map[string]string{
		"agent.restarts": "Restarts of the sidecar after crashes, kept across agent restarts.",
	},
}

// writeStats writes the status' counters as "name value" lines, sorted.
func (s *Supervisor) writeStats(w io.Writer) {
	st := s.Status()
	var serving, started int64
	if st.Sidecar != nil {
		serving, started = 1, st.Sidecar.StartedAt.Unix()
	}
	loop := 0
	if st.CrashLoop {
		loop = 1
	}
	fmt.Fprintf(w, "agent.consecutive_crashes %d\nagent.crash_loop %d\nagent.restarts %d\nagent.sidecar_serving %d\nagent.sidecar_start_time_seconds %d\n",
		st.ConsecutiveCrashes, loop, st.Restarts, serving, started)
}

func (s *Supervisor) serveStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.writeStats(w)
}
