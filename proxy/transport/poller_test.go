package transport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestChurnKeepsConnectionsApart: connections come and go while others
// are served; slots freed by closed connections are taken by new ones,
// and every answer still reaches the connection that asked.
func TestChurnKeepsConnectionsApart(t *testing.T) {
	l, stats, _ := startEcho(t, "unix")
	const conns, parallel = 300, 8
	errs := make(chan error, conns)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- churnOnce(l.Addr(), i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every connection to be closed", func() bool { return stats.Closed.Load() == conns })
	if got := stats.Accepted.Load(); got != conns {
		t.Errorf("accepted %d, want %d", got, conns)
	}
}

// churnOnce opens a connection, exchanges three frames carrying id, and
// closes it.
func churnOnce(addr string, id int) error {
	c, err := net.Dial("unix", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	for k := range 3 {
		f := frameOf(nil, int32(id), 16)
		binary.BigEndian.PutUint64(f[len(f)-16:], uint64(id))
		binary.BigEndian.PutUint64(f[len(f)-8:], uint64(k))
		if _, err := c.Write(f); err != nil {
			return err
		}
		got := make([]byte, len(f))
		if _, err := io.ReadFull(c, got); err != nil {
			return fmt.Errorf("connection %d, frame %d: %w", id, k, err)
		}
		if !bytes.Equal(got, f) {
			return fmt.Errorf("connection %d, frame %d: got another connection's answer", id, k)
		}
	}
	return nil
}

// countHandler counts frames and reports its close.
type countHandler struct {
	frames atomic.Int64
	closed chan error
}

func (h *countHandler) ServeFrame([]byte)   { h.frames.Add(1) }
func (h *countHandler) Closed(reason error) { h.closed <- reason }

// TestAHangUpBehindMuchInputIsSeen: a peer that sent more than the poller
// reads in one turn and then hung up gets every frame served and its
// connection closed, although the hang-up was signalled once, with the
// first turn, before the turns that read the rest.
func TestAHangUpBehindMuchInputIsSeen(t *testing.T) {
	defer readTurn.Store(readTurn.Load())
	readTurn.Store(1)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	const frames = 3 // 3 x 48 KiB: three reads of the shared 64 KiB buffer
	f := frameOf(t, 1, 48<<10)
	for range frames {
		if _, err := unix.Write(fds[0], f); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Shutdown(fds[0], unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[1], true); err != nil {
		t.Fatal(err)
	}
	h := &countHandler{closed: make(chan error, 1)}
	o := Options{MaxFrameSize: 1 << 20, FrameTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	c := newConn(fds[1], "test", "peer", o, &Stats{}, func(*Conn) Handler { return h })
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("the connection was not closed: %d of %d frames served", h.frames.Load(), frames)
	}
	if got := h.frames.Load(); got != frames {
		t.Errorf("%d of %d frames served", got, frames)
	}
}
