// Package rawpoll is what the process's event loops share: an epoll
// instance of their own that is itself registered with the Go runtime's
// poller, and raw, non-blocking system calls to take what is ready and to
// read and write sockets.
//
// A loop built on it (proxy/transport's poller, internal/grpclite's loop,
// cp/mocksidecar's loops) runs in one goroutine: Run calls its round,
// which takes ready descriptors with Take (epoll_wait with a zero timeout)
// and serves them, until a round reports that nothing was ready; the
// goroutine then parks in the runtime's poller, like any goroutine
// reading a socket, and Run calls the round again once the epoll instance
// is readable. No call here waits, and none goes through the runtime's
// system-call path: a goroutine blocked in a system call holds its P,
// which the runtime's monitor retakes (with GOMAXPROCS=1, the "retake
// storm" of docs/performance.md), and every system call made through the
// runtime wakes that monitor. What each loop does with what is ready
// (its descriptors' table, its buffers, io_uring batches) stays its own.
//
// A loop reads sockets taken out of the runtime's poller (Detach): the
// kernel wakes every epoll instance that watches a socket, so one watched
// by both would cost each arrival twice. Attach gives such a socket back
// to the runtime (a goroutine that reads it again), WriteWait is the one
// call here that waits (a write the socket did not take at once, on a
// goroutine that may wait: parked in the runtime's poller, which watches
// a duplicate of the socket for that wait only), and Watchers lists the epoll instances that
// watch a socket, for tests.
//
// rawpoll is a leaf: it must never import another OctoMesh package.
package rawpoll
