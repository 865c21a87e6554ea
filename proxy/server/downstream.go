package server

import (
	"bytes"
	"strconv"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/router"
	"github.com/octomesh/octomesh/proxy/transport"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// downstream is one caller's connection to a listener: the app's on the
// outbound Unix socket, a peer sidecar's on the inbound TCP port. Requests
// arrive on the transport's poller, which decodes, routes and forwards each
// without waiting; the rare request that has to wait (for an on-demand
// route, or for the first connection to an upstream) goes on from a
// goroutine with a copy of its frame. Responses come back through Respond
// and Fail.
type downstream struct {
	s        *Server
	l        *listener
	c        *transport.Conn
	inflight atomic.Int32

	cur pending // the poller's, reused for every request
}

// pending is one request on its way: its header and the upstream request
// that points into its frame.
type pending struct {
	hdr codec.Header
	req upstream.Request
}

// ServeFrame is the request path: decode, route, admit, forward.
func (d *downstream) ServeFrame(frame []byte) {
	cl := &d.cur
	if err := cl.hdr.Decode(frame); err != nil {
		d.c.CloseWithError(err)
		return
	}
	h := &cl.hdr
	if h.MessageType != codec.MessageCall && h.MessageType != codec.MessageOneway {
		d.c.CloseWithError(&codec.Error{Kind: codec.ErrBadPayload, Detail: "a caller sent a message of type " + strconv.Itoa(int(h.MessageType)) + " (not a call)"})
		return
	}
	d.s.stats.Requests.Add(1)
	if d.l.restarting.Load() { // restart.go: a new process serves this socket now
		d.s.stats.RestartAnswers.Add(1)
		d.failNow(h, codec.ErrorRestarting, appendRestarting)
		return
	}
	route := d.l.router.Load().Lookup(h.Service, h.Method)
	if route == nil {
		if d.mayRouteOnDemand(h) { // xds.go
			d.goOn(frame, (*downstream).routeOnDemand)
			return
		}
		d.noRoute(h)
		return
	}
	if d.admit(h) && !d.forward(frame, cl, route, nil, false) {
		picked := cl.req.Picked
		d.goOn(frame, func(d *downstream, frame []byte, cl *pending) { d.forward(frame, cl, route, picked, true) })
	}
}

// goOn continues a request that has to wait from a goroutine, with a copy
// of its frame (the poller's is valid only until ServeFrame returns).
func (d *downstream) goOn(frame []byte, next func(*downstream, []byte, *pending)) {
	d.s.stats.RequestsWaited.Add(1)
	frame = bytes.Clone(frame)
	go func() {
		cl := new(pending)
		if cl.hdr.Decode(frame) == nil { // as it did on the poller
			next(d, frame, cl)
		}
	}()
}

func (d *downstream) noRoute(h *codec.Header) {
	d.s.stats.NoRoute.Add(1)
	d.failNow(h, codec.ErrorNoRoute, appendNoRoute)
}

// admit counts a call in flight, or answers it when the connection or the
// sidecar has too many.
func (d *downstream) admit(h *codec.Header) bool {
	if h.MessageType == codec.MessageOneway {
		return true
	}
	if n := d.inflight.Add(1); n > int32(d.s.cfg.Limits.MaxInflightPerConnection) {
		d.inflight.Add(-1)
		d.s.stats.OverloadedConn.Add(1)
		d.failNow(h, codec.ErrorOverloaded, appendConnOverload)
		return false
	}
	if n := d.s.inflight.Add(1); n > int64(d.s.cfg.Limits.MaxInflight) {
		d.s.inflight.Add(-1)
		d.inflight.Add(-1)
		d.s.stats.OverloadedSidecar.Add(1)
		d.failNow(h, codec.ErrorOverloaded, appendSidecarOverload)
		return false
	}
	return true
}

// forward hands an admitted call to its cluster (to picked first, when
// given). Without mayWait it reports false, the call not sent, when the
// cluster would have to wait for a connection.
func (d *downstream) forward(frame []byte, cl *pending, route *router.Route[*upstream.Cluster], picked *upstream.Endpoint, mayWait bool) bool {
	cl.req = upstream.Request{Frame: frame, Header: &cl.hdr, Down: d, Timeout: route.Timeout, Picked: picked}
	if mayWait {
		route.Target.Forward(&cl.req)
		return true
	}
	return route.Target.TryForward(&cl.req)
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

// failNow answers the request h with an error whose message appendMsg
// writes.
func (d *downstream) failNow(h *codec.Header, kind string, appendMsg func(*downstream, *codec.Header, []byte) []byte) {
	if h.MessageType == codec.MessageOneway {
		d.s.stats.OnewayDropped.Add(1)
		return
	}
	o := upstream.Origin{SeqID: h.SeqID, PayloadSeqID: h.PayloadSeqID, Payload: h.Payload, ProtocolID: h.ProtocolID, MessageType: h.MessageType}
	m := bytebufferpool.Get()
	m.B = appendMsg(d, h, m.B[:0])
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

func appendNoRoute(d *downstream, h *codec.Header, b []byte) []byte {
	b = append(b, "octomesh: no route: listener "...)
	b = append(b, d.l.name...)
	b = append(b, " has no route for service "...)
	b = strconv.AppendQuote(b, string(h.Service))
	b = append(b, " method "...)
	b = strconv.AppendQuote(b, string(h.Method))
	if len(h.Service) == 0 {
		b = append(b, " (the request names no to-service: a Kitex client sets it with transmeta.ClientTTHeaderHandler)"...)
	}
	return b
}

func appendRestarting(_ *downstream, _ *codec.Header, b []byte) []byte {
	return append(b, "octomesh: sidecar restarting: the call was not forwarded; retry it on a new connection (the sdk does)"...)
}

func appendConnOverload(d *downstream, _ *codec.Header, b []byte) []byte {
	b = append(b, "octomesh: sidecar overloaded: too many requests in flight on this connection (limits.max_inflight_per_connection="...)
	b = strconv.AppendInt(b, int64(d.s.cfg.Limits.MaxInflightPerConnection), 10)
	return append(b, ')')
}

func appendSidecarOverload(d *downstream, _ *codec.Header, b []byte) []byte {
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
