// Package uring is a minimal io_uring for many small non-blocking socket
// operations in one system call: SendAll writes one buffer to each of
// many sockets, RecvAll reads one from each, with a single
// io_uring_enter. Each operation is MSG_DONTWAIT (a full socket, or
// nothing to read, completes at once with -EAGAIN, as write(2) and
// read(2) would), so a submission never waits for a peer. The ring is
// set up with raw system calls (io_uring_setup, mmap), without a
// dependency; New returns nil where io_uring is missing or refused (an
// old kernel, a seccomp profile, io_uring_disabled) or with
// OCTOMESH_IO_URING=off, and the caller then writes and reads as before.
//
// Users: proxy/transport's poller (reads of ready connections, deferred
// writes of a batch), internal/grpclite (the pilot's fan-out of a push in
// Batch, and its event loop's reads of ready connections) and
// cp/mocksidecar's event loops (the simulated sidecars' reads and
// answers). A Ring is used by one goroutine at a time. The kernel owns the
// rings' memory (mmap of the ring's descriptor), so the Go heap never
// holds it; the buffers handed to SendAll and RecvAll are read or written
// only during the call.
//
// The ring is set up with IORING_SETUP_SUBMIT_ALL only. SINGLE_ISSUER
// (and DEFER_TASKRUN, which needs it) and a registered ring descriptor
// (IORING_REGISTER_RING_FDS) are bound to one OS thread, which a goroutine
// is not; COOP_TASKRUN and NO_SQARRAY measured no better, since every
// operation completes inline (docs/performance.md).
//
// uring is a leaf: it must never import another OctoMesh package.
package uring
