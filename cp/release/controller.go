package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	api "github.com/octomesh/octomesh/api/release"
)

// DefaultUpgradeTimeout bounds how long a stage's nodes may take to run
// the new version when the gate gives no UpgradeTimeout.
const DefaultUpgradeTimeout = 5 * time.Minute

// Controller holds the releases and node reports and moves releases on.
// Every method is safe for concurrent use; Step does the moving and is
// called by the handler's loop (and by tests, with their own clock).
type Controller struct {
	file      string // releases.json; "" keeps nothing
	artifacts *Artifacts
	staleness time.Duration
	log       *slog.Logger

	mu       sync.Mutex
	releases []*api.Release // creation order
	seq      int
	nodes    map[string]*api.NodeReport
	// baseline: a watched node's counters when its stage's window began.
	baseline map[string]counters // key release/node
	changed  chan struct{}       // closed and replaced when a target may have changed
}

type counters struct{ requests, errors uint64 }

// persisted is releases.json.
type persisted struct {
	Seq      int            `json:"seq"`
	Releases []*api.Release `json:"releases"`
}

// NewController reads file (releases.json; missing is empty) and returns
// a controller over artifacts. A report older than staleness marks its
// node stale (and fails a gate watching it).
func NewController(file string, artifacts *Artifacts, staleness time.Duration, log *slog.Logger) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{file: file, artifacts: artifacts, staleness: staleness, log: log,
		nodes: map[string]*api.NodeReport{}, baseline: map[string]counters{}, changed: make(chan struct{})}
	if file == "" {
		return c, nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("release: %s: %v", file, err)
	}
	c.seq, c.releases = p.Seq, p.Releases
	for _, r := range c.releases {
		for i := range r.Stages {
			// The baselines are gone: watch again from the start.
			if r.Stages[i].State == api.StageWatching {
				r.Stages[i].State, r.Stages[i].WatchFrom = api.StageUpgrading, nil
			}
		}
	}
	return c, nil
}

// save writes the releases; c.mu is held.
func (c *Controller) save() {
	if c.file == "" {
		return
	}
	b, err := json.MarshalIndent(persisted{Seq: c.seq, Releases: c.releases}, "", "  ")
	if err == nil {
		err = writeFileAtomic(c.file, b)
	}
	if err != nil {
		c.log.Error("release: saving the releases: a restarted control plane will not see the last change", "file", c.file, "err", err)
	}
}

// notify wakes every long poll; c.mu is held.
func (c *Controller) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Create validates spec, selects its nodes among those that reported,
// splits them into stages and starts the release (its canary gets the
// target at once).
func (c *Controller) Create(spec api.Spec, now time.Time) (api.Release, error) {
	if err := spec.Validate(); err != nil {
		return api.Release{}, err
	}
	arts := c.artifacts.ByVersion(spec.Version)
	if spec.SHA256 != "" {
		arts = slices.DeleteFunc(arts, func(a api.Artifact) bool { return a.SHA256 != spec.SHA256 })
	}
	switch {
	case len(arts) == 0 && spec.SHA256 != "":
		return api.Release{}, fmt.Errorf("%w: version %q with sha256 %s: no such artifact was uploaded", api.ErrInvalid, spec.Version, spec.SHA256)
	case len(arts) == 0:
		return api.Release{}, fmt.Errorf("%w: version %q: no artifact was uploaded with this version (octomesh ctl release upload FILE --version %s)", api.ErrInvalid, spec.Version, spec.Version)
	case len(arts) > 1:
		return api.Release{}, fmt.Errorf("%w: version %q names %d artifacts: give sha256 to pick one", api.ErrInvalid, spec.Version, len(arts))
	}
	spec.SHA256 = arts[0].SHA256

	c.mu.Lock()
	defer c.mu.Unlock()
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("%s-%d", sanitize(spec.Version), c.seq+1)
	}
	for _, r := range c.releases {
		if r.Name == spec.Name {
			return api.Release{}, fmt.Errorf("%w: name %q: a release has this name already", ErrConflict, spec.Name)
		}
	}
	nodes, err := c.selectNodes(spec.Scope)
	if err != nil {
		return api.Release{}, err
	}
	for _, r := range c.releases {
		if !r.Active() {
			continue
		}
		for _, n := range nodes {
			if slices.Contains(releaseNodes(r), n) {
				return api.Release{}, fmt.Errorf("%w: scope: node %s is in release %s (%s): wait for it to end or abort it", ErrConflict, n, r.Name, r.State)
			}
		}
	}
	r := &api.Release{Spec: spec, State: api.Running, Stages: splitStages(nodes, spec), Previous: map[string]api.Version{},
		CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	for _, n := range nodes {
		r.Previous[n] = c.nodes[n].Version
	}
	c.seq++
	c.releases = append(c.releases, r)
	c.log.Info("release: created", "release", r.Name, "version", spec.Version, "sha256", spec.SHA256, "nodes", len(nodes), "stages", len(r.Stages))
	c.step(now)
	c.save()
	return clone(r), nil
}

// sanitize makes a version string part of a release name.
func sanitize(v string) string {
	b := []byte(strings.ToLower(v))
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b), "-._")
	if len(s) > 50 {
		s = s[:50]
	}
	if s == "" {
		s = "release"
	}
	return s
}

// selectNodes picks the reported nodes in scope, sorted; c.mu is held.
func (c *Controller) selectNodes(s api.Scope) ([]string, error) {
	for _, n := range s.Nodes {
		if _, ok := c.nodes[n]; !ok {
			return nil, fmt.Errorf("%w: scope.nodes: node %q has not reported to this control plane", api.ErrInvalid, n)
		}
	}
	var out []string
	for name, rep := range c.nodes {
		if (len(s.Apps) == 0 || slices.Contains(s.Apps, rep.App)) &&
			(len(s.Zones) == 0 || slices.Contains(s.Zones, rep.Zone)) &&
			(len(s.Nodes) == 0 || slices.Contains(s.Nodes, name)) {
			if rep.SHA256 == "" {
				return nil, fmt.Errorf("%w: scope: node %s has not reported what it runs yet (no sha256): its previous version would be unknown", api.ErrInvalid, name)
			}
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: scope: apps %v, zones %v, nodes %v select none of the %d nodes that reported", api.ErrInvalid, s.Apps, s.Zones, s.Nodes, len(c.nodes))
	}
	sort.Strings(out)
	return out, nil
}

// splitStages makes the canary and the batches.
func splitStages(nodes []string, s api.Spec) []api.Stage {
	canary := s.Canary
	if s.CanaryShare > 0 {
		canary = int(math.Ceil(s.CanaryShare * float64(len(nodes))))
	}
	canary = min(max(canary, 1), len(nodes))
	stages := []api.Stage{{Nodes: nodes[:canary], State: api.StagePending}}
	rest := nodes[canary:]
	batches := min(s.Batches, len(rest))
	for i := range batches {
		// Batch i takes its share of what is left, rounding up first.
		n := (len(rest) + batches - i - 1) / (batches - i)
		stages = append(stages, api.Stage{Nodes: rest[:n], State: api.StagePending})
		rest = rest[n:]
	}
	return stages
}

func releaseNodes(r *api.Release) []string {
	var out []string
	for _, s := range r.Stages {
		out = append(out, s.Nodes...)
	}
	return out
}

// Pause holds a running release: the stage under way goes on (and its
// gate is still checked), the next does not start.
func (c *Controller) Pause(name string, now time.Time) (api.Release, error) {
	return c.change(name, now, func(r *api.Release) error {
		if r.State != api.Running {
			return fmt.Errorf("%w: release %s is %s: only a running release can be paused", ErrConflict, name, r.State)
		}
		r.State = api.Paused
		return nil
	})
}

// Resume lets a paused release go on.
func (c *Controller) Resume(name string, now time.Time) (api.Release, error) {
	return c.change(name, now, func(r *api.Release) error {
		if r.State != api.Paused {
			return fmt.Errorf("%w: release %s is %s: only a paused release can be resumed", ErrConflict, name, r.State)
		}
		r.State = api.Running
		return nil
	})
}

// Abort halts a running or paused release and sends every node it gave
// the new version back to its previous one.
func (c *Controller) Abort(name string, now time.Time) (api.Release, error) {
	return c.change(name, now, func(r *api.Release) error {
		if r.State != api.Running && r.State != api.Paused {
			return fmt.Errorf("%w: release %s is %s: only a running or paused release can be aborted", ErrConflict, name, r.State)
		}
		c.rollBack(r, "aborted by an operator", now)
		return nil
	})
}

func (c *Controller) change(name string, now time.Time, f func(*api.Release) error) (api.Release, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.find(name)
	if r == nil {
		return api.Release{}, fmt.Errorf("%w: release %q", ErrNotFound, name)
	}
	if err := f(r); err != nil {
		return api.Release{}, err
	}
	r.UpdatedAt = now.UTC()
	c.log.Info("release: changed by an operator", "release", name, "state", r.State)
	c.step(now)
	c.save()
	c.notify()
	return clone(r), nil
}

func (c *Controller) find(name string) *api.Release {
	for _, r := range c.releases {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Release returns one release.
func (c *Controller) Release(name string) (api.Release, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.find(name)
	if r == nil {
		return api.Release{}, fmt.Errorf("%w: release %q", ErrNotFound, name)
	}
	return clone(r), nil
}

// Releases returns every release, oldest first.
func (c *Controller) Releases() []api.Release {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]api.Release, len(c.releases))
	for i, r := range c.releases {
		out[i] = clone(r)
	}
	return out
}

// clone deep-copies through JSON: releases are small and read rarely.
func clone(r *api.Release) api.Release {
	b, _ := json.Marshal(r)
	var out api.Release
	_ = json.Unmarshal(b, &out)
	return out
}

// Report records a node's report and moves releases on.
func (c *Controller) Report(rep api.Report, now time.Time) error {
	if err := api.ValidName("node", rep.Node); err != nil {
		return err
	}
	if rep.SHA256 != "" {
		if err := api.ValidSHA256("sha256", rep.SHA256); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[rep.Node] = &api.NodeReport{Report: rep, ReceivedAt: now.UTC()}
	c.step(now)
	return nil
}

// Seen records a node that polls before it ever reported: its app and
// zone (so that a scope can select it once it reports what it runs).
func (c *Controller) Seen(node, app, zone string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[node]; ok {
		if app != "" {
			n.App = app
		}
		if zone != "" {
			n.Zone = zone
		}
		return
	}
	c.nodes[node] = &api.NodeReport{Report: api.Report{Node: node, App: app, Zone: zone, State: api.NodeNotReady}, ReceivedAt: now.UTC()}
}

// Nodes returns every node's last report, sorted by node, with Stale set.
func (c *Controller) Nodes(now time.Time) []api.NodeReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]api.NodeReport, 0, len(c.nodes))
	for _, n := range c.nodes {
		r := *n
		r.Stale = c.stale(n, now)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

func (c *Controller) stale(n *api.NodeReport, now time.Time) bool {
	return c.staleness > 0 && now.Sub(n.ReceivedAt) > c.staleness
}

// Target is what node should run now: the newest release that gave it a
// target decides (the new version while it runs or after it succeeded,
// the previous version once it rolls back). Empty: keep what runs.
func (c *Controller) Target(node string) api.Target {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.target(node)
}

func (c *Controller) target(node string) api.Target {
	for i := len(c.releases) - 1; i >= 0; i-- {
		r := c.releases[i]
		for _, s := range r.Stages {
			if s.State == api.StagePending || !slices.Contains(s.Nodes, node) {
				continue
			}
			if r.State == api.RollingBack || r.State == api.RolledBack {
				prev := r.Previous[node]
				return api.Target{Version: prev, Release: r.Name, Rollback: true, URL: api.ArtifactsPath + "/" + prev.SHA256}
			}
			return api.Target{Version: api.Version{Version: r.Version, SHA256: r.SHA256}, Release: r.Name, URL: api.ArtifactsPath + "/" + r.SHA256}
		}
	}
	return api.Target{}
}

// WaitTarget returns node's target once it is set and differs from have
// (the digest the agent last acted on), or when wait passed, or done is
// closed: whichever comes first.
func (c *Controller) WaitTarget(node, have string, wait time.Duration, done <-chan struct{}) api.Target {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		c.mu.Lock()
		t, changed := c.target(node), c.changed
		c.mu.Unlock()
		if t.SHA256 != "" && t.SHA256 != have || wait <= 0 {
			return t
		}
		select {
		case <-changed:
		case <-timer.C:
			return t
		case <-done:
			return t
		}
	}
}

// Step moves every active release on as far as the reports allow.
func (c *Controller) Step(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step(now)
}

// step: c.mu is held.
func (c *Controller) step(now time.Time) {
	changed := false
	for _, r := range c.releases {
		if c.stepRelease(r, now) {
			r.UpdatedAt = now.UTC()
			changed = true
		}
	}
	if changed {
		c.save()
		c.notify()
	}
}

// stepRelease moves r on; it reports whether r changed.
func (c *Controller) stepRelease(r *api.Release, now time.Time) bool {
	switch r.State {
	case api.RollingBack:
		for _, s := range r.Stages {
			if s.State == api.StagePending {
				continue
			}
			for _, n := range s.Nodes {
				if rep := c.nodes[n]; rep == nil || rep.SHA256 != r.Previous[n].SHA256 {
					return false
				}
			}
		}
		r.State = api.RolledBack
		c.log.Info("release: rolled back", "release", r.Name)
		return true
	case api.Running, api.Paused:
	default:
		return false
	}
	i := slices.IndexFunc(r.Stages, func(s api.Stage) bool { return s.State != api.StagePassed })
	if i < 0 {
		r.State = api.Succeeded
		c.log.Info("release: succeeded", "release", r.Name)
		return true
	}
	s := &r.Stages[i]
	switch s.State {
	case api.StagePending:
		if r.State == api.Paused {
			return false
		}
		if i > 0 && r.Stages[i-1].EndedAt != nil && now.Before(r.Stages[i-1].EndedAt.Add(time.Duration(r.Pause))) {
			return false
		}
		t := now.UTC()
		s.State, s.StartedAt = api.StageUpgrading, &t
		c.log.Info("release: stage started", "release", r.Name, "stage", i, "nodes", s.Nodes)
		return true
	case api.StageUpgrading:
		if reason := c.nodeFailed(r, s); reason != "" {
			c.fail(r, s, reason, now)
			return true
		}
		timeout := time.Duration(r.Gate.UpgradeTimeout)
		if timeout <= 0 {
			timeout = DefaultUpgradeTimeout
		}
		if now.Sub(*s.StartedAt) > timeout {
			c.fail(r, s, fmt.Sprintf("stage %d: not every node ran %s within the upgrade timeout %v: %s", i, r.Version, timeout, c.laggards(r, s)), now)
			return true
		}
		for _, n := range s.Nodes {
			rep := c.nodes[n]
			if rep == nil || rep.SHA256 != r.SHA256 || !rep.Ready || rep.State != api.NodeReady {
				return false
			}
		}
		t := now.UTC()
		s.State, s.WatchFrom = api.StageWatching, &t
		for _, n := range s.Nodes {
			c.baseline[r.Name+"/"+n] = counters{c.nodes[n].Requests, c.nodes[n].Errors}
		}
		c.log.Info("release: stage runs the new version: watching it", "release", r.Name, "stage", i, "window", time.Duration(r.Gate.Window))
		return true
	case api.StageWatching:
		if reason := c.nodeFailed(r, s); reason != "" {
			c.fail(r, s, reason, now)
			return true
		}
		end := s.WatchFrom.Add(time.Duration(r.Gate.Window))
		fresh := true
		for _, n := range s.Nodes {
			rep := c.nodes[n]
			switch {
			case rep.SHA256 != r.SHA256:
				c.fail(r, s, fmt.Sprintf("node %s: runs %s (%s) again, not %s", n, rep.Version.Version, short(rep.SHA256), r.Version), now)
				return true
			case !rep.Ready:
				c.fail(r, s, fmt.Sprintf("node %s: its sidecar is not ready (%s) in the gate's window", n, rep.State), now)
				return true
			case c.stale(rep, now):
				c.fail(r, s, fmt.Sprintf("node %s: no report for %v in the gate's window", n, now.Sub(rep.ReceivedAt).Round(time.Second)), now)
				return true
			}
			base := c.baseline[r.Name+"/"+n]
			if rep.Requests < base.requests || rep.Errors < base.errors {
				base = counters{} // the sidecar restarted: its counters did
			}
			req, errs := rep.Requests-base.requests, rep.Errors-base.errors
			if req > 0 && req >= r.Gate.MinRequests && float64(errs) > r.Gate.MaxErrorRate*float64(req) {
				c.fail(r, s, fmt.Sprintf("node %s: %d errors to %d requests in the gate's window, over the %g allowed", n, errs, req, r.Gate.MaxErrorRate), now)
				return true
			}
			if rep.ReceivedAt.Before(end) {
				fresh = false // wait for a report from after the window
			}
		}
		if now.Before(end) || !fresh {
			return false
		}
		t := now.UTC()
		s.State, s.EndedAt = api.StagePassed, &t
		c.log.Info("release: stage passed its gate", "release", r.Name, "stage", i)
		if i == len(r.Stages)-1 {
			r.State = api.Succeeded
			c.log.Info("release: succeeded", "release", r.Name)
		}
		return true
	}
	return false
}

// nodeFailed names a node of s whose agent gave up on r's version.
func (c *Controller) nodeFailed(r *api.Release, s *api.Stage) string {
	for _, n := range s.Nodes {
		rep := c.nodes[n]
		if rep == nil || rep.Target == nil || rep.Target.SHA256 != r.SHA256 {
			continue
		}
		if rep.State == api.NodeRolledBack || rep.State == api.NodeFailed {
			return fmt.Sprintf("node %s: %s: %s", n, strings.ReplaceAll(rep.State, "_", " "), rep.Reason)
		}
	}
	return ""
}

func (c *Controller) laggards(r *api.Release, s *api.Stage) string {
	var out []string
	for _, n := range s.Nodes {
		rep := c.nodes[n]
		switch {
		case rep == nil:
			out = append(out, n+" (no report)")
		case rep.SHA256 != r.SHA256 || !rep.Ready:
			out = append(out, fmt.Sprintf("%s (%s, %s)", n, rep.Version.Version, rep.State))
		}
	}
	return strings.Join(out, ", ")
}

// fail halts r at stage s and rolls it back.
func (c *Controller) fail(r *api.Release, s *api.Stage, reason string, now time.Time) {
	t := now.UTC()
	s.State, s.EndedAt, s.Reason = api.StageFailed, &t, reason
	c.log.Error("release: health gate failed: rolling back", "release", r.Name, "reason", reason)
	c.rollBack(r, "health gate failed: "+reason, now)
}

func (c *Controller) rollBack(r *api.Release, reason string, now time.Time) {
	r.State, r.Reason = api.RollingBack, reason
	for i := range r.Stages {
		if st := &r.Stages[i]; st.State == api.StageUpgrading || st.State == api.StageWatching {
			t := now.UTC()
			st.State, st.EndedAt = api.StageFailed, &t
			if st.Reason == "" {
				st.Reason = reason
			}
		}
	}
	for k := range c.baseline {
		if strings.HasPrefix(k, r.Name+"/") {
			delete(c.baseline, k)
		}
	}
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
