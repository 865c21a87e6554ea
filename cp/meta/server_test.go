package meta

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/shardmap/shardmaptest"
)

func TestOwnerLookupAndWaitForAMove(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := shardmaptest.New()
	st.Set(shardmap.PilotPrefix, map[string][]byte{shardmap.PilotKey("p1"): shardmaptest.PilotRecord("p1", "127.0.0.1:1"), shardmap.PilotKey("p2"): shardmaptest.PilotRecord("p2", "127.0.0.1:2")})
	st.Set(shardmap.AppPrefix, map[string][]byte{shardmap.AppKey("web"): []byte(`{"services":["echo"]}`)})
	v := shardmap.NewView(ctx, st, slog.New(slog.DiscardHandler))
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Server{View: v}).Handler(nil))
	defer srv.Close()
	get := func(q string) (int, api.OwnerResponse) {
		resp, err := http.Get(srv.URL + "/v1/owner?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out api.OwnerResponse
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	code, first := get("app=web")
	if code != 200 || first.Pilot.ID == "" {
		t.Fatalf("%d %+v", code, first)
	}
	if code, _ := get("app=bad/name"); code != 400 {
		t.Errorf("bad app name: %d", code)
	}
	if code, _ := get("app=web&avoid=p1&wait=2h"); code != 400 {
		t.Errorf("wait over the limit: %d", code)
	}
	// A sidecar that lost the owner waits until the app moves (the lost
	// pilot counts for shardmap.RemovalGrace more).
	other := map[string]string{"p1": "p2", "p2": "p1"}[first.Pilot.ID]
	// start is taken before the pilot goes: the answer comes at least the
	// grace after that, however late this goroutine runs.
	start := time.Now()
	go func() {
		time.Sleep(200 * time.Millisecond)
		st.Set(shardmap.PilotPrefix, map[string][]byte{shardmap.PilotKey(other): shardmaptest.PilotRecord(other, "127.0.0.1:9")})
	}()
	code, moved := get("app=web&avoid=" + first.Pilot.ID + "&wait=10s")
	if code != 200 || moved.Pilot.ID != other || time.Since(start) < shardmap.RemovalGrace {
		t.Fatalf("after %v: %d %+v", time.Since(start), code, moved)
	}
	// Nothing changes: the answer comes at the end of the wait, naming
	// the owner still.
	start = time.Now()
	if code, same := get("app=web&avoid=" + other + "&wait=300ms"); code != 200 || same.Pilot.ID != other || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("%d %+v after %v", code, same, time.Since(start))
	}
	// No pilot at all (once the last one's grace is over).
	st.Set(shardmap.PilotPrefix, map[string][]byte{})
	deadline := time.Now().Add(shardmap.RemovalGrace + 30*time.Second)
	for {
		code, _ := get("app=web")
		if code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pilot: %d after the grace", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
