package agent

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Upgrade fetches and verifies t, then replaces the running sidecar with
// it through the hot restart, watches it, and rolls back to the previous
// binary if it does not become ready, exits, or answers too many errors
// within the watch window. A bad target is refused with an error wrapping
// ErrBadTarget and changes nothing; otherwise the result says what
// happened (Upgraded or RolledBack).
func (s *Supervisor) Upgrade(ctx context.Context, t Target) (UpgradeResult, error) {
	art, err := fetch(ctx, s.cfg.DataDir, t, s.cfg.PublicKey)
	if err != nil {
		res := UpgradeResult{Outcome: Rejected, Reason: err.Error(), At: time.Now()}
		s.update(func(st *Status) { st.LastUpgrade = &res })
		return res, err
	}
	req := upgradeRequest{art: art, reply: make(chan UpgradeResult, 1)}
	select {
	case s.upgrades <- req:
	case <-ctx.Done():
		return UpgradeResult{}, ctx.Err()
	case <-s.stopped:
		return UpgradeResult{}, errors.New("agent: stopped")
	}
	res := <-req.reply // Run's goroutine always answers a request it took
	s.update(func(st *Status) { st.LastUpgrade = &res })
	return res, nil
}

// switchTo runs on Run's goroutine: hot restart to art, watch, roll back.
func (s *Supervisor) switchTo(ctx context.Context, art artifact) UpgradeResult {
	log := s.cfg.Log
	prev := s.cur
	res := UpgradeResult{FromVersion: prev.ready.Version, FromBinary: prev.binary, ToVersion: art.version, ToBinary: art.path}
	done := func(outcome, reason string) UpgradeResult {
		res.Outcome, res.Reason, res.At = outcome, reason, time.Now()
		res.PID = s.cur.pid
		if outcome == Upgraded {
			log.Info("agent: upgraded", "from", res.FromVersion, "to", res.ToVersion, "pid", res.PID, "requests", res.Requests, "errors", res.Errors)
		} else {
			log.Error("agent: upgrade rolled back", "from", res.FromVersion, "to", res.ToVersion, "reason", reason, "pid", res.PID)
		}
		return res
	}
	s.update(func(st *Status) { st.State = StateUpgrading })
	log.Info("agent: upgrading the sidecar", "from", prev.ready.Version, "to", art.version, "binary", art.path)
	next, err := s.startProcess(art.path, true)
	if err != nil {
		// The hand-over never completed: the old process serves on.
		s.update(func(st *Status) { st.State = StateRunning })
		return done(RolledBack, fmt.Sprintf("the new version did not become ready (%v); the previous one never stopped serving", err))
	}
	s.serve(next)
	res.Requests, res.Errors, err = s.watch(ctx, next)
	if err == nil {
		return done(Upgraded, "")
	}
	reason := err.Error()
	log.Error("agent: rolling back", "reason", reason)
	s.update(func(st *Status) { st.State = StateUpgrading })
	back, berr := s.startProcess(prev.binary, !next.exited())
	if berr != nil {
		// The new version serves on (or Run's loop restarts it).
		s.update(func(st *Status) { st.State = StateRunning })
		return done(RolledBack, fmt.Sprintf("%s; the rollback to %s failed too (%v): the new version serves", reason, prev.binary, berr))
	}
	s.serve(back)
	return done(RolledBack, reason)
}

// watch looks at a new process for the watch window: an exit or an error
// rate over the threshold is an error.
func (s *Supervisor) watch(ctx context.Context, p *process) (requests, errs uint64, err error) {
	if s.cfg.WatchWindow <= 0 {
		return 0, 0, nil
	}
	deadline := time.Now().Add(s.cfg.WatchWindow)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return requests, errs, fmt.Errorf("the new version exited in the watch window: %v", p.exitErr)
		case <-ctx.Done():
			return requests, errs, nil // the agent stops: keep what serves
		case <-t.C:
		}
		if p.ready.Admin != "" {
			if st, err := readStats(ctx, p.ready.Admin); err == nil {
				requests, errs = st["downstream.requests"], st["downstream.error_responses"]
				if requests >= s.cfg.MinRequests && requests > 0 && float64(errs) > s.cfg.MaxErrorRate*float64(requests) {
					return requests, errs, fmt.Errorf("the new version answered %d errors to %d requests, over the %.2f%% allowed", errs, requests, 100*s.cfg.MaxErrorRate)
				}
			}
		}
		if !time.Now().Before(deadline) {
			return requests, errs, nil
		}
	}
}
