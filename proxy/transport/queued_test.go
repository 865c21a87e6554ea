package transport

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// queuedHandler answers each frame with two, noting Queued before the
// first write and between the two.
type queuedHandler struct {
	c     *Conn
	notes chan [2]bool
}

func (h *queuedHandler) ServeFrame([]byte) {
	before := h.c.Queued()
	_ = h.c.WriteFrame(frameOf(nil, 1, 16))
	between := h.c.Queued()
	_ = h.c.WriteFrame(frameOf(nil, 2, 16))
	h.notes <- [2]bool{before, between}
}
func (h *queuedHandler) Closed(error) {}

// TestQueuedDuringTheBatch: a frame written while the poller serves a
// batch (here with CoalesceWrites) waits for the batch's end, and Queued
// says so until the batch's writes leave; both frames then arrive.
func TestQueuedDuringTheBatch(t *testing.T) {
	notes := make(chan [2]bool, 1)
	var conn *Conn
	o := Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second, CoalesceWrites: true}
	l, err := Listen("unix", filepath.Join(t.TempDir(), "l.sock"), o, &Stats{}, func(c *Conn) Handler {
		conn = c
		return &queuedHandler{c: c, notes: notes}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nc, err := net.Dial("unix", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(frameOf(t, 7, 0)); err != nil {
		t.Fatal(err)
	}
	var got [2]bool
	select {
	case got = <-notes:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler saw no frame in 5s")
	}
	if got[0] || !got[1] {
		t.Fatalf("Queued before the first write %v, after it %v; want false, true", got[0], got[1])
	}
	answers := make([]byte, 2*len(frameOf(t, 1, 16)))
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(nc, answers); err != nil {
		t.Fatalf("reading both answers: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for conn.Queued() {
		if time.Now().After(deadline) {
			t.Fatal("Queued still true 5s after the batch's writes left")
		}
		time.Sleep(time.Millisecond)
	}
}
