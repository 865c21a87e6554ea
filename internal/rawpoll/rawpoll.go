package rawpoll

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Epoll is an epoll instance registered with the Go runtime's poller.
type Epoll struct {
	FD   int      // the epoll instance, for epoll_ctl
	file *os.File // FD as the runtime's poller knows it; never closed
	rc   syscall.RawConn
}

// New makes an epoll instance; name names it in errors and in the
// runtime's file table.
func New(name string) (*Epoll, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("%s: epoll_create1: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Epoll{FD: fd, file: f, rc: rc}, nil
}

// Run calls round until it reports false (nothing was ready), parks the
// goroutine until the epoll instance is readable, and calls round again,
// forever. The argument round gets is the epoll instance's descriptor.
func (e *Epoll) Run(round func(fd uintptr) bool) {
	for {
		if err := e.rc.Read(round); err != nil {
			panic(fmt.Sprintf("%s: %v", e.file.Name(), err)) // the file is never closed
		}
	}
}

// Add watches a socket, edge-triggered, for input and for the peer's
// hang-up (EPOLLIN, EPOLLRDHUP, EPOLLET); Take reports it with slot as
// its EpollEvent.Fd.
func (e *Epoll) Add(fd int, slot int32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: slot}
	if err := unix.EpollCtl(e.FD, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("%s: epoll_ctl: %w", e.file.Name(), err)
	}
	return nil
}

// Del stops watching a socket: no Take after it reports the socket. Call
// it before closing the socket: the kernel takes a socket out of an epoll
// set only when its last reference goes, and while the runtime's poller
// polls this instance it may hold one a moment past the close (measured:
// 15 closes in 2,000 left the socket open for that moment).
func (e *Epoll) Del(fd int) { _ = unix.EpollCtl(e.FD, unix.EPOLL_CTL_DEL, fd, nil) }

// Close closes the epoll instance; only one that Run never served (Run
// panics when its instance is closed under it).
func (e *Epoll) Close() error { return e.file.Close() }

// Take fills events with what is ready, without waiting, and says how
// many.
func (e *Epoll) Take(events []unix.EpollEvent) int {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(e.FD),
			uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			panic(fmt.Sprintf("%s: epoll_pwait: %v", e.file.Name(), errno)) // only a bad descriptor or buffer
		}
		return int(n)
	}
}

// Read is one read(2) of a non-blocking descriptor.
func Read(fd int, p []byte) (int, unix.Errno) {
	return rw(unix.SYS_READ, fd, p, 0)
}

// Write is one write(2) to a non-blocking descriptor.
func Write(fd int, p []byte) (int, unix.Errno) {
	return rw(unix.SYS_WRITE, fd, p, 0)
}

// Send is one send(2) that does not wait (MSG_DONTWAIT), and a peer that
// closed is EPIPE, not a signal (MSG_NOSIGNAL).
func Send(fd int, p []byte) (int, unix.Errno) {
	return rw(unix.SYS_SENDTO, fd, p, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
}

func rw(trap uintptr, fd int, p []byte, flags uintptr) (int, unix.Errno) {
	for {
		n, _, errno := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), flags, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(n), 0
	}
}
