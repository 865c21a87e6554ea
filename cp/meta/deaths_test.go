package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/cp/shardmap"
)

// A pilot whose xDS address refuses connections is evicted as soon as a
// sidecar reports it (avoid=), long before its lease could run out: here
// the lease (10s) is renewed all along (the holder is alive but its listener is
// gone), so only the eviction can move the app. The holder then writes its
// key again and the app moves back (a false death heals itself). A pilot
// that accepts connections is never evicted.
func TestRefusingPilotIsEvicted(t *testing.T) {
	m, err := Start(Options{HTTPAddress: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := "tcp://" + gone.Addr().String()
	gone.Close() // nothing listens there: connections are refused
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close() // listens, never accepts: a slow pilot
	hold := func(id, xds string) {
		b, _ := json.Marshal(api.PilotInfo{ID: id, XDS: xds, Started: time.Now().UTC()})
		mb, err := m.store.Hold(ctx, shardmap.PilotKey(id), b, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = mb.Release(context.Background()) })
	}
	hold("p1", goneAddr)
	hold("p2", "tcp://"+live.Addr().String())
	waitFor(t, "both pilots in Meta's view", func() bool { return len(m.View.Current().Pilots) == 2 })

	owner := func(q string) api.PilotInfo {
		t.Helper()
		resp, err := http.Get("http://" + m.ln.Addr().String() + "/v1/owner?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out api.OwnerResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", q, resp.StatusCode, err)
		}
		return out.Pilot
	}
	appOf := map[string]string{} // pilot -> an app it owns
	for i := 0; len(appOf) < 2 && i < 100; i++ {
		app := fmt.Sprintf("app-%d", i)
		appOf[owner("app="+app).ID] = app
	}
	if len(appOf) < 2 {
		t.Fatalf("no app on each pilot: %v", appOf)
	}

	// A sidecar lost p1: Meta probes p1, finds it refusing, evicts it, and
	// answers with the successor.
	if got := owner("app=" + appOf["p1"] + "&avoid=p1&wait=50s"); got.ID != "p2" {
		t.Fatalf("after p1 refused: %+v, want p2", got)
	}
	// (Counted once the revoke returns, which may be after the watch
	// moved the app.)
	waitFor(t, "the eviction counted", func() bool { return m.Deaths.Evictions.Load() == 1 })
	// p1's holder is alive: its renewals fail, it writes its key again, and
	// its apps come back to it.
	waitFor(t, "p1 back in the view", func() bool {
		p, ok := m.View.Current().Pilots["p1"]
		return ok && !p.Draining && m.View.Current().Owner[appOf["p1"]] == "p1"
	})

	// p2 accepts connections (never served): reported, probed, kept.
	if got := owner("app=" + appOf["p2"] + "&avoid=p2&wait=1s"); got.ID != "p2" {
		t.Fatalf("a pilot that accepts connections: %+v, want p2 kept", got)
	}
	if n := m.Deaths.Evictions.Load(); n != 1 {
		t.Fatalf("evictions %d after probing a live pilot, want 1", n)
	}
	if m.Deaths.Alive.Load() == 0 {
		t.Fatal("the live pilot was never probed")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
