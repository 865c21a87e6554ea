package upstream

import (
	"io"
	"net"
	"testing"
	"time"
)

// sweepUntil runs the cluster's sweeps, as the sidecar's sweeper does, until
// cond holds or a generous deadline passes.
func sweepUntil(t *testing.T, c *Cluster, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		c.Sweep()
		c.SweepIdle()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdleConnectionIsClosedAndTheNextRequestDials(t *testing.T) {
	const idle = 50 * time.Millisecond
	p := newPeer(t, shortDir(t), "p.sock")
	c, stats := newTestClusterWith(t, func(cfg *ClusterConfig) { cfg.IdleTimeout = idle }, p.addr)
	rec := newRecorder()

	// A call in flight longer than the idle timeout keeps its connection.
	forward(t, c, rec, 1, time.Minute)
	first := <-p.frames
	conn := <-p.conns
	start := time.Now()
	sweepUntil(t, c, "twice the idle timeout to pass", func() bool { return time.Since(start) > 2*idle })
	if n := stats.IdleClosed.Load(); n != 0 {
		t.Fatalf("IdleClosed = %d with a call in flight", n)
	}
	replyTo(t, conn, first)
	rec.wait(t)

	// Then, quiet, it is closed: the peer reads EOF.
	sweepUntil(t, c, "the idle connection to close", func() bool { return stats.IdleClosed.Load() == 1 })
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the peer's read after the idle close: %v, want EOF", err)
	}
	sweepUntil(t, c, "the connection to leave the pool", func() bool { return stats.ConnsOpen.Load() == 0 })

	// The next call dials a new connection and succeeds.
	forward(t, c, rec, 2, time.Minute)
	var again net.Conn
	select {
	case again = <-p.conns:
	case <-time.After(20 * time.Second):
		t.Fatal("no new connection after the idle close")
	}
	replyTo(t, again, <-p.frames)
	rec.wait(t)
	if len(rec.replies) != 2 || len(rec.failures) != 0 {
		t.Fatalf("replies %v failures %+v, want two replies", rec.replies, rec.failures)
	}
}
