package uring

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's structures (include/uapi/linux/io_uring.h).
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  uringSQOffsets
	cqOff                                                                  uringCQOffsets
}

type uringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type uringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32
	addr3       uint64
	pad         uint64
}

type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

const (
	uringOpSend          = 26 // IORING_OP_SEND
	uringOpRecv          = 27 // IORING_OP_RECV
	uringSetupSubmitAll  = 1 << 7
	uringFeatSingleMmap  = 1 << 0
	uringEnterGetEvents  = 1 << 0
	uringOffSQRing       = 0
	uringOffSQEs         = 0x10000000
	uringEntries         = 128
	uringFlags           = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
	uringSQEBytes        = 64
	uringCQEBytes        = 16
	uringParamsBytes     = 120
	uringSQOffsetsBytes  = 40
	uringCQOffsetsBytes  = 40
	uringSQEUserDataOffs = 32
)

// Ring is one io_uring instance for non-blocking sends and receives. It is
// not safe for concurrent use: one goroutine at a time.
type Ring struct {
	fd       int
	ringMem  []byte // the SQ and CQ rings, one mapping
	sqeMem   []byte
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqArray  []uint32
	sqes     []uringSQE
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []uringCQE
	capacity int
}

// New sets up a ring, or returns nil where io_uring cannot be used (an old
// kernel, a seccomp profile, io_uring_disabled) or OCTOMESH_IO_URING is
// off (or 0): the caller then uses write(2) and read(2).
func New() *Ring {
	if v := os.Getenv("OCTOMESH_IO_URING"); v == "off" || v == "0" {
		return nil
	}
	var p uringParams
	p.flags = uringSetupSubmitAll
	fd, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, uringEntries, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil // ENOSYS, EPERM (seccomp, io_uring_disabled), EINVAL (an old kernel without SUBMIT_ALL)
	}
	r := &Ring{fd: int(fd)}
	if !r.mapRings(&p) {
		_ = unix.Close(r.fd)
		return nil
	}
	unix.CloseOnExec(r.fd)
	return r
}

func (r *Ring) mapRings(p *uringParams) bool {
	if p.features&uringFeatSingleMmap == 0 || p.sqEntries == 0 {
		return false // kernels before 5.4
	}
	sqSize := int(p.sqOff.array) + int(p.sqEntries)*4
	cqSize := int(p.cqOff.cqes) + int(p.cqEntries)*uringCQEBytes
	size := max(sqSize, cqSize)
	mem, err := unix.Mmap(r.fd, uringOffSQRing, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return false
	}
	sqes, err := unix.Mmap(r.fd, uringOffSQEs, int(p.sqEntries)*uringSQEBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		_ = unix.Munmap(mem)
		return false
	}
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&mem[off]) }
	r.ringMem, r.sqeMem = mem, sqes
	r.sqHead = (*uint32)(at(p.sqOff.head))
	r.sqTail = (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&sqes[0])), p.sqEntries)
	r.cqHead = (*uint32)(at(p.cqOff.head))
	r.cqTail = (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*uringCQE)(at(p.cqOff.cqes)), p.cqEntries)
	r.capacity = int(min(p.sqEntries, p.cqEntries))
	return true
}

// Capacity is the most operations one SendAll or RecvAll takes.
func (r *Ring) Capacity() int { return r.capacity }

// Close releases the ring.
func (r *Ring) Close() error {
	_ = unix.Munmap(r.sqeMem)
	_ = unix.Munmap(r.ringMem)
	return unix.Close(r.fd)
}

// SendAll sends each bufs[i] on fds[i] with one submission and puts each
// result in res[i]: bytes sent, or a negative errno (-EAGAIN for a full
// socket). It returns how many it submitted: fewer than len(fds) only if
// the ring failed, and the caller then writes the rest another way and
// stops using the ring. len(fds) must not exceed Capacity. The buffers
// must stay valid and the descriptors open until it returns.
func (r *Ring) SendAll(fds []int, bufs [][]byte, res []int32) int {
	return r.each(uringOpSend, fds, bufs, res)
}

// RecvAll is SendAll's counterpart: it reads from each fds[i] into
// bufs[i], without waiting (-EAGAIN when nothing is there; 0 at the end of
// the input).
func (r *Ring) RecvAll(fds []int, bufs [][]byte, res []int32) int {
	return r.each(uringOpRecv, fds, bufs, res)
}

func (r *Ring) each(op uint8, fds []int, bufs [][]byte, res []int32) int {
	n := len(fds)
	tail := atomic.LoadUint32(r.sqTail)
	for i := range n {
		idx := (tail + uint32(i)) & r.sqMask
		r.sqes[idx] = uringSQE{opcode: op, fd: int32(fds[i]),
			addr: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(bufs[i])))), len: uint32(len(bufs[i])),
			opFlags: uringFlags, userData: uint64(i)}
		r.sqArray[idx] = idx
	}
	atomic.StoreUint32(r.sqTail, tail+uint32(n))
	var got uintptr
	var e unix.Errno
	for {
		// Every operation completes inline (MSG_DONTWAIT): its
		// completion is posted before the call returns.
		got, _, e = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(n), 0, 0, 0, 0)
		if e != unix.EINTR {
			break
		}
	}
	if e != 0 {
		got = 0
	}
	if int(got) < n {
		// Take back what the kernel did not consume, so that nothing is
		// sent twice or late.
		atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
	}
	r.reap(int(got), res)
	return int(got)
}

// reap takes n completions.
func (r *Ring) reap(n int, res []int32) {
	head := atomic.LoadUint32(r.cqHead)
	for got := 0; got < n; {
		tail := atomic.LoadUint32(r.cqTail)
		for ; head != tail && got < n; head++ {
			cqe := r.cqes[head&r.cqMask]
			if cqe.userData < uint64(len(res)) {
				res[cqe.userData] = cqe.res
			}
			got++
		}
		atomic.StoreUint32(r.cqHead, head)
		if got < n {
			// Not posted yet (it should not happen with MSG_DONTWAIT):
			// wait for the rest.
			_, _, _ = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, uintptr(n-got), uringEnterGetEvents, 0, 0)
		}
	}
}
