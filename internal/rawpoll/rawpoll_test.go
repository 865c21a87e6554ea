package rawpoll

import (
	"strings"
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
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func TestTakeReadWriteSend(t *testing.T) {
	e, err := New("rawpoll-test")
	if err != nil {
		t.Fatal(err)
	}
	a, b := socketPair(t)
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: 7}
	if err := unix.EpollCtl(e.FD, unix.EPOLL_CTL_ADD, b, &ev); err != nil {
		t.Fatal(err)
	}
	events := make([]unix.EpollEvent, 4)
	if n := e.Take(events); n != 0 {
		t.Fatalf("Take with nothing ready: %d events", n)
	}
	if _, errno := Read(b, make([]byte, 8)); errno != unix.EAGAIN {
		t.Fatalf("Read with nothing to read: errno %v, want EAGAIN", errno)
	}
	if n, errno := Write(a, []byte("abc")); n != 3 || errno != 0 {
		t.Fatalf("Write: %d, %v", n, errno)
	}
	if n, errno := Send(a, []byte("de")); n != 2 || errno != 0 {
		t.Fatalf("Send: %d, %v", n, errno)
	}
	if n := e.Take(events); n != 1 || events[0].Fd != 7 {
		t.Fatalf("Take after a write: %d events (%+v), want the one registered as 7", n, events[:n])
	}
	buf := make([]byte, 8)
	if n, errno := Read(b, buf); string(buf[:n]) != "abcde" || errno != 0 {
		t.Fatalf("Read: %q, %v", buf[:n], errno)
	}
}

func TestSendToClosedPeer(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := unix.Close(fds[1]); err != nil {
		t.Fatal(err)
	}
	if n, errno := Send(fds[0], []byte("x")); errno != unix.EPIPE {
		t.Fatalf("Send to a closed peer: %d, errno %v, want EPIPE (and no signal)", n, errno)
	}
}

// Run parks while nothing is ready and calls the round again when the
// instance becomes readable.
func TestRunWakesOnInput(t *testing.T) {
	e, err := New("rawpoll-test")
	if err != nil {
		t.Fatal(err)
	}
	a, b := socketPair(t)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: 1}
	if err := unix.EpollCtl(e.FD, unix.EPOLL_CTL_ADD, b, &ev); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	events := make([]unix.EpollEvent, 4)
	go e.Run(func(uintptr) bool {
		if e.Take(events) == 0 {
			return false
		}
		buf := make([]byte, 16)
		n, _ := Read(b, buf)
		got <- string(buf[:n])
		return true
	})
	for _, msg := range []string{"one", "two"} {
		if _, errno := Write(a, []byte(msg)); errno != 0 {
			t.Fatal(errno)
		}
		select {
		case s := <-got:
			if s != msg {
				t.Fatalf("round read %q, want %q", s, msg)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("the round never saw %q", msg)
		}
	}
}

// Del stops the reports; Add of a descriptor that is not a socket's or
// file's that epoll takes fails with the instance named.
func TestAddDel(t *testing.T) {
	e, err := New("rawpoll-test")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, b := socketPair(t)
	if err := e.Add(b, 3); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(b, 3); err == nil || !strings.Contains(err.Error(), "rawpoll-test: epoll_ctl") {
		t.Fatalf("adding it twice: %v, want an epoll_ctl error naming the instance", err)
	}
	e.Del(b)
	if _, errno := Write(a, []byte("x")); errno != 0 {
		t.Fatal(errno)
	}
	if n := e.Take(make([]unix.EpollEvent, 2)); n != 0 {
		t.Fatalf("Take after Del: %d events, want none", n)
	}
}
