// Package transport moves TTHeader frames over Unix sockets and TCP on
// netpoll's event loop. It is the only package that imports netpoll; the
// rest of the sidecar sees Conn, Listener and Handler.
//
// A Listener accepts on a goroutine and hands each socket to netpoll, whose
// poller reads it into the connection's buffer and then runs the
// connection's OnRequest task right there, on the poller goroutine (see
// runTask): no goroutine is woken per read. The task hands every whole
// frame in the buffer to the Handler as a view into the buffer
// (codec.FrameSize rejects garbage and oversized frames from their first 14
// bytes) and releases the buffer after the last; the start of an
// unfinished frame is copied aside until the rest arrives, at most
// FrameTimeout. Handlers therefore must not block: WriteFrame writes the
// socket directly and, when the peer is slow, queues the rest for the
// connection's flusher goroutine, which waits at most WriteTimeout.
// Protocol errors close only the connection they arrived on and are counted
// in Stats.
//
// Mutual TLS (tls.go, Options.TLS): netpoll has no TLS, so a TLS
// connection of a TCP listener or a dial is crypto/tls (1.3 only) on the Go
// runtime's poller, with a reader goroutine that hands whole frames to the
// same Handler, one at a time, and a writer goroutine that WriteFrame wakes
// (it never blocks). A strict listener handshakes every connection; a
// permissive one peeks at the first byte (a TLS record starts with 0x16, a
// TTHeader frame cannot) and serves the others plain, on netpoll. Conn.Peer
// is the identity the peer's verified certificate names. Handshakes and
// their failures are counted by reason. Closing shuts the socket down; netpoll's poller then closes the
// connection on a goroutine of its own.
//
// Hot-path package: it must never import cp/... or another proxy/...
// package (they are all above it).
package transport
