// Package transport moves TTHeader frames over Unix sockets and TCP. It
// has its own poller (poller.go); the rest of the sidecar sees Conn,
// Listener and Handler.
//
// A Listener accepts on a goroutine and hands each socket to the poller:
// one epoll instance, registered with the Go runtime's poller, and one
// goroutine that takes the ready sockets from it without waiting, reads
// each into a buffer shared by every connection, and runs the
// connections' handlers right there. When nothing is ready, the goroutine
// parks in the runtime like any reader of a socket: no thread waits in a
// system call holding a P, so the runtime's monitor has nothing to take
// back (netpoll's poller did, and with GOMAXPROCS=1 that set off the
// "retake storm"; see docs/performance.md). No goroutine is woken per
// read. Where the kernel offers io_uring (internal/uring; OCTOMESH_IO_URING=off
// turns it off), the sockets one epoll_wait found ready are read, and the
// writes their handlers made are sent, with one submission each instead
// of one system call per socket. A connection's task hands every whole frame in the buffer to the
// Handler as a view into the buffer (codec.FrameSize rejects garbage and
// oversized frames from their first 14 bytes); the start of an unfinished
// frame is copied aside until the rest arrives, at most FrameTimeout.
// Handlers therefore must not block: WriteFrame writes the socket directly
// (or at the end of the poller's batch: with CoalesceWrites, or with
// io_uring for any small frame) and, when the
// peer is slow, queues the rest for the connection's flusher goroutine,
// which waits at most WriteTimeout. Protocol errors close only the
// connection they arrived on and are counted in Stats.
//
// Mutual TLS (tls.go, Options.TLS): a TLS connection of a TCP listener or
// a dial is crypto/tls (1.3 only) on the Go runtime's poller, with a
// reader goroutine that hands whole frames to the same Handler, one at a
// time, and a writer goroutine that WriteFrame wakes (it never blocks). A
// strict listener handshakes every connection; a permissive one peeks at
// the first byte (a TLS record starts with 0x16, a TTHeader frame cannot)
// and serves the others plain, on the poller. Conn.Peer is the identity
// the peer's verified certificate names. Handshakes and their failures are
// counted by reason.
//
// Closing shuts the socket down; the poller, seeing the hang-up, leaves
// the socket and closes the connection on a goroutine of its own.
//
// Hot-path package: it must never import cp/... or another proxy/...
// package (they are all above it).
package transport
