package rawpoll

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Detach takes nc's socket out of the Go runtime's poller and gives it to
// the caller as a descriptor of its own: a duplicate (non-blocking,
// close-on-exec) of nc's, after which nc is closed, and the runtime, on
// that close, stops watching the socket. The socket lives on through the
// duplicate until the caller closes it (unix.Close).
//
// Why a loop wants that: the kernel wakes every epoll instance that
// watches a socket, on each segment that arrives. A socket that is in the
// runtime's poller as well as in a loop's epoll instance costs, per
// arrival, a second wake-up callback, and, in the runtime's next
// epoll_wait, a readiness check of the socket, on cache lines the loop's
// own check just missed too, for an event no goroutine waits for: about a
// tenth of a push's CPU in the pilot and in the simulated sidecars
// (docs/performance.md).
//
// The caller must be the only user of nc: nothing may read or write it
// then, or after.
func Detach(nc net.Conn) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("rawpoll: %T has no descriptor", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = Dup(int(s)) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	_ = nc.Close()
	return fd, nil
}

// Dup is a duplicate of fd, close-on-exec, at the lowest free number.
// The duplicate shares fd's open file (a socket's, with its non-blocking
// mode).
func Dup(fd int) (int, error) {
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	return d, nil
}

// Attach is Detach's way back: a net.Conn of fd's socket, in the runtime's
// poller again, with a descriptor of its own; fd stays the caller's.
func Attach(fd int) (net.Conn, error) {
	d, err := Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(d), "rawpoll-attach")
	nc, err := net.FileConn(f) // its own duplicate
	_ = f.Close()
	return nc, err
}

// WriteWait writes all of p to the non-blocking socket fd, waiting for
// room until deadline (the zero time: no deadline), and says how much it
// wrote; os.ErrDeadlineExceeded when the deadline passes first. It waits
// as any goroutine writing a socket does, parked in the runtime's poller
// (through a duplicate of fd, registered there for the wait only), not in
// a blocking system call: thousands of connections waiting at once (a
// large push) must not hold a thread each. It is for the rare write a
// detached socket does not take at once, on a goroutine that may wait.
func WriteWait(fd int, p []byte, deadline time.Time) (int, error) {
	written, errno := Send(fd, p)
	switch {
	case written == len(p):
		return written, nil
	case errno != 0 && errno != unix.EAGAIN:
		return written, os.NewSyscallError("write", errno)
	}
	d, err := Dup(fd)
	if err != nil {
		return written, err
	}
	f := os.NewFile(uintptr(d), "rawpoll-write") // non-blocking: in the runtime's poller
	defer f.Close()
	if !deadline.IsZero() {
		if err := f.SetWriteDeadline(deadline); err != nil {
			return written, err
		}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return written, err
	}
	var werr error
	err = rc.Write(func(s uintptr) bool {
		for written < len(p) {
			n, errno := Send(int(s), p[written:])
			written += n
			switch {
			case errno == unix.EAGAIN:
				return false // wait for room
			case errno != 0:
				werr = os.NewSyscallError("write", errno)
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return written, err
}

// Watchers lists the descriptors of this process's epoll instances that
// watch fd's socket (or file), as the kernel gives them in each
// instance's /proc/self/fdinfo entry (matched by inode): a detached socket
// read by a loop has one, the loop's.
func Watchers(fd int) ([]int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, os.NewSyscallError("fstat", err)
	}
	ino := fmt.Sprintf(" ino:%x ", st.Ino)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	var eps []int
	for _, e := range ents {
		if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); link != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue // closed meanwhile
		}
		for line := range strings.SplitSeq(string(info), "\n") {
			if strings.HasPrefix(line, "tfd:") && strings.Contains(line+" ", ino) {
				n, _ := strconv.Atoi(e.Name())
				eps = append(eps, n)
				break
			}
		}
	}
	return eps, nil
}
