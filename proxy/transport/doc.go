// Package transport moves TTHeader frames over Unix sockets and TCP on
// netpoll event loops. It is the only package that imports netpoll; the rest
// of the sidecar sees Conn, Listener and Handler.
//
// A Listener runs one event loop; its poller reads sockets into netpoll's
// buffers. Each connection has one reader goroutine: the OnRequest task its
// first bytes start, which runs until the connection closes, so netpoll
// releases the input buffer only after it, whoever closes. It takes one
// whole frame at a time (codec.FrameSize rejects garbage and oversized
// frames from the first 14 bytes; a frame that starts but does not finish
// within FrameTimeout closes the connection), hands it to its Handler as a
// view into the read buffer, and releases the buffer when the handler
// returns. Protocol errors close only the connection they arrived on and
// are counted in Stats.
//
// Hot-path package: it must never import cp/... or any proxy package above it.
package transport
