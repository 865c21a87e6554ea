package agent

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/api/release"
)

// Config is what a Supervisor runs and how it watches it.
type Config struct {
	// Binary is the sidecar binary; Args its arguments (`proxy --config
	// FILE ...`). The agent adds --ready-fd, and --hot-restart to switch.
	Binary string
	Args   []string
	// DataDir holds the state file and the stored binaries.
	DataDir string
	// ReadyTimeout bounds a start or a switch; StopGrace how long a
	// stopping sidecar may drain before it is killed.
	ReadyTimeout, StopGrace time.Duration
	Backoff                 Backoff
	// Liveness: GET /healthz on the sidecar's admin endpoint every
	// LivenessInterval; LivenessFailures in a row (each a failure or no
	// answer within LivenessTimeout) and the sidecar is killed and
	// restarted. A zero interval turns it off.
	LivenessInterval, LivenessTimeout time.Duration
	LivenessFailures                  int
	// After a switch, a new version whose downstream.error_responses over
	// downstream.requests exceeds MaxErrorRate (once it has MinRequests)
	// within WatchWindow, or which exits, is rolled back.
	WatchWindow  time.Duration
	MaxErrorRate float64
	MinRequests  uint64
	// PublicKey, when set, must verify every upgrade's signature.
	PublicKey ed25519.PublicKey
	// Output receives the sidecar's stdout and stderr.
	Output *os.File
	Log    *slog.Logger
}

// Sidecar states in Status.State.
const (
	StateStarting   = "starting"
	StateRunning    = "running"
	StateRestarting = "restarting" // waiting out the backoff after a crash
	StateCrashLoop  = "crash_loop" // restarting, CrashLoopAfter crashes in a row
	StateUpgrading  = "upgrading"
	StateStopped    = "stopped"
)

// Status is what GET /status answers.
type Status struct {
	State   string         `json:"state"`
	Sidecar *SidecarStatus `json:"sidecar,omitempty"`
	// Restarts counts restarts after crashes (kept across agents);
	// ConsecutiveCrashes those since the sidecar last ran stably.
	Restarts           int            `json:"restarts"`
	ConsecutiveCrashes int            `json:"consecutive_crashes"`
	CrashLoop          bool           `json:"crash_loop"`
	LastExit           string         `json:"last_exit,omitempty"`
	LastExitAt         *time.Time     `json:"last_exit_at,omitempty"`
	NextRestartAt      *time.Time     `json:"next_restart_at,omitempty"`
	LastUpgrade        *UpgradeResult `json:"last_upgrade,omitempty"`
	// Follow is set while the agent follows the control plane's releases.
	Follow *FollowStatus `json:"follow,omitempty"`
}

// FollowStatus is how following the control plane goes.
type FollowStatus struct {
	ControlPlane string `json:"control_plane"`
	Node         string `json:"node"`
	// Target is the last target the agent acted on (or acts on now),
	// State its step or outcome, as reported.
	Target *release.Version `json:"target,omitempty"`
	State  string           `json:"state,omitempty"`
	Reason string           `json:"reason,omitempty"`
	// The last poll's and report's time and error, if it failed.
	LastPoll    *time.Time `json:"last_poll,omitempty"`
	PollError   string     `json:"poll_error,omitempty"`
	LastReport  *time.Time `json:"last_report,omitempty"`
	ReportError string     `json:"report_error,omitempty"`
}

// SidecarStatus is the serving sidecar process.
type SidecarStatus struct {
	PID       int               `json:"pid"`
	Binary    string            `json:"binary"`
	Version   string            `json:"version,omitempty"`
	Admin     string            `json:"admin,omitempty"`
	Listeners map[string]string `json:"listeners,omitempty"`
	StartedAt time.Time         `json:"started_at"`
	// Adopted: started by an earlier agent, watched by polling.
	Adopted bool `json:"adopted"`
}

// Upgrade outcomes.
const (
	Upgraded   = "upgraded"
	RolledBack = "rolled_back"
	Rejected   = "rejected"
)

// UpgradeResult says how an upgrade went.
type UpgradeResult struct {
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason,omitempty"`
	FromVersion string `json:"from_version,omitempty"`
	ToVersion   string `json:"to_version,omitempty"`
	FromBinary  string `json:"from_binary,omitempty"`
	ToBinary    string `json:"to_binary,omitempty"`
	// PID serves now.
	PID int `json:"pid,omitempty"`
	// What the watch window saw on the new version.
	Requests uint64    `json:"requests"`
	Errors   uint64    `json:"errors"`
	At       time.Time `json:"at"`
}

// Supervisor keeps one sidecar running (see the package doc).
type Supervisor struct {
	cfg      Config
	upgrades chan upgradeRequest
	hung     chan *process
	detach   chan struct{}
	detached sync.Once
	started  chan struct{} // closed once a sidecar first serves
	startOne sync.Once
	stopped  chan struct{} // closed when Run returns

	mu     sync.Mutex
	status Status

	// Owned by Run's goroutine.
	cur         *process
	restarts    int
	consecutive int
}

type upgradeRequest struct {
	art   artifact
	reply chan UpgradeResult
}

// New returns a Supervisor; Run starts it.
func New(cfg Config) (*Supervisor, error) {
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Binary = exe
	}
	if cfg.DataDir == "" {
		return nil, errors.New("agent: no data dir")
	}
	if cfg.Output == nil {
		cfg.Output = os.Stderr
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Backoff.Initial <= 0 {
		cfg.Backoff.Initial = 200 * time.Millisecond
	}
	if cfg.Backoff.Max < cfg.Backoff.Initial {
		cfg.Backoff.Max = max(30*time.Second, cfg.Backoff.Initial)
	}
	if cfg.Backoff.CrashLoopAfter <= 0 {
		cfg.Backoff.CrashLoopAfter = 5
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 30 * time.Second
	}
	if cfg.LivenessFailures <= 0 {
		cfg.LivenessFailures = 3
	}
	if cfg.LivenessTimeout <= 0 {
		cfg.LivenessTimeout = 5 * time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("agent: data dir: %w", err)
	}
	return &Supervisor{
		cfg:      cfg,
		upgrades: make(chan upgradeRequest),
		hung:     make(chan *process),
		detach:   make(chan struct{}),
		started:  make(chan struct{}),
		stopped:  make(chan struct{}),
		status:   Status{State: StateStarting},
	}, nil
}

// Started is closed once a sidecar serves (started or adopted).
func (s *Supervisor) Started() <-chan struct{} { return s.started }

// Status returns the current status.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	if st.Sidecar != nil {
		sc := *st.Sidecar
		st.Sidecar = &sc
	}
	if st.Follow != nil {
		f := *st.Follow
		st.Follow = &f
	}
	return st
}

func (s *Supervisor) update(f func(*Status)) {
	s.mu.Lock()
	f(&s.status)
	s.mu.Unlock()
}

// Detach makes Run return and leave the sidecar serving, for the next
// agent to adopt.
func (s *Supervisor) Detach() { s.detached.Do(func() { close(s.detach) }) }

// Run adopts the sidecar of the state file if it still runs, else starts
// one, and keeps it running until ctx is done (then it stops the sidecar:
// SIGTERM, drain, at most StopGrace) or Detach is called (then it leaves
// it serving).
func (s *Supervisor) Run(ctx context.Context) error {
	defer close(s.stopped)
	log := s.cfg.Log
	st, err := readState(s.cfg.DataDir)
	if err != nil {
		log.Warn("agent: ignoring the state file", "err", err)
	}
	s.restarts = st.Restarts
	if st.PID != 0 {
		p, err := adoptProcess(st, s.stopped)
		if err == nil {
			log.Info("agent: adopted the running sidecar", "pid", p.pid, "binary", p.binary, "version", p.ready.Version, "admin", p.ready.Admin)
			s.serve(p)
		} else {
			log.Info("agent: not adopting", "reason", err)
		}
	}
	if s.cur == nil {
		p, err := s.startProcess(s.cfg.Binary, false)
		if err != nil {
			log.Error("agent: sidecar did not start", "err", err)
			if !s.restart(ctx, err.Error()) {
				return nil
			}
		} else {
			s.serve(p)
		}
	}
	for {
		select {
		case <-ctx.Done():
			s.update(func(st *Status) { st.State = "stopping" })
			log.Info("agent: stopping the sidecar", "pid", s.cur.pid)
			s.cur.stop(context.Background(), s.cfg.StopGrace)
			s.update(func(st *Status) { st.State = StateStopped })
			return nil
		case <-s.detach:
			log.Info("agent: leaving the sidecar running", "pid", s.cur.pid)
			return nil
		case <-s.cur.done:
			p := s.cur
			log.Error("agent: sidecar exited", "pid", p.pid, "exit", fmt.Sprint(p.exitErr), "ran", time.Since(p.startedAt).Round(time.Millisecond))
			if !s.restart(ctx, fmt.Sprint(p.exitErr)) {
				return nil
			}
		case p := <-s.hung:
			if p == s.cur {
				log.Error("agent: sidecar failed its liveness checks: killing it", "pid", p.pid, "failures", s.cfg.LivenessFailures)
				_ = p.signal(syscall.SIGKILL) // its exit is the next event
			}
		case req := <-s.upgrades:
			req.reply <- s.switchTo(ctx, req.art)
		}
	}
}

// startProcess starts bin as the sidecar, hot (taking over from the one
// serving) or not.
func (s *Supervisor) startProcess(bin string, hot bool) (*process, error) {
	args := s.cfg.Args
	if hot {
		args = append(append([]string(nil), args...), "--hot-restart")
	}
	return startProcess(bin, args, s.cfg.Output, s.cfg.ReadyTimeout)
}

// serve makes p the watched sidecar and records it.
func (s *Supervisor) serve(p *process) {
	s.cur = p
	if err := writeState(s.cfg.DataDir, State{PID: p.pid, StartTime: p.startTime, Binary: p.binary, Version: p.ready.Version,
		Admin: p.ready.Admin, Listeners: p.ready.Listeners, StartedAt: p.startedAt, Restarts: s.restarts}); err != nil {
		s.cfg.Log.Error("agent: writing the state file: a restarted agent will not adopt this sidecar", "err", err)
	}
	s.update(func(st *Status) {
		st.State = StateRunning
		if s.consecutive >= s.cfg.Backoff.CrashLoopAfter {
			st.State = StateCrashLoop // serving, but not yet stably
		}
		st.NextRestartAt = nil
		st.Restarts = s.restarts
		st.Sidecar = &SidecarStatus{PID: p.pid, Binary: p.binary, Version: p.ready.Version, Admin: p.ready.Admin,
			Listeners: p.ready.Listeners, StartedAt: p.startedAt, Adopted: p.adopted}
	})
	go s.watchLiveness(p)
	s.startOne.Do(func() { close(s.started) })
}

// restart starts the sidecar again after it exited (why), waiting out the
// backoff before each try. It returns false when ctx ended first.
func (s *Supervisor) restart(ctx context.Context, why string) bool {
	log := s.cfg.Log
	bin := s.cfg.Binary
	if s.cur != nil {
		bin = s.cur.binary // the version that ran, upgraded or not
		if time.Since(s.cur.startedAt) >= s.cfg.Backoff.StableAfter && s.cfg.Backoff.StableAfter > 0 {
			s.consecutive = 0
		}
	}
	for {
		s.consecutive++
		s.restarts++
		delay := s.cfg.Backoff.delay(s.consecutive)
		loop := s.consecutive >= s.cfg.Backoff.CrashLoopAfter
		now := time.Now()
		next := now.Add(delay)
		s.update(func(st *Status) {
			st.State = StateRestarting
			if loop {
				st.State = StateCrashLoop
			}
			st.CrashLoop, st.Restarts, st.ConsecutiveCrashes = loop, s.restarts, s.consecutive
			st.LastExit, st.LastExitAt, st.NextRestartAt = why, &now, &next
			st.Sidecar = nil
		})
		if loop {
			log.Error("agent: sidecar in a crash loop", "crashes_in_a_row", s.consecutive, "last_exit", why, "next_try_in", delay)
		} else {
			log.Warn("agent: restarting the sidecar", "crashes_in_a_row", s.consecutive, "in", delay)
		}
		if !s.wait(ctx, delay) {
			return false
		}
		p, err := s.startProcess(bin, false)
		if err == nil {
			log.Info("agent: sidecar restarted", "pid", p.pid, "restarts", s.restarts)
			s.serve(p)
			return true
		}
		why = err.Error()
		log.Error("agent: sidecar did not start", "err", err)
	}
}

// wait waits d, refusing upgrades meanwhile; false when ctx ended.
func (s *Supervisor) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.update(func(st *Status) { st.State = StateStopped })
			return false
		case <-s.detach:
			return false
		case req := <-s.upgrades:
			req.reply <- UpgradeResult{Outcome: Rejected, Reason: "agent: no sidecar is running (waiting to restart it after a crash): nothing to upgrade", At: time.Now()}
		case <-t.C:
			return true
		}
	}
}

// watchLiveness checks p's /healthz until it exits; it reports p on
// s.hung after LivenessFailures failures in a row.
func (s *Supervisor) watchLiveness(p *process) {
	if p.ready.Admin == "" || s.cfg.LivenessInterval <= 0 {
		return
	}
	client := &http.Client{Timeout: s.cfg.LivenessTimeout}
	t := time.NewTicker(s.cfg.LivenessInterval)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-p.done:
			return
		case <-s.stopped:
			return
		case <-t.C:
		}
		resp, err := client.Get("http://" + p.ready.Admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				failures = 0
				continue
			}
			err = errors.New(resp.Status)
		}
		failures++
		s.cfg.Log.Warn("agent: sidecar liveness check failed", "pid", p.pid, "err", err, "in_a_row", failures)
		if failures >= s.cfg.LivenessFailures {
			select {
			case s.hung <- p:
			case <-p.done:
			case <-s.stopped:
			}
			return
		}
	}
}

// readStats reads a sidecar's counters from its admin endpoint.
func readStats(ctx context.Context, admin string) (map[string]uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	m := map[string]uint64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if n, err := strconv.ParseUint(val, 10, 64); ok && err == nil {
			m[name] = n
		}
	}
	return m, sc.Err()
}
