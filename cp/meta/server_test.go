package meta

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeStore serves prefixes from memory; set replaces a prefix's state.
type fakeStore struct {
	mu      sync.Mutex
	state   map[string]map[string][]byte
	updates map[string][]func(map[string][]byte, int64)
}

func newFakeStore() *fakeStore {
	return &fakeStore{state: map[string]map[string][]byte{}, updates: map[string][]func(map[string][]byte, int64){}}
}

func (f *fakeStore) WatchPrefix(ctx context.Context, prefix string, update func(map[string][]byte, int64)) {
	f.mu.Lock()
	f.updates[prefix] = append(f.updates[prefix], update)
	cur := f.state[prefix]
	f.mu.Unlock()
	update(cur, 1)
	<-ctx.Done()
}

func (f *fakeStore) set(prefix string, kv map[string][]byte) {
	f.mu.Lock()
	f.state[prefix] = kv
	list := f.updates[prefix]
	f.mu.Unlock()
	for _, u := range list {
		u(kv, 2)
	}
}

func pilotRecord(id, addr string) []byte {
	b, _ := json.Marshal(PilotInfo{ID: id, XDS: addr})
	return b
}

func TestOwnerLookupAndWaitForAMove(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := newFakeStore()
	st.state[PilotPrefix] = map[string][]byte{PilotKey("p1"): pilotRecord("p1", "127.0.0.1:1"), PilotKey("p2"): pilotRecord("p2", "127.0.0.1:2")}
	st.state[AppPrefix] = map[string][]byte{AppKey("web"): []byte(`{"services":["echo"]}`)}
	v := NewView(ctx, st, slog.New(slog.DiscardHandler))
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Server{View: v}).Handler(nil))
	defer srv.Close()
	get := func(q string) (int, OwnerResponse) {
		resp, err := http.Get(srv.URL + "/v1/owner?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out OwnerResponse
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
	// pilot counts for RemovalGrace more).
	other := map[string]string{"p1": "p2", "p2": "p1"}[first.Pilot.ID]
	go func() {
		time.Sleep(200 * time.Millisecond)
		st.set(PilotPrefix, map[string][]byte{PilotKey(other): pilotRecord(other, "127.0.0.1:9")})
	}()
	start := time.Now()
	code, moved := get("app=web&avoid=" + first.Pilot.ID + "&wait=10s")
	if code != 200 || moved.Pilot.ID != other || time.Since(start) < RemovalGrace {
		t.Fatalf("after %v: %d %+v", time.Since(start), code, moved)
	}
	// Nothing changes: the answer comes at the end of the wait, naming
	// the owner still.
	start = time.Now()
	if code, same := get("app=web&avoid=" + other + "&wait=300ms"); code != 200 || same.Pilot.ID != other || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("%d %+v after %v", code, same, time.Since(start))
	}
	// No pilot at all (once the last one's grace is over).
	st.set(PilotPrefix, map[string][]byte{})
	time.Sleep(RemovalGrace + 200*time.Millisecond)
	if code, _ := get("app=web"); code != 503 {
		t.Errorf("no pilot: %d", code)
	}
}

// A pilot whose key vanishes keeps its apps for RemovalGrace, and keeps
// them if the key comes back within it; a draining pilot loses them at
// once.
func TestRemovalGraceAndDrain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := newFakeStore()
	both := map[string][]byte{PilotKey("p1"): pilotRecord("p1", "127.0.0.1:1"), PilotKey("p2"): pilotRecord("p2", "127.0.0.1:2")}
	st.state[PilotPrefix] = both
	st.state[AppPrefix] = map[string][]byte{AppKey("a"): nil, AppKey("b"): nil, AppKey("c"): nil, AppKey("d"): nil}
	v := NewView(ctx, st, slog.New(slog.DiscardHandler))
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if len(v.Current().Owned("p1")) == 0 || len(v.Current().Owned("p2")) == 0 {
		t.Fatalf("assignment %v", v.Current().Owner)
	}
	only := map[string][]byte{PilotKey("p1"): pilotRecord("p1", "127.0.0.1:1")}
	// A missed renewal: gone and back within the grace.
	st.set(PilotPrefix, only)
	if _, ok := v.Current().Pilots["p2"]; !ok {
		t.Fatal("p2 stopped counting at once")
	}
	st.set(PilotPrefix, both)
	time.Sleep(RemovalGrace + 200*time.Millisecond)
	if _, ok := v.Current().Pilots["p2"]; !ok {
		t.Fatal("p2 came back within the grace but was dropped")
	}
	// Gone for good: dropped after the grace.
	start := time.Now()
	st.set(PilotPrefix, only)
	for {
		if _, ok := v.Current().Pilots["p2"]; !ok {
			break
		}
		if time.Since(start) > RemovalGrace+2*time.Second {
			t.Fatal("p2 still counted after the grace")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d < RemovalGrace-100*time.Millisecond {
		t.Fatalf("dropped after %v, before the grace", d)
	}
	// A drain: the record says so, and the apps move at once.
	st.set(PilotPrefix, both)
	drain, _ := json.Marshal(PilotInfo{ID: "p2", XDS: "127.0.0.1:2", Draining: true})
	st.set(PilotPrefix, map[string][]byte{PilotKey("p1"): pilotRecord("p1", "127.0.0.1:1"), PilotKey("p2"): drain})
	if _, ok := v.Current().Pilots["p2"]; ok || len(v.Current().Owned("p1")) != 4 {
		t.Fatalf("a draining pilot still counts: %v", v.Current().Owner)
	}
}
