package rawpoll

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestDetachAttach: a detached socket is the caller's descriptor (nc is
// closed, the socket is not); attached again it is a working net.Conn,
// and the descriptor stays the caller's.
func TestDetachAttach(t *testing.T) {
	a, b := tcpPair(t)
	fd, err := Detach(a)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write to the detached net.Conn: %v, want net.ErrClosed", err)
	}
	if n, errno := Send(fd, []byte("raw")); n != 3 || errno != 0 {
		t.Fatalf("Send on the detached descriptor: %d, %v", n, errno)
	}
	got := make([]byte, 3)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "raw" {
		t.Fatalf("peer read %q, %v", got, err)
	}
	nc, err := Attach(fd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, 4)
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "back" {
		t.Fatalf("read of the attached net.Conn: %q, %v", got, err)
	}
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
	if n, errno := Send(fd, []byte("still")); n != 5 || errno != 0 {
		t.Fatalf("Send after the attached net.Conn closed: %d, %v", n, errno)
	}
}

// TestWriteWait: a write the socket cannot take waits for the peer's
// reads, and ends at its deadline when the peer reads nothing.
func TestWriteWait(t *testing.T) {
	a, b := tcpPair(t)
	fd, err := Detach(a)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	big := make([]byte, 64<<20) // more than both socket buffers hold
	start := time.Now()
	if n, err := WriteWait(fd, big, time.Now().Add(200*time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == len(big) {
		t.Fatalf("WriteWait to a peer that reads nothing: %d bytes, %v; want part of it, and os.ErrDeadlineExceeded", n, err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("WriteWait gave up after %v, before its deadline", waited)
	}
	// Drain the peer: a write of what fits then completes.
	go io.Copy(io.Discard, b)
	if n, err := WriteWait(fd, make([]byte, 4<<20), time.Time{}); n != 4<<20 || err != nil {
		t.Fatalf("WriteWait to a reading peer, no deadline: %d bytes, %v", n, err)
	}
}
