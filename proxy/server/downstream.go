package server

import (
	"strconv"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/transport"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// downstream is one caller's connection to a listener: the app's on the
// outbound Unix socket, a peer sidecar's on the inbound TCP port. Its read
// goroutine decodes each request, routes it and forwards it; responses come
// back through Respond and Fail from upstream goroutines.
type downstream struct {
	s        *Server
	l        *listener
	c        *transport.Conn
	inflight atomic.Int32

	// Read goroutine only: reused for every request.
	hdr codec.Header
	req upstream.Request
}

// ServeFrame is the request path: decode, route, admit, forward.
func (d *downstream) ServeFrame(frame []byte) {
	if err := d.hdr.Decode(frame); err != nil {
		d.c.CloseWithError(err)
		return
	}
	h := &d.hdr
	if h.MessageType != codec.MessageCall && h.MessageType != codec.MessageOneway {
		d.c.CloseWithError(&codec.Error{Kind: codec.ErrBadPayload, Detail: "a caller sent a message of type " + strconv.Itoa(int(h.MessageType)) + " (not a call)"})
		return
	}
	d.s.stats.Requests.Add(1)
	if d.l.restarting.Load() { // restart.go: a new process serves this socket now
		d.s.stats.RestartAnswers.Add(1)
		d.failNow(codec.ErrorRestarting, appendRestarting)
		return
	}
	route := d.l.router.Load().Lookup(h.Service, h.Method)
	if route == nil {
		if route = d.routeOnDemand(); route == nil { // xds.go
			d.s.stats.NoRoute.Add(1)
			d.failNow(codec.ErrorNoRoute, appendNoRoute)
			return
		}
	}
	oneway := h.MessageType == codec.MessageOneway
	if !oneway {
		if n := d.inflight.Add(1); n > int32(d.s.cfg.Limits.MaxInflightPerConnection) {
			d.inflight.Add(-1)
			d.s.stats.OverloadedConn.Add(1)
			d.failNow(codec.ErrorOverloaded, appendConnOverload)
			return
		}
		if n := d.s.inflight.Add(1); n > int64(d.s.cfg.Limits.MaxInflight) {
			d.s.inflight.Add(-1)
			d.inflight.Add(-1)
			d.s.stats.OverloadedSidecar.Add(1)
			d.failNow(codec.ErrorOverloaded, appendSidecarOverload)
			return
		}
	}
	d.req = upstream.Request{Frame: frame, Header: h, Down: d, Timeout: route.Timeout}
	route.Target.Forward(&d.req)
}

// Respond sends an upstream's response back to the caller.
func (d *downstream) Respond(frame []byte) {
	d.done()
	_ = d.c.WriteFrame(frame)
}

// Fail answers a request the upstream could not complete.
func (d *downstream) Fail(o upstream.Origin, f upstream.Failure) {
	if o.MessageType == codec.MessageOneway {
		d.s.stats.OnewayDropped.Add(1)
		return
	}
	d.done()
	m := bytebufferpool.Get()
	m.B = f.AppendMessage(m.B[:0])
	d.writeError(o, failureKind(f.Kind), m.B)
	bytebufferpool.Put(m)
}

func (d *downstream) done() {
	d.inflight.Add(-1)
	d.s.inflight.Add(-1)
}

// Closed is called once the connection has closed.
func (d *downstream) Closed(error) {}

// failNow answers the current request (read goroutine) with an error whose
// message appendMsg writes.
func (d *downstream) failNow(kind string, appendMsg func(*downstream, []byte) []byte) {
	h := &d.hdr
	if h.MessageType == codec.MessageOneway {
		d.s.stats.OnewayDropped.Add(1)
		return
	}
	o := upstream.Origin{SeqID: h.SeqID, PayloadSeqID: h.PayloadSeqID, Payload: h.Payload, ProtocolID: h.ProtocolID, MessageType: h.MessageType}
	m := bytebufferpool.Get()
	m.B = appendMsg(d, m.B[:0])
	d.writeError(o, kind, m.B)
	bytebufferpool.Put(m)
}

// writeError writes a TTHeader response carrying an exception with msg,
// marked with the om-error key, built in a pooled buffer. The "restarting"
// answer also carries Kitex's crrst, so the client drops the connection,
// and its own exception type, which the sdk retries.
func (d *downstream) writeError(o upstream.Origin, kind string, msg []byte) {
	d.s.stats.ErrorResponses.Add(1)
	buf := bytebufferpool.Get()
	kv := [2]codec.StrKV{{Key: codec.KeyError, Value: kind}, {Key: codec.KeyConnReset, Value: "1"}}
	fh := codec.FrameHeader{SeqID: o.SeqID, ProtocolID: o.ProtocolID, StrInfo: kv[:1]}
	typeID := int32(codec.ExceptionInternalError)
	if kind == codec.ErrorRestarting {
		fh.StrInfo, typeID = kv[:], codec.ExceptionSidecarRestart
	}
	b, start, _ := codec.BeginFrame(buf.B[:0], &fh) // fails only on oversized info, which ours is not
	b = codec.AppendException(b, o.Payload, nil, o.PayloadSeqID, typeID, msg)
	codec.EndFrame(b, start)
	_ = d.c.WriteFrame(b)
	buf.B = b
	bytebufferpool.Put(buf)
}

func appendNoRoute(d *downstream, b []byte) []byte {
	b = append(b, "octomesh: no route: listener "...)
	b = append(b, d.l.name...)
	b = append(b, " has no route for service "...)
	b = strconv.AppendQuote(b, string(d.hdr.Service))
	b = append(b, " method "...)
	b = strconv.AppendQuote(b, string(d.hdr.Method))
	if len(d.hdr.Service) == 0 {
		b = append(b, " (the request names no to-service: a Kitex client sets it with transmeta.ClientTTHeaderHandler)"...)
	}
	return b
}

func appendRestarting(_ *downstream, b []byte) []byte {
	return append(b, "octomesh: sidecar restarting: the call was not forwarded; retry it on a new connection (the sdk does)"...)
}

func appendConnOverload(d *downstream, b []byte) []byte {
	b = append(b, "octomesh: sidecar overloaded: too many requests in flight on this connection (limits.max_inflight_per_connection="...)
	b = strconv.AppendInt(b, int64(d.s.cfg.Limits.MaxInflightPerConnection), 10)
	return append(b, ')')
}

func appendSidecarOverload(d *downstream, b []byte) []byte {
	b = append(b, "octomesh: sidecar overloaded: too many requests in flight in the sidecar (limits.max_inflight="...)
	b = strconv.AppendInt(b, int64(d.s.cfg.Limits.MaxInflight), 10)
	return append(b, ')')
}

func failureKind(kind error) string {
	switch kind {
	case upstream.ErrOverloaded:
		return codec.ErrorOverloaded
	case upstream.ErrTimeout:
		return codec.ErrorTimeout
	case upstream.ErrConnLost:
		return codec.ErrorConnLost
	}
	return codec.ErrorUnreachable
}
