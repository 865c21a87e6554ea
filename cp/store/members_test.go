package store

import (
	"context"
	"testing"
	"time"
)

// Evict marks a membership key under its own lease, then revokes the
// lease: the key goes, and a holder that was alive writes it again. It
// does nothing to an absent key or when mark declines.
func TestEvict(t *testing.T) {
	st := startEtcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const key = "/octomesh/v1/test/member"
	if ok, err := st.Evict(ctx, key, func([]byte) ([]byte, bool) { return []byte("x"), true }); ok || err != nil {
		t.Fatalf("absent key: %v %v", ok, err)
	}
	m, err := st.Hold(ctx, key, []byte("alive"), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Abandon()
	if ok, err := st.Evict(ctx, key, func([]byte) ([]byte, bool) { return nil, false }); ok || err != nil {
		t.Fatalf("declined: %v %v", ok, err)
	}
	var seen []string
	done := make(chan struct{})
	wctx, wcancel := context.WithCancel(ctx)
	defer func() { wcancel(); <-done }()
	events := make(chan string, 16)
	go func() {
		defer close(done)
		st.WatchPrefix(wctx, key, func(state map[string][]byte, _ int64) {
			v, ok := state[key]
			if !ok {
				events <- "(gone)"
				return
			}
			events <- string(v)
		})
	}()
	next := func() string {
		t.Helper()
		select {
		case e := <-events:
			seen = append(seen, e)
			return e
		case <-time.After(30 * time.Second):
			t.Fatalf("no change after %v", seen)
			return ""
		}
	}
	if e := next(); e != "alive" {
		t.Fatalf("first state %q", e)
	}
	if ok, err := st.Evict(ctx, key, func(old []byte) ([]byte, bool) { return append([]byte("evicted:"), old...), true }); !ok || err != nil {
		t.Fatalf("evict: %v %v", ok, err)
	}
	// Marked, then gone (the revoke), then written again by the holder,
	// whose renewal failed. (A watch may deliver the first two together.)
	between := 0
	for e := next(); e != "alive"; e = next() {
		if e != "evicted:alive" && e != "(gone)" {
			t.Fatalf("states %v", seen)
		}
		between++
	}
	if between == 0 {
		t.Fatalf("states %v: the key never left", seen)
	}
}
