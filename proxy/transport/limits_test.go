package transport

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readsEOF reports whether c was closed by the other side: a read ends with
// EOF or a reset instead of timing out.
func readsEOF(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

func echoOnce(t *testing.T, c net.Conn, seq int32) {
	t.Helper()
	f := frameOf(t, seq, 8)
	if _, err := c.Write(f); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, len(f))); err != nil {
		t.Fatalf("echo on %s: %v", c.LocalAddr(), err)
	}
}

func TestMaxConnsRefusesTheNextAndServesTheRest(t *testing.T) {
	const max = 3
	stats := &Stats{}
	opts := Options{MaxFrameSize: 64 << 10, FrameTimeout: time.Second, WriteTimeout: time.Second, MaxConns: max}
	l, err := Listen("tcp", "127.0.0.1:0", opts, stats, func(c *Conn) Handler { return &echoHandler{c: c, closed: make(chan error, 1)} })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var kept []net.Conn
	for i := 0; i < max; i++ {
		c, err := net.Dial("tcp", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		echoOnce(t, c, int32(i)) // served, so counted before the next dial
		kept = append(kept, c)
	}
	for i := 0; i < 2; i++ {
		extra, err := net.Dial("tcp", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if !readsEOF(t, extra) {
			t.Fatalf("connection %d over max_connections %d was left open", max+i+1, max)
		}
		extra.Close()
	}
	if got := stats.Refused.Load(); got != 2 {
		t.Fatalf("Refused = %d, want 2", got)
	}
	for i, c := range kept {
		echoOnce(t, c, int32(10+i))
	}
	// A closed connection makes room for a new one.
	kept[0].Close()
	waitFor(t, "the closed connection to leave the count", func() bool { return l.Conns() < max })
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoOnce(t, c, 20)
	if got := stats.Refused.Load(); got != 2 {
		t.Fatalf("Refused = %d after room was made, want 2", got)
	}
}

// busyHandler echoes and reports busy while told to.
type busyHandler struct {
	echoHandler
	busy  atomic.Bool
	asked atomic.Int32
}

func (h *busyHandler) Busy() bool {
	h.asked.Add(1)
	return h.busy.Load()
}

func TestIdleTimeoutClosesQuietConnectionsButNotBusyOnes(t *testing.T) {
	const idle = 100 * time.Millisecond
	stats := &Stats{}
	opts := Options{MaxFrameSize: 64 << 10, FrameTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: idle}
	handlers := make(chan *busyHandler, 2)
	var n atomic.Int32
	l, err := Listen("tcp", "127.0.0.1:0", opts, stats, func(c *Conn) Handler {
		h := &busyHandler{echoHandler: echoHandler{c: c, closed: make(chan error, 1)}}
		h.busy.Store(n.Add(1) == 1) // the first connection has a call in flight
		handlers <- h
		return h
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busyConn, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer busyConn.Close()
	echoOnce(t, busyConn, 1)
	busy := <-handlers
	quietConn, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer quietConn.Close()
	echoOnce(t, quietConn, 2)

	if !readsEOF(t, quietConn) {
		t.Fatal("a connection idle past IdleTimeout was not closed")
	}
	waitFor(t, "IdleClosed to count it", func() bool { return stats.IdleClosed.Load() == 1 })
	// The busy connection was asked, found busy, and kept.
	waitFor(t, "the sweeper to ask the busy handler again", func() bool { return busy.asked.Load() >= 3 })
	echoOnce(t, busyConn, 3)
	// Once its call is over it goes like any other.
	busy.busy.Store(false)
	if !readsEOF(t, busyConn) {
		t.Fatal("a connection idle past IdleTimeout with nothing in flight was not closed")
	}
	waitFor(t, "IdleClosed to count both", func() bool { return stats.IdleClosed.Load() == 2 })
}

func TestIdleForRestartsOnEveryFrame(t *testing.T) {
	l, _, _ := startEcho(t, "tcp")
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoOnce(t, c, 1)
	var tc *Conn
	l.Each(func(x *Conn) { tc = x })
	if tc == nil {
		t.Fatal("no accepted connection")
	}
	// Frames went both ways since the connection began: not idle. The
	// sweeper's own goroutine is the only caller in the transport, and
	// this listener has none (no IdleTimeout).
	if d := tc.IdleFor(); d != 0 {
		t.Fatalf("IdleFor after a frame = %v, want 0", d)
	}
	waitFor(t, "time to pass", func() bool { return tc.IdleFor() > 0 })
	echoOnce(t, c, 2)
	if d := tc.IdleFor(); d != 0 {
		t.Fatalf("IdleFor after another frame = %v, want 0", d)
	}
}
