package rawpoll

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
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

// TestWriteWaitHoldsNoThread: writes waiting for their peers park their
// goroutines in the runtime's poller; none holds a thread in a blocking
// system call (a push to thousands of full sockets must not make
// thousands of threads).
func TestWriteWaitHoldsNoThread(t *testing.T) {
	const n = 64
	big := make([]byte, 32<<20)
	before := threads(t)
	var peers []net.Conn
	done := make(chan error, n)
	for range n {
		a, b := tcpPair(t)
		fd, err := Detach(a)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		peers = append(peers, b)
		go func() {
			_, err := WriteWait(fd, big, time.Time{})
			done <- err
		}()
	}
	// Every write has filled its socket and waits (the peers read
	// nothing); give them a moment to get there, then count.
	deadline := time.Now().Add(20 * time.Second)
	for {
		full := 0
		for _, p := range peers {
			if queued(t, p) > 0 {
				full++
			}
		}
		if full == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := threads(t); got-before >= n/2 {
		t.Fatalf("%d writes waiting for their peers: %d threads, %d before; want them parked, not a thread each", n, got, before)
	}
	for _, p := range peers {
		_ = p.Close()
	}
	for range n {
		if err := <-done; err == nil {
			t.Fatal("a write to a closed peer succeeded")
		}
	}
}

// threads is how many threads the process has.
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// queued is how many bytes wait to be read in c's socket.
func queued(t *testing.T, c net.Conn) int {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n
}
