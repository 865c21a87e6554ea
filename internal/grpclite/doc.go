// Package grpclite is a lean HTTP/2 + gRPC server for one bidirectional
// streaming method, built for many long-lived, mostly idle streams: the
// pilot's delta ADS streams (docs/performance.md, "A lean transport under
// the xDS port").
//
// A connection starts with one goroutine: it reads frames (golang.org/x/net's
// http2.Framer and hpack) and hands each complete gRPC message to the
// stream's Handler right there, synchronously. Once every open stream on
// a plain (not TLS) connection has had its first message handled (a
// handler may wait on a stream's first message: the pilot admits the
// session then), and nothing read of the socket waits to be framed, the
// connection goes to the loop (loop.go) and its goroutine exits, with its
// stack and its 1 KiB read buffer: one epoll instance of ours, registered
// with the Go runtime's poller, and one goroutine for the whole process
// that takes ready sockets without waiting, reads them into one shared
// buffer (several at once with one io_uring submission, internal/uring;
// read(2) with OCTOMESH_IO_URING=off or where io_uring is unavailable)
// and runs the same per-frame code (conn.step) on each whole frame; a
// frame split across reads waits in a per-connection buffer held only
// until it is whole. A new stream's HEADERS gives the connection back to
// a goroutine of its own until that stream's first message was handled.
// Only the loop closes a looped connection's socket, after taking it out
// of the epoll instance (a close elsewhere shuts the socket down), so a
// descriptor number is never reused under it. TLS connections keep their
// goroutine.
//
// There is no handler goroutine and no writer goroutine: Stream.Send
// writes a message from the caller's goroutine under the connection's
// mutex, and what HTTP/2 flow control does not let out yet is queued and
// written by the reader when the peer's WINDOW_UPDATE arrives, so Send
// never waits for the peer's window (a write that the kernel does not
// take within the write timeout drops the connection). On a looped
// connection a write is offered to the socket without waiting, and what
// it does not take is written by a goroutine started for it, so that
// neither the loop nor the sender waits for a slow peer. Stream.End
// writes the trailers (grpc-status, grpc-message) from any goroutine,
// which is how a server ends an idle stream. One goroutine for the whole
// Server pings idle peers and drops those that do not answer (keepalive).
//
// Everything else on the same listener is handed over: the server reads a
// connection only up to its first HEADERS frame; if its :path is another
// method, the connection, with every byte read so far replayed first, is
// accepted from Server.Fallback, a net.Listener for a grpc.Server. With
// TLS the handshake is done here; the grpc.Server then takes
// HandshakenTLS as its credentials.
//
// A client may ping at most every 5 s while the server sends it nothing
// (gRPC-go's enforcement as the pilot configures it): a third ping too
// soon gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
//
// Up to 16 streams at once per connection (more are refused with
// ResourceExhausted; the window settings stay HTTP/2's defaults, 64 KiB);
// no compression; messages up to Options.MaxRecvMsgSize. A status's
// details travel as gRPC-go sends them (grpc-status-details-bin).
//
// Batch is a fan-out's way to send: messages to many streams, each on its
// own plain TCP connection, go out in one io_uring submission
// (internal/uring) per ring's capacity instead of one write(2) each; a
// socket that does not take its bytes whole gets the rest Stream.Send's
// way; TLS connections, and every connection where io_uring is
// unavailable or OCTOMESH_IO_URING=off, are sent Stream.Send's way.
//
// grpclite must never import cp/..., proxy/..., api/... or agent: its
// OctoMesh imports are internal/uring and internal/rawpoll (the event
// loop's epoll instance and raw socket calls), both leaves. It imports
// gRPC-go only for its status, metadata, peer and credentials types, so
// that handlers see what a gRPC-go handler sees.
package grpclite
