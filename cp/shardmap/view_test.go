package shardmap

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/cp/shardmap/shardmaptest"
)

// A pilot whose key vanishes keeps its apps for RemovalGrace, and keeps
// them if the key comes back within it; a draining pilot loses them at
// once.
func TestRemovalGraceAndDrain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := shardmaptest.New()
	both := map[string][]byte{PilotKey("p1"): shardmaptest.PilotRecord("p1", "127.0.0.1:1"), PilotKey("p2"): shardmaptest.PilotRecord("p2", "127.0.0.1:2")}
	st.Set(PilotPrefix, both)
	st.Set(AppPrefix, map[string][]byte{AppKey("a"): nil, AppKey("b"): nil, AppKey("c"): nil, AppKey("d"): nil})
	v := NewView(ctx, st, slog.New(slog.DiscardHandler))
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if len(v.Current().Owned("p1")) == 0 || len(v.Current().Owned("p2")) == 0 {
		t.Fatalf("assignment %v", v.Current().Owner)
	}
	only := map[string][]byte{PilotKey("p1"): shardmaptest.PilotRecord("p1", "127.0.0.1:1")}
	// A missed renewal: gone and back within the grace.
	st.Set(PilotPrefix, only)
	if _, ok := v.Current().Pilots["p2"]; !ok {
		t.Fatal("p2 stopped counting at once")
	}
	st.Set(PilotPrefix, both)
	time.Sleep(RemovalGrace + 200*time.Millisecond)
	if _, ok := v.Current().Pilots["p2"]; !ok {
		t.Fatal("p2 came back within the grace but was dropped")
	}
	// Gone for good: dropped after the grace.
	start := time.Now()
	st.Set(PilotPrefix, only)
	for {
		if _, ok := v.Current().Pilots["p2"]; !ok {
			break
		}
		if time.Since(start) > RemovalGrace+30*time.Second { // never, however busy the machine
			t.Fatal("p2 still counted long after the grace")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d < RemovalGrace-100*time.Millisecond {
		t.Fatalf("dropped after %v, before the grace", d)
	}
	// A drain: the record says so, and the apps move at once.
	st.Set(PilotPrefix, both)
	drain, _ := json.Marshal(meta.PilotInfo{ID: "p2", XDS: "127.0.0.1:2", Draining: true})
	st.Set(PilotPrefix, map[string][]byte{PilotKey("p1"): shardmaptest.PilotRecord("p1", "127.0.0.1:1"), PilotKey("p2"): drain})
	if _, ok := v.Current().Pilots["p2"]; ok || len(v.Current().Owned("p1")) != 4 {
		t.Fatalf("a draining pilot still counts: %v", v.Current().Owner)
	}
}

// TestBadAppRecordsAreSkipped: an app record whose name Meta and the
// pilots would refuse (meta.CheckApp), written by an older pilot or by
// hand, is skipped and counted, never assigned.
func TestBadAppRecordsAreSkipped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := shardmaptest.New()
	st.Set(PilotPrefix, map[string][]byte{PilotKey("p1"): shardmaptest.PilotRecord("p1", "127.0.0.1:1")})
	st.Set(AppPrefix, map[string][]byte{AppKey("web"): nil, AppKey(".."): nil, AppKey("."): nil, AppKey("a/b"): nil, AppKey(""): nil})
	v := NewView(ctx, st, slog.New(slog.DiscardHandler))
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	apps := v.Current().Apps
	if _, ok := apps["web"]; !ok || len(apps) != 1 {
		t.Fatalf("apps %v; want web only", apps)
	}
	if n := v.Stats.BadRecords.Load(); n != 4 {
		t.Errorf("bad records %d, want 4", n)
	}
}
