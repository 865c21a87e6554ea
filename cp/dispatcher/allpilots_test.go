package dispatcher_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
)

// A pilot that is not a shard (it serves every app) hears every notice on
// rules.AllPilots; a rule written through its own registration API is
// published as a notice (it no longer watches rules), and a lost one is
// repaired by the back-check, which gathers the answers of every such
// pilot.
func TestPilotThatIsNotAShard(t *testing.T) {
	st := startEtcd(t)
	var drop atomic.Bool
	d := startDispatcher(t, dispatcher.Options{DataDir: t.TempDir(), EtcdEndpoints: []string{st.Endpoints()}, BackCheck: 2 * time.Second,
		DropNotice: func(n rules.Notice) bool { return drop.Load() }})
	defer d.Close()
	p := startPilot(t, st, d.Addrs().NATS, "")
	sc := startSidecar(t, "web", p.Addrs().XDS)
	waitFor(t, 10*time.Second, "the sidecar heard web has no rules", func() bool { _, _, n := sc.state(); return n == 1 })

	api := "http://" + strings.TrimPrefix(p.Addrs().HTTP, "tcp://")
	if code, body := httpDo(t, "PUT", api+"/v1/routes/web", "", `{"routes":[{"service":"echo","cluster":"echo-v1"}]}`); code != 204 {
		t.Fatalf("PUT routes: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "the sidecar gets echo-v1 through the pilot's own notice", func() bool { c, _, _ := sc.state(); return c == "echo-v1" })
	if p.Notices.Published.Load() != 1 || d.Stats.ForwardedAll.Load() == 0 {
		t.Errorf("pilot published %d, dispatcher forwarded %d to every pilot", p.Notices.Published.Load(), d.Stats.ForwardedAll.Load())
	}
	if got := d.Stats.Dropped.Load(); got != 1 {
		t.Errorf("dropped %d, want 1: no shard pilot owns web (the pilots that are not shards still hear it)", got)
	}

	drop.Store(true)
	repairs := d.Stats.BackCheckRepairs.Load()
	if code, body := httpDo(t, "PUT", api+"/v1/routes/web", "", `{"routes":[{"service":"echo","cluster":"echo-v2"}]}`); code != 204 {
		t.Fatalf("PUT routes: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "the notice was dropped", func() bool { return d.Stats.DroppedTest.Load() == 1 })
	waitFor(t, 20*time.Second, "the back-check repairs it", func() bool { c, _, _ := sc.state(); return c == "echo-v2" })
	if d.Stats.BackCheckRepairs.Load() <= repairs {
		t.Error("no repair counted")
	}
}
