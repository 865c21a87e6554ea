package scanner

import (
	"context"

	"github.com/octomesh/octomesh/api/scanner"
)

// confirm is the double check: t failed Fall checks in a row (or a pilot's
// check-now found it failing), so the next scanners on the ring are asked
// to check it too. The first that answers decides: down, and t is marked
// down naming both; up, and t starts counting again. If none answers
// (frozen, partitioned), nothing is marked: the next failure asks again.
// A scanner alone in its zone checks again itself, on a new connection (a
// second path through the network stack, though not through another
// machine).
func (s *Scanner) confirm(t *target, first error) {
	defer func() {
		s.mu.Lock()
		t.confirming = false
		s.mu.Unlock()
	}()
	s.mu.Lock()
	peers := s.inv.confirmers(t.addr)
	s.mu.Unlock()
	s.Stats.Confirms.Add(1)
	var verdict *scanner.ConfirmResponse
	for _, p := range peers {
		if p.HTTP == "" {
			continue
		}
		resp, err := s.client.Confirm(s.ctx, p.HTTP, scanner.ConfirmRequest{Address: t.addr, From: s.opts.ID})
		if err != nil {
			s.log.Info("scanner: a confirmer did not answer", "confirmer", p.ID, "address", t.addr, "err", err)
			continue
		}
		verdict = &resp
		break
	}
	if verdict == nil && len(peers) == 0 {
		r := s.secondOpinion(t.addr)
		verdict = &r
	}
	switch {
	case verdict == nil:
		s.Stats.Unconfirmed.Add(1)
	case !verdict.Down:
		s.Stats.Refuted.Add(1)
		s.log.Info("scanner: a failure was not confirmed", "address", t.addr, "confirmer", verdict.Scanner, "first", first)
		s.mu.Lock()
		t.fails = 0
		s.mu.Unlock()
	default:
		s.Stats.Confirmed.Add(1)
		s.mu.Lock()
		if t.gone || s.inv.down(t.addr) || t.writing {
			s.mu.Unlock()
			return
		}
		t.writing = true
		m := s.markFor(t, verdict.Scanner, first)
		s.mu.Unlock()
		s.mark(t, m, false)
	}
}

// secondOpinion checks addr at once on a connection of its own (not the
// kept one), for a confirmation.
func (s *Scanner) secondOpinion(addr string) scanner.ConfirmResponse {
	var pc *probeConn
	err := probe(&pc, addr, s.opts.Timeout)
	pc.close()
	s.Stats.Checks.Add(1)
	out := scanner.ConfirmResponse{Scanner: s.opts.ID, Down: err != nil}
	if err != nil {
		s.Stats.Failures.Add(1)
		out.Error = err.Error()
	}
	return out
}

// confirmFor answers another scanner's request for a second opinion.
func (s *Scanner) confirmFor(_ context.Context, req scanner.ConfirmRequest) scanner.ConfirmResponse {
	s.Stats.ConfirmsServed.Add(1)
	return s.secondOpinion(req.Address)
}
