package scanner

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/stats"
)

// Stats counts a scanner's work.
type Stats struct {
	// Owned is the number of sidecar addresses it checks now.
	Owned atomic.Int64
	// Checks counts checks made (periodic, fast path and confirmations);
	// Failures the failed ones; Skipped the periodic checks not started
	// because the previous one of that address still ran or MaxChecks
	// were in flight.
	Checks, Failures, Skipped atomic.Uint64
	// FastChecks counts the pilots' check-now requests.
	FastChecks atomic.Uint64
	// Confirms counts the second opinions asked; Confirmed those that
	// agreed (the address was marked), Refuted those that disagreed, and
	// Unconfirmed those nobody answered (nothing was marked).
	Confirms, Confirmed, Refuted, Unconfirmed atomic.Uint64
	// ConfirmsServed counts second opinions given to other scanners.
	ConfirmsServed atomic.Uint64
	// Marked counts addresses marked down; Cleared those marked up again;
	// Orphans the marks deleted because their instance left.
	Marked, Cleared, Orphans atomic.Uint64
	// MarkErrors counts failed writes of marks (retried at the next check).
	MarkErrors atomic.Uint64
	// Notices counts health notices published (Options.NATSURL);
	// NoticeErrors those that could not be (NATS away, queue full).
	Notices, NoticeErrors atomic.Uint64
	// IdentityRefused counts requests refused because of the caller's
	// certificate (Options.HTTPTLS): a check-now not from a pilot, a
	// confirm not from a scanner.
	IdentityRefused atomic.Uint64
	// Down is the number of marked addresses this scanner owns.
	Down atomic.Int64
	// CheckTime is the time each check took.
	CheckTime stats.Histogram
}

// run starts each period's checks, one slice of the owned addresses every
// Period/slices, until the scanner stops. The slice due is read from the
// clock, not counted from ticks: a scanner starved of CPU (ticks dropped)
// starts the slices it missed at its next tick, at most one period's.
func (s *Scanner) run() {
	defer close(s.loop)
	step := s.opts.Period / slices
	tick := time.NewTicker(step)
	defer tick.Stop()
	began := time.Now()
	last := int64(0) // slices started so far
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		now := int64(time.Since(began) / step)
		from := max(last, now-slices)
		last = now
		s.mu.Lock()
		var due []*target
		for n := from; n < now; n++ {
			for _, t := range s.inv.owned[n%slices] {
				if t.checking {
					s.Stats.Skipped.Add(1)
					continue
				}
				due = append(due, t)
			}
		}
		s.mu.Unlock()
		for _, t := range due {
			s.start(t, false)
		}
	}
}

// start runs one check of t in a goroutine of its own, unless one runs
// already or MaxChecks are in flight. fast marks a pilot's check-now: a
// failure then goes to the double check at once.
func (s *Scanner) start(t *target, fast bool) bool {
	select {
	case s.slots <- struct{}{}:
	default:
		s.Stats.Skipped.Add(1)
		return false
	}
	s.mu.Lock()
	if t.checking || t.gone {
		s.mu.Unlock()
		<-s.slots
		return false
	}
	t.checking = true
	s.mu.Unlock()
	go func() {
		defer func() { <-s.slots }()
		began := time.Now()
		err := probe(&t.conn, t.addr, s.opts.Timeout)
		s.Stats.CheckTime.Record(time.Since(began))
		s.result(t, err, fast)
	}()
	return true
}

// result moves t's state on with a check's outcome.
func (s *Scanner) result(t *target, err error, fast bool) {
	s.Stats.Checks.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	t.checking = false
	if t.gone || s.ctx.Err() != nil {
		t.conn.close()
		return
	}
	if !s.inv.owns(t.addr, t.zone) {
		t.fails, t.oks = 0, 0
		return
	}
	down := s.inv.down(t.addr)
	if err == nil {
		t.fails, t.lastErr = 0, ""
		t.oks++
		if down && t.oks >= s.opts.Rise && !t.writing {
			t.writing = true
			go s.clear(t)
		}
		return
	}
	s.Stats.Failures.Add(1)
	t.oks, t.lastErr = 0, err.Error()
	t.fails++
	switch {
	case down:
		if !t.writing && len(s.inv.marks[t.addr]) < len(t.services) {
			// A service registered at the address since the mark (a new
			// registration clears its own mark): mark it too.
			t.writing = true
			go s.mark(t, s.markFor(t, "", err), true)
		}
	case (t.fails >= s.opts.Fall || fast) && !t.confirming:
		t.confirming = true
		go s.confirm(t, err)
	}
}

// markFor is t's mark (without the service), under s.mu.
func (s *Scanner) markFor(t *target, confirmer string, err error) registry.HealthMark {
	m := registry.HealthMark{Address: t.addr, Scanner: s.opts.ID, Confirmer: confirmer, Since: time.Now().UTC()}
	if err != nil {
		m.Reason = err.Error()
	}
	return m
}

// mark writes the mark m for every service at t's address; missingOnly
// keeps the marks that exist.
func (s *Scanner) mark(t *target, m registry.HealthMark, missingOnly bool) {
	s.mu.Lock()
	services := t.serviceList()
	have := s.inv.marks[t.addr]
	s.mu.Unlock()
	wrote := false
	for _, svc := range services {
		if _, ok := have[svc]; ok && missingOnly {
			continue
		}
		m.Service = svc
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		ok, err := s.Store.PutHealthMark(ctx, m)
		cancel()
		if err != nil {
			s.Stats.MarkErrors.Add(1)
			s.log.Warn("scanner: cannot write a health mark", "service", svc, "address", t.addr, "err", err)
			continue
		}
		if ok {
			s.notify(svc, t.addr)
		}
		wrote = wrote || ok
	}
	if wrote && !missingOnly {
		s.Stats.Marked.Add(1)
		s.log.Info("scanner: marked down", "address", t.addr, "services", services, "confirmer", m.Confirmer, "reason", m.Reason)
	}
	s.mu.Lock()
	t.writing = false
	s.mu.Unlock()
}

// clear deletes t's marks: it passed Rise checks in a row.
func (s *Scanner) clear(t *target) {
	s.mu.Lock()
	var services []string
	for svc := range s.inv.marks[t.addr] {
		services = append(services, svc)
	}
	s.mu.Unlock()
	ok := true
	for _, svc := range services {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		if err := s.Store.ClearHealthMark(ctx, svc, t.addr); err != nil {
			ok = false
			s.Stats.MarkErrors.Add(1)
			s.log.Warn("scanner: cannot clear a health mark", "service", svc, "address", t.addr, "err", err)
		} else {
			s.notify(svc, t.addr)
		}
		cancel()
	}
	if ok {
		s.Stats.Cleared.Add(1)
		s.log.Info("scanner: marked up", "address", t.addr, "services", services)
	}
	s.mu.Lock()
	t.writing = false
	s.mu.Unlock()
}

// clearOrphan deletes the mark of an instance that left the registry.
func (s *Scanner) clearOrphan(m registry.HealthMark) {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if ok, err := s.Store.ClearOrphanMark(ctx, m.Service, m.Address); err == nil && ok {
		s.notify(m.Service, m.Address)
		s.Stats.Orphans.Add(1)
	}
}
