package mocksidecar

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseIsStrict(t *testing.T) {
	good := "sidecar: {app: \"web-${i % 3}\"}\nsteps:\n  - connect: {}\n  - expect: {name: echo, timeout: 2s}\n"
	if _, err := Parse("s.yaml", []byte(good)); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, yaml, want string }{
		{"unknown field", "steps:\n  - expect: {name: echo, timout: 2s}\n", "s.yaml:2: steps[0].expect.timout: unknown field (known: absent, endpoints,"},
		{"unknown top-level", "step: []\n", "s.yaml:1: step: unknown field"},
		{"two kinds", "steps:\n  - connect: {}\n    sleep: 1s\n", "steps[0]: a step has one kind; this one has connect and sleep"},
		{"no kind", "steps:\n  - name: x\n", "steps[0]: a step needs a kind"},
		{"bad duration", "steps:\n  - sleep: soon\n", `s.yaml:2: steps[0].sleep: "soon" is not a duration`},
		{"unknown variable", "steps:\n  - subscribe: {names: [\"${svc}\"]}\n", "steps[0]: unknown variable ${svc}"},
		{"nested", "steps:\n  - repeat: {count: 2, steps: [{quiet: {}}]}\n", "steps[0].repeat.steps[0].quiet.for: a positive duration"},
		{"bad counter", "steps:\n  - assert: {counter: nope, min: 1}\n", `steps[0].assert.counter: "nope" is not a counter`},
		{"bad range", "steps:\n  - sidecars: \"5-2\"\n    connect: {}\n", `steps[0].sidecars: "5-2": want all, N or A-B`},
		{"no steps", "sidecar: {app: web}\n", "steps: a script needs at least one step"},
		{"modulo zero", "sidecar: {app: \"web-${i % 0}\"}\nsteps: [{connect: {}}]\n", "sidecar.app: ${i % 0}"},
		{"given twice", "steps:\n  - expect: {name: a, name: b}\n", "steps[0].expect.name: field given twice"},
		{"wake_quiet unstamped", "steps:\n  - expect: {name: a, wake_quiet: 50ms}\n", "steps[0].expect.wake_quiet: a positive duration, with latency_from or since"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"i": "17", "app": "web", "r": "2"}
	for in, want := range map[string]string{
		"web-${i % 5}":          "web-2",
		"${app}-${i / 5}":       "web-3",
		"127.0.0.1:${r + 7000}": "127.0.0.1:7002",
		"no variables":          "no variables",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExpansionsShared: sidecars whose variables a step names have the
// same values share one expanded copy; others get their own; ${now} is
// expanded every time.
func TestExpansionsShared(t *testing.T) {
	s, err := Parse("s.yaml", []byte(`
vars: {dir: /tmp/x}
steps:
  - control: {action: wait-file, args: {path: "${dir}/stop"}}
  - subscribe: {names: ["svc-${i % 2}"]}
  - register: {service: web, address: "127.0.0.1:1", metadata: {at: "${now}"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var x expansions
	v := func(i string) map[string]string { return map[string]string{"dir": "/tmp/x", "i": i, "r": "0"} }
	a, b := x.get(&s.Steps[0], v("0")), x.get(&s.Steps[0], v("1"))
	if a != b || a.Control.Args["path"] != "/tmp/x/stop" {
		t.Errorf("wait-file: %p %p %v: want one copy for every sidecar", a, b, a.Control.Args)
	}
	c, d, e := x.get(&s.Steps[1], v("0")), x.get(&s.Steps[1], v("1")), x.get(&s.Steps[1], v("0"))
	if c == d || c != e || c.Subscribe.Names[0] != "svc-0" || d.Subscribe.Names[0] != "svc-1" {
		t.Errorf("subscribe: %v %v %v", c.Subscribe.Names, d.Subscribe.Names, e.Subscribe.Names)
	}
	if f, g := x.get(&s.Steps[2], v("0")), x.get(&s.Steps[2], v("0")); f == g {
		t.Error("a step naming ${now} was cached")
	}
	for i := range 2 * maxExpansions {
		if got := x.get(&s.Steps[1], map[string]string{"i": strconv.Itoa(2 * i)}); got.Subscribe.Names[0] != "svc-0" {
			t.Fatalf("past the cache's bound: %v", got.Subscribe.Names)
		}
	}
}

// TestRunEndWakesWaits: a wait does not select on the run's context; the
// run's end wakes it.
func TestRunEndWakesWaits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := &engine{ctx: ctx}
	s := newSidecar(e, 0, "mock-0", "app", "", "", true)
	if s.wait(20*time.Millisecond, func() bool { return false }) { // its timer wakes it
		t.Fatal("wait = true for a condition that never holds, want false when its time is up")
	}
	done := make(chan bool, 1)
	go func() { done <- s.wait(10*time.Minute, func() bool { return false }) }()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) { // until it waits
		s.mu.Lock()
		parked := s.watched
		s.mu.Unlock()
		if parked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the wait did not start")
		}
	}
	cancel()
	s.wake()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("wait = true after the run ended, want false")
		}
	case <-time.After(time.Minute):
		t.Fatal("the wait did not end when woken after the run ended")
	}

	// Through Run: sidecars waiting to connect (10 minutes) end with it.
	script, err := Parse("wake.yaml", []byte("steps:\n  - connect: {timeout: 10m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_, _ = Run(ctx, script, Options{Count: 3, Pilot: "127.0.0.1:1"})
	}()
	time.Sleep(300 * time.Millisecond) // let them wait (if not yet, they see the end at once)
	cancel()
	select {
	case <-ended:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of its context's end")
	}
}
