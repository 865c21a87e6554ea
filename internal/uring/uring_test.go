package uring

import (
	"bytes"
	"testing"

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

// TestSendAllSendsEachBufferToItsSocket: one submission, three sockets, each
// gets its own bytes; a full socket answers EAGAIN at once (the submission
// does not wait for its peer), and a socket whose peer reads no more EPIPE
// (without SIGPIPE killing the test).
func TestSendAllSendsEachBufferToItsSocket(t *testing.T) {
	r := New()
	if r == nil {
		t.Skip("io_uring is not available here")
	}
	defer r.Close()
	var fds, peers []int
	var bufs [][]byte
	for i := range 3 {
		a, b := socketPair(t)
		fds, peers = append(fds, a), append(peers, b)
		bufs = append(bufs, bytes.Repeat([]byte{byte('a' + i)}, 100+i))
	}
	res := make([]int32, 3)
	if got := r.SendAll(fds, bufs, res); got != 3 {
		t.Fatalf("submitted %d of 3", got)
	}
	for i := range 3 {
		if int(res[i]) != len(bufs[i]) {
			t.Fatalf("send %d: result %d, want %d", i, res[i], len(bufs[i]))
		}
		in := make([]byte, 200)
		n, err := unix.Read(peers[i], in)
		if err != nil || !bytes.Equal(in[:n], bufs[i]) {
			t.Fatalf("socket %d read %q (%v), want %q", i, in[:n], err, bufs[i])
		}
	}

	// Fill socket 0; socket 1's peer stops reading.
	chunk := make([]byte, 64<<10)
	for {
		if _, err := unix.Write(fds[0], chunk); err == unix.EAGAIN {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Shutdown(peers[1], unix.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if got := r.SendAll(fds[:2], bufs[:2], res); got != 2 {
		t.Fatalf("submitted %d of 2", got)
	}
	if res[0] != -int32(unix.EAGAIN) {
		t.Errorf("full socket: result %d, want -EAGAIN", res[0])
	}
	if res[1] != -int32(unix.EPIPE) && res[1] != -int32(unix.ECONNRESET) {
		t.Errorf("socket without a peer: result %d, want -EPIPE", res[1])
	}
}

// BenchmarkSendAll: one SendAll of 64 small (64-byte) buffers to 64 socket
// pairs per op, the peers drained every 32 ops outside the timer (2 KiB per
// socket, far below a full socket buffer).
func BenchmarkSendAll(b *testing.B) {
	const n = 64
	r := New()
	if r == nil {
		b.Skip("io_uring is not available here")
	}
	defer r.Close()
	fds, peers := make([]int, n), make([]int, n)
	bufs := make([][]byte, n)
	for i := range n {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = unix.Close(p[0]); _ = unix.Close(p[1]) })
		fds[i], peers[i] = p[0], p[1]
		bufs[i] = bytes.Repeat([]byte{byte(i)}, 64)
	}
	res := make([]int32, n)
	in := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := r.SendAll(fds, bufs, res); got != n {
			b.Fatalf("submitted %d of %d", got, n)
		}
		if i%32 == 31 {
			b.StopTimer()
			for _, p := range peers {
				for {
					if _, err := unix.Read(p, in); err != nil {
						break
					}
				}
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	for j := range n {
		if int(res[j]) != len(bufs[j]) {
			b.Fatalf("send %d: result %d, want %d", j, res[j], len(bufs[j]))
		}
	}
}
