package pilot

import (
	"math"
	"sync"
	"time"
)

// lastPushSpan is how long after a change lastPush counts its ACKs to the
// millisecond; later ones are counted together.
const lastPushSpan = 10 * time.Second

// lastPush follows the latest push to its ACKs exactly: for the newest
// change a session has ACKed (by the time it reached the Data Cache), how
// many sessions ACKed it in each millisecond after. Unlike PushAcked's
// buckets (a quarter wide) it gives a push's quantiles to the millisecond,
// and, shifted by each pilot's Data Cache time, lets several pilots' ACKs
// be merged into one exact distribution (GET /debug/push).
type lastPush struct {
	mu      sync.Mutex
	changed int64    // the change's Data Cache time, Unix ns; 0 before any push
	ms      []uint32 // ACKs in each millisecond after changed
	later   uint64   // ACKs lastPushSpan or more after changed
	acked   uint64
}

// ack records a session's ACK at now (Unix ns) of a push whose change
// reached the Data Cache at changed. A newer change starts a new record;
// ACKs of older ones are not counted.
func (l *lastPush) ack(changed, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if changed > l.changed {
		if l.ms == nil {
			l.ms = make([]uint32, lastPushSpan/time.Millisecond)
		}
		clear(l.ms)
		l.changed, l.later, l.acked = changed, 0, 0
	}
	if changed != l.changed {
		return
	}
	l.acked++
	if i := (now - changed) / int64(time.Millisecond); i < 0 {
		l.ms[0]++
	} else if i < int64(len(l.ms)) {
		l.ms[i]++
	} else {
		l.later++
	}
}

// PushAcks is the latest push's ACKs: how many sessions ACKed it in each
// millisecond after its change reached the Data Cache.
type PushAcks struct {
	// ChangedUnixUS is when the change reached the Data Cache (Unix µs);
	// 0 if no push has been ACKed yet.
	ChangedUnixUS int64 `json:"changed_unix_us"`
	// Acked is the number of sessions that ACKed it.
	Acked uint64 `json:"acked"`
	// AckMS[i] sessions ACKed it between i and i+1 ms after ChangedUnixUS
	// (trailing zeros left off), Later 10 s or more after.
	AckMS []uint32 `json:"ack_ms"`
	Later uint64   `json:"later"`
}

// snapshot returns a copy of the record.
func (l *lastPush) snapshot() PushAcks {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.ms)
	for n > 0 && l.ms[n-1] == 0 {
		n--
	}
	return PushAcks{
		ChangedUnixUS: l.changed / int64(time.Microsecond),
		Acked:         l.acked,
		AckMS:         append([]uint32{}, l.ms[:n]...),
		Later:         l.later,
	}
}

// Quantile returns the time after the change by which a fraction q of the
// sessions that ACKed had done so, to the millisecond above; -1 if it
// falls among the Later ones, 0 without ACKs.
func (p PushAcks) Quantile(q float64) time.Duration {
	if p.Acked == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(p.Acked))), 1) // nearest rank
	var sum uint64
	for i, c := range p.AckMS {
		if sum += uint64(c); sum >= rank {
			return time.Duration(i+1) * time.Millisecond
		}
	}
	return -1
}
