package pilot

import (
	"testing"
	"time"
)

// TestLastPush counts the newest change's ACKs to the millisecond: a newer
// change starts over, ACKs of an older one are not counted, ACKs 10 s or
// more after go to Later, and a quantile is the millisecond it falls in.
func TestLastPush(t *testing.T) {
	var l lastPush
	if p := l.snapshot(); p.Acked != 0 || p.ChangedUnixUS != 0 || p.Quantile(0.99) != 0 {
		t.Fatalf("before any push: %+v", p)
	}
	ms := int64(time.Millisecond)
	t0 := time.Now().UnixNano()
	l.ack(t0, t0+5*ms) // replaced by the next change
	t1 := t0 + 1000*ms
	for i := range int64(100) {
		l.ack(t1, t1+i*ms+ms/2) // one ACK in each of the first 100 ms
	}
	l.ack(t0, t1+ms)                    // an older change's ACK
	l.ack(t1, t1+20*int64(time.Second)) // later than the span
	p := l.snapshot()
	if p.ChangedUnixUS != t1/1000 || p.Acked != 101 || p.Later != 1 || len(p.AckMS) != 100 {
		t.Fatalf("got changed %d acked %d later %d %d ms; want %d, 101, 1, 100", p.ChangedUnixUS, p.Acked, p.Later, len(p.AckMS), t1/1000)
	}
	// Nearest ranks of 101: 2, 51, 100, 101 (the later one).
	for q, want := range map[float64]time.Duration{0.01: 2 * time.Millisecond, 0.5: 51 * time.Millisecond, 0.99: 100 * time.Millisecond, 1: -1} {
		if got := p.Quantile(q); got != want {
			t.Errorf("quantile %v = %v, want %v", q, got, want)
		}
	}
	if a := testing.AllocsPerRun(100, func() { l.ack(t1, t1+3*ms) }); a != 0 {
		t.Errorf("an ACK allocates %v times", a)
	}
}
