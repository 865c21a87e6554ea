package transport

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func socketPair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fds[0]); _ = unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// TestOneSubmissionReadsManyConnections: connections ready together are
// read by one ring submission per 16 (each into its share of the read
// buffer); one whose input exceeds its share is read to the end on later
// turns, and one whose peer hung up is closed after its frame is served.
func TestOneSubmissionReadsManyConnections(t *testing.T) {
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	if p.ring == nil {
		t.Skip("io_uring is not available here")
	}
	const conns = 20 // two submissions
	o := Options{MaxFrameSize: 1 << 20, FrameTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	handlers := make([]*countHandler, conns)
	for i := range conns {
		peer, own := socketPair(t)
		size := 100
		if i == 3 {
			size = 10 << 10 // more than a share of the buffer (64 KiB / 16)
		}
		if _, err := unix.Write(peer, frameOf(t, int32(i), size)); err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			if err := unix.Shutdown(peer, unix.SHUT_WR); err != nil {
				t.Fatal(err)
			}
		}
		fd, err := unix.Dup(own) // the connection closes its own descriptor
		if err != nil {
			t.Fatal(err)
		}
		unix.CloseOnExec(fd)
		handlers[i] = &countHandler{closed: make(chan error, 1)}
		c := newConn(fd, "test", "peer", o, &Stats{}, func(*Conn) Handler { return handlers[i] })
		if err := p.add(c); err != nil {
			t.Fatal(err)
		}
	}
	for p.round(0) {
	}
	if p.rings < 2 {
		t.Errorf("%d ring submissions read, want 2 or more", p.rings)
	}
	for i, h := range handlers {
		if got := h.frames.Load(); got != 1 {
			t.Errorf("connection %d: %d frames served, want 1", i, got)
		}
	}
	select {
	case <-handlers[5].closed:
	case <-time.After(30 * time.Second):
		t.Error("the connection whose peer hung up was not closed")
	}
}
