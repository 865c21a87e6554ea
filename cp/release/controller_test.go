package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/release"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

const oldSHA = "1111111111111111111111111111111111111111111111111111111111111111"

// fixture is a controller with an uploaded "v2" and nodes that reported
// running "v1".
type fixture struct {
	t      *testing.T
	c      *Controller
	newSHA string
	now    time.Time
}

func newFixture(t *testing.T, nodes ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	arts, err := OpenArtifacts(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	bin := []byte("#!/bin/sh\necho octomesh v2\n")
	sum := sha256.Sum256(bin)
	f := &fixture{t: t, newSHA: hex.EncodeToString(sum[:]), now: t0}
	if _, err := arts.Put(bytes.NewReader(bin), "v2", f.newSHA, t0); err != nil {
		t.Fatal(err)
	}
	if f.c, err = NewController(filepath.Join(dir, "releases.json"), arts, 30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		f.report(n, oldSHA, api.NodeReady, nil, 0, 0, fmt.Sprintf("app%d", i%2), fmt.Sprintf("z%d", i%3))
	}
	return f
}

func (f *fixture) report(node, sha, state string, target *api.Version, req, errs uint64, appZone ...string) {
	f.t.Helper()
	rep := api.Report{Node: node, State: state, Version: api.Version{Version: map[string]string{oldSHA: "v1"}[sha], SHA256: sha},
		Target: target, Ready: state == api.NodeReady, Requests: req, Errors: errs}
	if rep.Version.Version == "" {
		rep.Version.Version = "v2"
	}
	if len(appZone) == 2 {
		rep.App, rep.Zone = appZone[0], appZone[1]
	} else if old := f.c.nodes[node]; old != nil {
		rep.App, rep.Zone = old.App, old.Zone
	}
	if err := f.c.Report(rep, f.now); err != nil {
		f.t.Fatal(err)
	}
}

// upgraded reports nodes running the new version, ready.
func (f *fixture) upgraded(nodes []string, req, errs uint64) {
	for _, n := range nodes {
		f.report(n, f.newSHA, api.NodeReady, &api.Version{Version: "v2", SHA256: f.newSHA}, req, errs)
	}
}

func (f *fixture) advance(d time.Duration) {
	f.now = f.now.Add(d)
	f.c.Step(f.now)
}

func (f *fixture) release(name string) api.Release {
	f.t.Helper()
	r, err := f.c.Release(name)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) stageStates(name string) string {
	var s []string
	for _, st := range f.release(name).Stages {
		s = append(s, st.State)
	}
	return strings.Join(s, ",")
}

func spec() api.Spec {
	return api.Spec{Name: "r1", Version: "v2", Canary: 1, Batches: 2, Pause: api.Duration(10 * time.Second),
		Gate: api.Gate{MaxErrorRate: 0.01, Window: api.Duration(5 * time.Second)}}
}

func TestStagesAdvanceThroughTheirGates(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5", "n6"}
	f := newFixture(t, nodes...)
	r, err := f.c.Create(spec(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, s := range r.Stages {
		sizes = append(sizes, len(s.Nodes))
	}
	if fmt.Sprint(sizes) != "[1 3 2]" || r.Stages[0].Nodes[0] != "n1" {
		t.Fatalf("stages %v (sizes %v); want the canary n1, then 3 and 2", r.Stages, sizes)
	}
	if got := f.stageStates("r1"); got != "upgrading,pending,pending" {
		t.Fatalf("after create: %s", got)
	}
	if tg := f.c.Target("n1"); tg.SHA256 != f.newSHA || tg.Rollback || tg.URL != api.ArtifactsPath+"/"+f.newSHA {
		t.Fatalf("canary target %+v", tg)
	}
	if tg := f.c.Target("n2"); tg.SHA256 != "" {
		t.Fatalf("n2 got a target before its stage: %+v", tg)
	}

	// Canary runs it: the window starts; it passes only with a report
	// from after the window, then the pause runs.
	f.upgraded(nodes[:1], 100, 0)
	if got := f.stageStates("r1"); got != "watching,pending,pending" {
		t.Fatalf("canary upgraded: %s", got)
	}
	f.advance(5 * time.Second)
	if got := f.stageStates("r1"); got != "watching,pending,pending" {
		t.Fatalf("window over, no fresh report: %s", got)
	}
	f.upgraded(nodes[:1], 200, 1) // 1 error in 100 requests: at the 1% allowed
	if got := f.stageStates("r1"); got != "passed,pending,pending" {
		t.Fatalf("window over, fresh report: %s (%s)", got, f.release("r1").Reason)
	}
	f.advance(9 * time.Second)
	if got := f.stageStates("r1"); got != "passed,pending,pending" {
		t.Fatalf("in the pause: %s", got)
	}
	f.advance(time.Second)
	if got := f.stageStates("r1"); got != "passed,upgrading,pending" {
		t.Fatalf("after the pause: %s", got)
	}
	for _, n := range nodes[1:4] {
		if tg := f.c.Target(n); tg.SHA256 != f.newSHA {
			t.Fatalf("%s target %+v", n, tg)
		}
	}
	f.upgraded(nodes[1:3], 0, 0)
	f.advance(20 * time.Second)
	if got := f.stageStates("r1"); got != "passed,upgrading,pending" {
		t.Fatalf("one node of the batch not upgraded yet: %s", got)
	}
	f.upgraded(nodes[1:4], 0, 0)
	f.advance(5 * time.Second)
	f.upgraded(nodes[1:4], 0, 0)
	if got := f.stageStates("r1"); got != "passed,passed,pending" {
		t.Fatalf("batch 1 watched: %s (%s)", got, f.release("r1").Reason)
	}
	f.advance(10 * time.Second)
	f.upgraded(nodes[4:], 0, 0)
	f.advance(5 * time.Second)
	f.upgraded(nodes[4:], 10, 0)
	r = f.release("r1")
	if r.State != api.Succeeded || f.stageStates("r1") != "passed,passed,passed" {
		t.Fatalf("release %s, stages %s: %s", r.State, f.stageStates("r1"), r.Reason)
	}
	// After success the target stays: an agent restarted later keeps it.
	if tg := f.c.Target("n6"); tg.SHA256 != f.newSHA {
		t.Fatalf("after success n6 target %+v", tg)
	}
}

func TestGateFailureHaltsAndRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		fail       func(f *fixture)
	}{
		{"the agent rolled the canary back", "node n1: rolled back: did not become ready", func(f *fixture) {
			rep := api.Report{Node: "n1", State: api.NodeRolledBack, Version: api.Version{Version: "v1", SHA256: oldSHA},
				Target: &api.Version{Version: "v2", SHA256: f.newSHA}, Reason: "did not become ready", Ready: true}
			if err := f.c.Report(rep, f.now); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"error rate over the gate", "node n1: 5 errors to 100 requests", func(f *fixture) {
			f.upgraded([]string{"n1"}, 1000, 10)
			f.advance(time.Second)
			f.upgraded([]string{"n1"}, 1100, 15)
		}},
		{"not ready in the window", "node n1: its sidecar is not ready", func(f *fixture) {
			f.upgraded([]string{"n1"}, 0, 0)
			f.report("n1", f.newSHA, api.NodeNotReady, nil, 0, 0)
		}},
		{"stopped reporting", "node n1: no report for", func(f *fixture) {
			f.upgraded([]string{"n1"}, 0, 0)
			f.advance(31 * time.Second)
		}},
		{"never upgraded", "not every node ran v2 within the upgrade timeout 5m0s: n1 (v1, ready)", func(f *fixture) {
			f.advance(DefaultUpgradeTimeout + time.Second)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "n1", "n2", "n3")
			if _, err := f.c.Create(spec(), f.now); err != nil {
				t.Fatal(err)
			}
			tc.fail(f)
			r := f.release("r1")
			if r.State != api.RollingBack || !strings.Contains(r.Reason, tc.want) || f.stageStates("r1") != "failed,pending,pending" {
				t.Fatalf("release %s, stages %s, reason %q; want rolling back with %q", r.State, f.stageStates("r1"), r.Reason, tc.want)
			}
			tg := f.c.Target("n1")
			if tg.SHA256 != oldSHA || !tg.Rollback || tg.Version.Version != "v1" {
				t.Fatalf("canary's target after the failure: %+v; want v1 back", tg)
			}
			for _, n := range []string{"n2", "n3"} {
				if tg := f.c.Target(n); tg.SHA256 != "" {
					t.Fatalf("%s untouched by the release got target %+v", n, tg)
				}
			}
			f.advance(time.Hour) // no stage starts once halted
			if got := f.stageStates("r1"); got != "failed,pending,pending" {
				t.Fatalf("after the halt: %s", got)
			}
			f.report("n1", oldSHA, api.NodeReady, &tg.Version, 0, 0)
			if r := f.release("r1"); r.State != api.RolledBack {
				t.Fatalf("canary back on v1: release %s", r.State)
			}
		})
	}
}

func TestPauseResumeAbort(t *testing.T) {
	f := newFixture(t, "n1", "n2", "n3")
	if _, err := f.c.Create(spec(), f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Resume("r1", f.now); !errors.Is(err, ErrConflict) {
		t.Fatalf("resume of a running release: %v", err)
	}
	if r, err := f.c.Pause("r1", f.now); err != nil || r.State != api.Paused {
		t.Fatalf("pause: %+v %v", r.State, err)
	}
	f.upgraded([]string{"n1"}, 0, 0)
	f.advance(5 * time.Second)
	f.upgraded([]string{"n1"}, 0, 0)
	f.advance(time.Minute)
	if got := f.stageStates("r1"); got != "passed,pending,pending" {
		t.Fatalf("paused: the stage under way finishes, the next waits: %s", got)
	}
	if _, err := f.c.Resume("r1", f.now); err != nil {
		t.Fatal(err)
	}
	if got := f.stageStates("r1"); got != "passed,upgrading,pending" {
		t.Fatalf("resumed: %s", got)
	}
	r, err := f.c.Abort("r1", f.now)
	if err != nil || r.State != api.RollingBack || r.Reason != "aborted by an operator" {
		t.Fatalf("abort: %+v %v", r, err)
	}
	for _, n := range []string{"n1", "n2"} {
		if tg := f.c.Target(n); tg.SHA256 != oldSHA || !tg.Rollback {
			t.Fatalf("%s after abort: %+v", n, tg)
		}
	}
	if _, err := f.c.Pause("nope", f.now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pause of an unknown release: %v", err)
	}
}

func TestScopeSelection(t *testing.T) {
	// app = app0 for n1, n3, n5; zone z0 for n1, n4; z1 for n2, n5.
	f := newFixture(t, "n1", "n2", "n3", "n4", "n5", "n6")
	for _, tc := range []struct {
		scope api.Scope
		want  string
	}{
		{api.Scope{}, "[n1 n2 n3 n4 n5 n6]"},
		{api.Scope{Apps: []string{"app0"}}, "[n1 n3 n5]"},
		{api.Scope{Zones: []string{"z0", "z1"}}, "[n1 n2 n4 n5]"},
		{api.Scope{Apps: []string{"app0"}, Zones: []string{"z1"}}, "[n5]"},
		{api.Scope{Nodes: []string{"n6", "n2"}, Apps: []string{"app1"}}, "[n2 n6]"},
		{api.Scope{Apps: []string{"nope"}}, "scope: apps [nope], zones [], nodes [] select none of the 6 nodes"},
		{api.Scope{Nodes: []string{"n9"}}, `scope.nodes: node "n9" has not reported`},
	} {
		f.c.mu.Lock()
		nodes, err := f.c.selectNodes(tc.scope)
		f.c.mu.Unlock()
		got := fmt.Sprint(nodes)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("scope %+v selects %s; want %s", tc.scope, got, tc.want)
		}
	}
	s := spec()
	s.Scope = api.Scope{Apps: []string{"app0"}}
	if _, err := f.c.Create(s, f.now); err != nil {
		t.Fatal(err)
	}
	s.Name, s.Scope = "r2", api.Scope{Nodes: []string{"n2", "n3"}}
	if _, err := f.c.Create(s, f.now); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "node n3 is in release r1") {
		t.Fatalf("a node in two active releases: %v", err)
	}
	s.Scope = api.Scope{Apps: []string{"app1"}}
	if r, err := f.c.Create(s, f.now); err != nil || len(r.Previous) != 3 {
		t.Fatalf("a release of other nodes: %+v %v", r, err)
	}
}

// An agent that was not polling when its stage started (or whose answer
// was lost) gets the target on its next poll; one in a long poll gets it
// at once.
func TestTargetReachesPollersAndLatecomers(t *testing.T) {
	f := newFixture(t, "n1", "n2")
	got := make(chan api.Target, 1)
	go func() { got <- f.c.WaitTarget("n1", oldSHA, time.Minute, nil) }()
	time.Sleep(50 * time.Millisecond) // let it wait; a late start only makes it answer at once
	start := time.Now()
	if _, err := f.c.Create(spec(), f.now); err != nil {
		t.Fatal(err)
	}
	select {
	case tg := <-got:
		if tg.SHA256 != f.newSHA {
			t.Fatalf("long poll answered %+v", tg)
		}
		t.Logf("long poll answered %v after the release started", time.Since(start))
	case <-time.After(20 * time.Second):
		t.Fatal("the long poll was not answered when the target changed")
	}
	// The missed notice: a plain poll later still gets the target.
	if tg := f.c.WaitTarget("n1", oldSHA, 0, nil); tg.SHA256 != f.newSHA {
		t.Fatalf("next poll: %+v", tg)
	}
	// A long poll whose target is what the agent acted on waits it out.
	start = time.Now()
	if tg := f.c.WaitTarget("n1", f.newSHA, 100*time.Millisecond, nil); tg.SHA256 != f.newSHA || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("a long poll for an unchanged target answered %+v after %v", tg, time.Since(start))
	}
	// n2 is in no started stage: it waits, and gets no target.
	if tg := f.c.WaitTarget("n2", oldSHA, 50*time.Millisecond, nil); tg.SHA256 != "" {
		t.Fatalf("n2: %+v", tg)
	}
}

func TestBadInputNamesTheField(t *testing.T) {
	f := newFixture(t, "n1")
	for _, tc := range []struct {
		edit func(*api.Spec)
		want string
	}{
		{func(s *api.Spec) { s.Version = "" }, "version: required"},
		{func(s *api.Spec) { s.Version = "v9" }, `version "v9": no artifact was uploaded`},
		{func(s *api.Spec) { s.SHA256 = "abc" }, `sha256 "abc" is not a SHA-256 digest`},
		{func(s *api.Spec) { s.SHA256 = oldSHA }, "with sha256 " + oldSHA + ": no such artifact"},
		{func(s *api.Spec) { s.Name = "Bad Name!" }, `name "Bad Name!"`},
		{func(s *api.Spec) { s.Canary = -1 }, "canary: -1"},
		{func(s *api.Spec) { s.Canary, s.CanaryShare = 0, 1.5 }, "canary_share: 1.5"},
		{func(s *api.Spec) { s.CanaryShare = 0.5 }, "canary and canary_share"},
		{func(s *api.Spec) { s.Batches = 0 }, "batches: 0"},
		{func(s *api.Spec) { s.Pause = -1 }, "pause:"},
		{func(s *api.Spec) { s.Gate.MaxErrorRate = 2 }, "gate.max_error_rate: 2"},
		{func(s *api.Spec) { s.Gate.Window = 0 }, "gate.window: 0s"},
		{func(s *api.Spec) { s.Scope.Apps = []string{""} }, "scope.apps: an empty name"},
	} {
		s := spec()
		tc.edit(&s)
		_, err := f.c.Create(s, f.now)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("spec %+v: %v; want invalid, naming %q", s, err, tc.want)
		}
	}
	if len(f.c.Releases()) != 0 {
		t.Fatal("a refused spec was stored")
	}
	if err := f.c.Report(api.Report{Node: "a b"}, f.now); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), `node "a b"`) {
		t.Fatalf("report of a bad node name: %v", err)
	}
	if err := f.c.Report(api.Report{Node: "n1", Version: api.Version{SHA256: "xyz"}}, f.now); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("report of a bad digest: %v", err)
	}
}

func TestReleasesSurviveARestart(t *testing.T) {
	f := newFixture(t, "n1", "n2")
	if _, err := f.c.Create(spec(), f.now); err != nil {
		t.Fatal(err)
	}
	f.upgraded([]string{"n1"}, 0, 0) // watching
	again, err := NewController(f.c.file, f.c.artifacts, 30*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := again.Release("r1")
	if err != nil || r.State != api.Running || r.Stages[0].State != api.StageUpgrading || r.Previous["n1"].SHA256 != oldSHA {
		t.Fatalf("after a restart: %+v %v; want running, the canary watched again", r, err)
	}
	if tg := again.Target("n1"); tg.SHA256 != f.newSHA {
		t.Fatalf("target after a restart: %+v", tg)
	}
}
