package meta

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	api "github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/shardmap"
)

// Early death. A pilot that dies without draining keeps its apps until its
// membership lease runs out (plus shardmap.RemovalGrace): 15-18s with a 15s
// lease, during which its sidecars wait on Meta (avoid=). Meta shortens
// that when it can tell the pilot is gone rather than slow:
//
//   - a sidecar that asks with avoid=P while P still owns the app is a
//     report that P failed it twice in a row (proxy/xds); it starts one
//     probe round for P (one at a time per pilot, none within
//     probeCooldown of a round that found P alive);
//   - a round opens probeAttempts TCP (or Unix socket) connections to P's
//     advertised xDS address, probeInterval apart; only a connection
//     refused counts (no process listens there). A pilot that is alive but
//     slow still completes the handshake (the kernel does, from its listen
//     queue), and a full queue drops the SYN (a timeout): neither counts,
//     and the round ends at the first such answer;
//   - refused every time: Meta evicts P (store.Evict): it marks P's record
//     draining, under P's own lease and only if the record is still the
//     one probed (same start time and address: not a restarted P), then
//     revokes the lease. Every View (Meta's, every pilot's) sees a drain:
//     P's apps move at once, and the waiting sidecars are answered.
//
// A false death (P alive but refusing, e.g. its listener gone) costs a
// double move: P's renewals fail once its lease is revoked, it writes its
// key again under a new one (store.Membership), and its apps move back, as
// when a pilot returns.
const (
	probeAttempts = 3
	probeInterval = 250 * time.Millisecond
	probeTimeout  = time.Second
	probeCooldown = 2 * time.Second
)

// DeathStats counts the probes of pilots that sidecars reported.
type DeathStats struct {
	// Rounds counts probe rounds; Alive the rounds that found the pilot
	// answering (or not refusing); Evictions the pilots evicted.
	Rounds, Alive, Evictions atomic.Uint64
}

// suspects runs at most one probe round per pilot at a time.
type suspects struct {
	mu    sync.Mutex
	state map[string]suspect // by pilot id
}

type suspect struct {
	running bool
	until   time.Time // no new round before this (the last found it alive)
}

// report is a sidecar's avoid=P for an app that P still owns: it starts a
// probe round for P unless one is running or P was found alive lately.
func (s *Server) report(p api.PilotInfo) {
	if s.store == nil || p.Draining {
		return
	}
	s.suspects.mu.Lock()
	if s.suspects.state == nil {
		s.suspects.state = map[string]suspect{}
	}
	st := s.suspects.state[p.ID]
	if st.running || time.Now().Before(st.until) {
		s.suspects.mu.Unlock()
		return
	}
	s.suspects.state[p.ID] = suspect{running: true}
	s.suspects.mu.Unlock()
	go s.probe(p)
}

func (s *Server) probe(p api.PilotInfo) {
	s.Deaths.Rounds.Add(1)
	dead := s.refusesEveryTime(p.XDS)
	evicted := false
	if dead {
		evicted = s.evict(p)
	} else {
		s.Deaths.Alive.Add(1)
	}
	s.suspects.mu.Lock()
	st := suspect{}
	if !evicted {
		st.until = time.Now().Add(probeCooldown)
	}
	s.suspects.state[p.ID] = st
	s.suspects.mu.Unlock()
}

// refusesEveryTime connects to a pilot's xDS address probeAttempts times:
// true if every attempt was refused.
func (s *Server) refusesEveryTime(address string) bool {
	network, addr, err := config.ParseAddress(address)
	if err != nil {
		return false
	}
	d := net.Dialer{Timeout: probeTimeout}
	for i := range probeAttempts {
		if i > 0 {
			t := time.NewTimer(probeInterval)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
		}
		conn, err := d.DialContext(s.ctx, network, addr)
		if err == nil {
			_ = conn.Close()
			return false
		}
		if !refused(network, err) {
			return false
		}
	}
	return true
}

// refused: nothing listens at the address (TCP: a reset to the SYN; Unix:
// no listener on the socket, or no socket).
func refused(network string, err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || (network == "unix" && errors.Is(err, syscall.ENOENT))
}

// evict marks p's record draining and revokes its lease, if the record is
// still the p that was probed.
func (s *Server) evict(p api.PilotInfo) bool {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	ok, err := s.store.Evict(ctx, shardmap.PilotKey(p.ID), func(old []byte) ([]byte, bool) {
		cur, err := shardmap.DecodePilot(old)
		if err != nil || cur.Draining || cur.XDS != p.XDS || !cur.Started.Equal(p.Started) {
			return nil, false // restarted, draining or changed: not the pilot probed
		}
		cur.Draining = true
		b, err := json.Marshal(cur)
		return b, err == nil
	})
	if err != nil {
		s.log.Warn("meta: cannot evict a pilot that refuses connections; its apps move when its lease runs out", "pilot", p.ID, "err", err)
		return false
	}
	if ok {
		s.Deaths.Evictions.Add(1)
		s.log.Warn("meta: pilot refuses connections; evicted it before its lease runs out", "pilot", p.ID, "xds", p.XDS)
	}
	return ok
}
