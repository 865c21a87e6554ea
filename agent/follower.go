package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/octomesh/octomesh/api/release"
)

// FollowConfig says where the control plane is and who this node is.
type FollowConfig struct {
	// ControlPlane is the release API's address (host:port or URL);
	// Token the agent token (empty when the control plane accepts
	// loopback agents without one).
	ControlPlane, Token string
	// Node names this node; App and Zone place it in a release's scope.
	Node, App, Zone string
	// PollWait is how long each long poll for the target may wait (30s;
	// the control plane answers at once when the target changes). With
	// PollWait 0 the agent polls every PollInterval instead. After a
	// failed poll it tries again after PollInterval (10s).
	PollWait, PollInterval time.Duration
	// ReportInterval is how often the agent reports its node (10s), on
	// top of a report after each step of an upgrade.
	ReportInterval time.Duration
}

// follower is Follow's state.
type follower struct {
	s      *Supervisor
	cfg    FollowConfig
	client *release.Client

	mu sync.Mutex
	// The step under way or the last outcome for target: reported until
	// the target changes.
	state  string
	target *release.Version
	reason string
	sums   map[string]fileSum // binary path -> digest
}

type fileSum struct {
	size    int64
	modTime time.Time
	sum     string
}

// Follow follows the control plane's releases until ctx is done: it polls
// for this node's target, runs it through Upgrade (fetching the binary
// from the control plane, or using one it ran before), and reports each
// step and, every ReportInterval, its node. It returns ctx's error.
func (s *Supervisor) Follow(ctx context.Context, cfg FollowConfig) error {
	if err := release.ValidName("--node", cfg.Node); err != nil {
		return err
	}
	if cfg.ControlPlane == "" {
		return errors.New("agent: no control plane to follow")
	}
	if cfg.PollWait < 0 {
		cfg.PollWait = 0
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Second
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 10 * time.Second
	}
	f := &follower{s: s, cfg: cfg, client: release.NewClient(cfg.ControlPlane, cfg.Token), sums: map[string]fileSum{}}
	s.update(func(st *Status) { st.Follow = &FollowStatus{ControlPlane: cfg.ControlPlane, Node: cfg.Node} })
	defer f.client.Close()
	// The configured binary may be a rollback's target later, when the
	// sidecar runs another (after an upgrade and an agent restart): know
	// its digest, to roll back without a download.
	if _, err := f.sum(s.cfg.Binary); err != nil {
		s.cfg.Log.Warn("agent: the configured sidecar binary has no digest", "binary", s.cfg.Binary, "err", err)
	}
	select {
	case <-s.Started():
	case <-ctx.Done():
		return ctx.Err()
	}
	go f.reportLoop(ctx)
	f.pollLoop(ctx)
	return ctx.Err()
}

func (f *follower) reportLoop(ctx context.Context) {
	t := time.NewTicker(f.cfg.ReportInterval)
	defer t.Stop()
	for {
		f.report(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *follower) pollLoop(ctx context.Context) {
	log := f.s.cfg.Log
	have := "" // the digest last acted on: the one running, or a target given up on
	for ctx.Err() == nil {
		if have == "" {
			have = f.running().SHA256
		}
		pctx, cancel := context.WithTimeout(ctx, f.cfg.PollWait+30*time.Second)
		t, err := f.client.Target(pctx, f.cfg.Node, release.TargetQuery{App: f.cfg.App, Zone: f.cfg.Zone, Have: have, Wait: f.cfg.PollWait})
		cancel()
		f.s.update(func(st *Status) {
			now := time.Now()
			st.Follow.LastPoll, st.Follow.PollError = &now, errString(err)
		})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("agent: polling the control plane for a target failed", "err", err, "retry_in", f.cfg.PollInterval)
				sleep(ctx, f.cfg.PollInterval)
			}
			continue
		}
		if t.SHA256 == "" || t.SHA256 == have {
			if f.cfg.PollWait <= 0 {
				sleep(ctx, f.cfg.PollInterval)
			}
			continue
		}
		if err := release.ValidSHA256("target sha256", t.SHA256); err != nil {
			log.Error("agent: the control plane sent a bad target", "err", err)
			sleep(ctx, f.cfg.PollInterval)
			continue
		}
		if f.apply(ctx, t) {
			have = t.SHA256
		} else {
			sleep(ctx, f.cfg.PollInterval) // a passing reason (no sidecar running): try again
		}
	}
}

// apply runs target t; false means try again later.
func (f *follower) apply(ctx context.Context, t release.Target) bool {
	log := f.s.cfg.Log
	if f.running().SHA256 == t.SHA256 {
		f.set("", &t.Version, "")
		f.report(ctx)
		return true
	}
	log.Info("agent: the control plane asks for another version", "release", t.Release, "version", t.Version.Version, "sha256", t.SHA256, "rollback", t.Rollback)
	f.set(release.NodeDownloading, &t.Version, "")
	f.report(ctx)
	from, cleanup, err := f.binary(ctx, t)
	if err != nil {
		f.set(release.NodeFailed, &t.Version, err.Error())
		f.report(ctx)
		log.Error("agent: the target could not be fetched", "sha256", t.SHA256, "err", err)
		return true
	}
	defer cleanup()
	f.set(release.NodeUpgrading, &t.Version, "")
	f.report(ctx)
	res, err := f.s.Upgrade(ctx, Target{From: from, SHA256: t.SHA256})
	switch {
	case err != nil && errors.Is(err, ErrBadTarget):
		f.set(release.NodeFailed, &t.Version, err.Error())
	case err != nil:
		f.set("", nil, "")
		return false
	case res.Outcome == Rejected:
		f.set(release.NodeNotReady, &t.Version, res.Reason)
		f.report(ctx)
		return false
	case res.Outcome == RolledBack:
		f.set(release.NodeRolledBack, &t.Version, res.Reason)
	default:
		f.set("", &t.Version, "")
	}
	f.report(ctx)
	return true
}

// binary finds t's binary: one this agent ran before, or a download from
// the control plane (removed by cleanup once Upgrade stored it).
func (f *follower) binary(ctx context.Context, t release.Target) (string, func(), error) {
	none := func() {}
	stored := filepath.Join(f.s.cfg.DataDir, "bin", "sha256-"+t.SHA256)
	if _, err := os.Stat(stored); err == nil {
		return stored, none, nil
	}
	var known []string // binaries this agent ran (its first, say) with that digest
	f.mu.Lock()
	for path, fs := range f.sums {
		if fs.sum == t.SHA256 {
			known = append(known, path)
		}
	}
	f.mu.Unlock()
	for _, path := range known {
		if got, err := f.sum(path); err == nil && got == t.SHA256 {
			return path, none, nil
		}
	}
	tmp, err := os.CreateTemp(f.s.cfg.DataDir, ".release-*")
	if err != nil {
		return "", none, err
	}
	cleanup := func() { os.Remove(tmp.Name()) }
	err = f.client.Download(ctx, t.SHA256, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err != nil {
		cleanup()
		return "", none, err
	}
	return tmp.Name(), cleanup, nil
}

func (f *follower) set(state string, target *release.Version, reason string) {
	f.mu.Lock()
	f.state, f.target, f.reason = state, target, reason
	f.mu.Unlock()
	f.s.update(func(st *Status) { st.Follow.State, st.Follow.Target, st.Follow.Reason = state, target, reason })
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// running is the version the sidecar runs now.
func (f *follower) running() release.Version {
	st := f.s.Status()
	if st.Sidecar == nil {
		return release.Version{}
	}
	sum, err := f.sum(st.Sidecar.Binary)
	if err != nil {
		f.s.cfg.Log.Warn("agent: the sidecar's binary has no digest", "binary", st.Sidecar.Binary, "err", err)
	}
	return release.Version{Version: st.Sidecar.Version, SHA256: sum}
}

// sum is the SHA-256 of a binary: from its name when the agent stored it,
// else read (once per size and modification time).
func (f *follower) sum(path string) (string, error) {
	if name, ok := strings.CutPrefix(filepath.Base(path), "sha256-"); ok && filepath.Dir(path) == filepath.Join(f.s.cfg.DataDir, "bin") {
		return name, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	c, ok := f.sums[path]
	f.mu.Unlock()
	if ok && c.size == fi.Size() && c.modTime.Equal(fi.ModTime()) {
		return c.sum, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	f.mu.Lock()
	f.sums[path] = fileSum{size: fi.Size(), modTime: fi.ModTime(), sum: sum}
	f.mu.Unlock()
	return sum, nil
}

// report sends the node report; a failure is logged (the next one will
// carry the news).
func (f *follower) report(ctx context.Context) {
	rep := f.nodeReport(ctx)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := f.client.Report(rctx, rep)
	if err != nil && ctx.Err() == nil {
		f.s.cfg.Log.Warn("agent: reporting to the control plane failed", "err", err)
	}
	f.s.update(func(st *Status) {
		now := time.Now()
		st.Follow.LastReport, st.Follow.ReportError = &now, errString(err)
	})
}

// nodeReport reads the sidecar's health and resource use.
func (f *follower) nodeReport(ctx context.Context) release.Report {
	st := f.s.Status()
	rep := release.Report{Node: f.cfg.Node, App: f.cfg.App, Zone: f.cfg.Zone, State: release.NodeNotReady,
		Version: f.running(), Restarts: st.Restarts, AgentState: st.State, At: time.Now().UTC()}
	if sc := st.Sidecar; sc != nil && sc.Admin != "" {
		rep.PID = sc.PID
		rep.Ready = adminOK(ctx, sc.Admin, "/ready")
		if rep.Ready && st.State == StateRunning {
			rep.State = release.NodeReady
		}
		if stats, err := readStats(ctx, sc.Admin); err == nil {
			rep.Requests, rep.Errors = stats["downstream.requests"], stats["downstream.error_responses"]
		}
		rep.ConfigVersion = configVersion(ctx, sc.Admin)
		rep.CPUSeconds, rep.RSSBytes = procUsage(sc.PID)
	}
	f.mu.Lock()
	if f.state != "" {
		rep.State = f.state
	}
	rep.Target, rep.Reason = f.target, f.reason
	f.mu.Unlock()
	return rep
}

var adminClient = &http.Client{Timeout: 5 * time.Second}

func adminOK(ctx context.Context, admin, path string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+path, nil)
	if err != nil {
		return false
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func configVersion(ctx context.Context, admin string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/config_dump", nil)
	if err != nil {
		return ""
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var d struct {
		Version string `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&d) != nil {
		return ""
	}
	return d.Version
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// procUsage reads a process's CPU time (user+system) and resident memory.
func procUsage(pid int) (cpuSeconds float64, rss uint64) {
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			// Fields after the command: f[0] is field 3; utime and stime
			// are fields 14 and 15.
			if f := strings.Fields(string(b[i+1:])); len(f) > 12 {
				u, _ := strconv.ParseUint(f[11], 10, 64)
				s, _ := strconv.ParseUint(f[12], 10, 64)
				cpuSeconds = float64(u+s) / clockTicks
			}
		}
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kb * 1024
			}
		}
	}
	return cpuSeconds, rss
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
