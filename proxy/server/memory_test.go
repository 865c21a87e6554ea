package server

import (
	"testing"
	"time"

	"github.com/octomesh/octomesh/config"
)

func TestMemoryIsReleasedOnceABurstHasClosed(t *testing.T) {
	releases := 0
	m := memoryReleaser{release: func() { releases++ }}
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		open int
		want bool
		why  string
	}{
		{10, false, "quiet"},
		{2010, false, "a burst opens"},
		{1500, false, "closing: wait for it to end"},
		{300, false, "still closing"},
		{300, true, "closed and steady: release once"},
		{300, false, "released already"},
		{1000, false, "another burst within releaseEvery"},
		{400, false, "closing"},
		{400, false, "steady, but within releaseEvery of the last release"},
		{400, false, "still within releaseEvery"},
	}
	for i, st := range steps {
		if got := m.check(st.open, 0, at(i)); got != st.want {
			t.Fatalf("step %d (%s): check(%d) = %v, want %v", i, st.why, st.open, got, st.want)
		}
	}
	// releaseEvery after the first release, the second burst is let go.
	if !m.check(400, 0, at(4).Add(releaseEvery)) {
		t.Fatal("the second burst was not released after releaseEvery")
	}
	// Fewer than releaseAfterConns closing is not a burst.
	later := at(4).Add(3 * releaseEvery)
	m.check(400+releaseAfterConns-1, 0, later)
	if m.check(400, 0, later.Add(time.Second)) || m.check(400, 0, later.Add(2*time.Second)) {
		t.Fatalf("released after %d connections closed", releaseAfterConns-1)
	}
	if releases != 2 {
		t.Fatalf("%d releases, want 2", releases)
	}
}

func TestMemoryIsReleasedOnceABigConfigIsBuilt(t *testing.T) {
	releases := 0
	m := memoryReleaser{release: func() { releases++ }}
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		built int64
		want  bool
		why   string
	}{
		{10, false, "a small config"},
		{10, false, "small and steady: no release"},
		{600, false, "the pilot sends a big config"},
		{1200, false, "still sending"},
		{1200, true, "built and steady: release once"},
		{1200, false, "released already"},
		{1300, false, "a few more"},
		{1300, false, "steady, but fewer than releaseAfterBuilt since the release"},
		{2300, false, "another big one"},
		{2300, false, "steady, but within releaseEvery of the last release"},
	}
	for i, st := range steps {
		if got := m.check(10, st.built, at(i)); got != st.want {
			t.Fatalf("step %d (%s): check(built %d) = %v, want %v", i, st.why, st.built, got, st.want)
		}
	}
	if !m.check(10, 2300, at(4).Add(releaseEvery)) {
		t.Fatal("the second big config was not released after releaseEvery")
	}
	if releases != 2 {
		t.Fatalf("%d releases, want 2", releases)
	}
}

func TestListenerBoundsOverrideTheLimits(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
limits: {max_connections: 50, idle_timeout: 1m}
listeners:
  - {name: a, address: "127.0.0.1:0", routes: [{cluster: c}]}
  - {name: b, address: "127.0.0.1:1", routes: [{cluster: c}], max_connections: 7, idle_timeout: 2s}
clusters: [{name: c, endpoints: [{address: "127.0.0.1:2"}]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: cfg}
	if o := s.listenerOptions(cfg.Listeners[0]); o.MaxConns != 50 || o.IdleTimeout != time.Minute {
		t.Errorf("listener a: MaxConns %d IdleTimeout %v, want the limits' 50 and 1m", o.MaxConns, o.IdleTimeout)
	}
	if o := s.listenerOptions(cfg.Listeners[1]); o.MaxConns != 7 || o.IdleTimeout != 2*time.Second {
		t.Errorf("listener b: MaxConns %d IdleTimeout %v, want its own 7 and 2s", o.MaxConns, o.IdleTimeout)
	}
}
