package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestStatsAndMetricsFollowStatus(t *testing.T) {
	s, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
		}
		return string(b)
	}
	if got, want := get("/stats"), "agent.consecutive_crashes 0\nagent.crash_loop 0\nagent.restarts 0\nagent.sidecar_serving 0\nagent.sidecar_start_time_seconds 0\n"; got != want {
		t.Errorf("/stats of a new agent:\n%s\nwant\n%s", got, want)
	}
	started := time.Unix(1_800_000_000, 0)
	s.update(func(st *Status) {
		st.Restarts, st.ConsecutiveCrashes, st.CrashLoop = 7, 5, true
		st.Sidecar = &SidecarStatus{PID: 42, StartedAt: started}
	})
	metrics := get("/metrics")
	for _, want := range []string{
		"# TYPE octomesh_agent_restarts_total counter\noctomesh_agent_restarts_total 7\n",
		"# TYPE octomesh_agent_consecutive_crashes gauge\noctomesh_agent_consecutive_crashes 5\n",
		"# TYPE octomesh_agent_crash_loop gauge\noctomesh_agent_crash_loop 1\n",
		"# TYPE octomesh_agent_sidecar_serving gauge\noctomesh_agent_sidecar_serving 1\n",
		"octomesh_agent_sidecar_start_time_seconds 1800000000\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %q:\n%s", want, metrics)
		}
	}
	if strings.Contains(metrics, "untyped") {
		t.Errorf("/metrics has an untyped family:\n%s", metrics)
	}
}
