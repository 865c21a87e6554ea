package downstream

import (
	"bytes"
	"strconv"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/transport"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// Conn is one caller's connection to a listener: the app's on the
// outbound Unix socket, a peer sidecar's on the inbound TCP port. Calls
// arrive on the transport's poller, which decodes, routes and runs each
// route's chain without waiting; the rare call that has to wait (for an
// on-demand route, or for the first connection to an upstream) goes on
// from a goroutine with a copy of its frame. Answers come back through
// Respond, Fail and Reject, from any goroutine.
type Conn struct {
	l        *Listener
	s        *Sidecar
	c        *transport.Conn
	peer     string // the caller's identity from its certificate; "" when plain
	inflight atomic.Int32

	cur filter.Request // the poller's, reused for every call
}

// ServeFrame is the request path: decode, route, admit, then the route's
// chain.
func (d *Conn) ServeFrame(frame []byte) {
	r := &d.cur
	h := &r.Header
	if err := h.Decode(frame); err != nil {
		d.c.CloseWithError(err)
		return
	}
	if h.Payload == codec.PayloadNone {
		d.control(frame)
		return
	}
	if h.MessageType != codec.MessageCall && h.MessageType != codec.MessageOneway {
		d.c.CloseWithError(&codec.Error{Kind: codec.ErrBadPayload, Detail: "a caller sent a message of type " + strconv.Itoa(int(h.MessageType)) + " (not a call)"})
		return
	}
	d.s.Stats.Requests.Add(1)
	if d.l.Restarting.Load() { // a new process serves this socket now
		d.s.Stats.RestartAnswers.Add(1)
		d.failNow(h, codec.KindRestarting, appendRestarting)
		return
	}
	route := d.l.Routes.Load().Lookup(h, frame)
	if route == nil {
		if d.l.OnDemand != nil && len(h.Service) > 0 {
			d.routeOnDemand(frame)
			return
		}
		d.noRoute(h)
		return
	}
	if !d.admit(h) {
		return
	}
	r.Frame, r.Arrived, r.Down, r.Peer = frame, upstream.Now(), d, d.peer
	route.Target.Handler.Serve(r)
}

// routeOnDemand subscribes to the call's service from a goroutine, with a
// copy of the frame, waits for its route (at most the OnDemand's bound)
// and runs the route's chain, or answers that there is no route.
func (d *Conn) routeOnDemand(frame []byte) {
	d.s.Stats.RequestsWaited.Add(1)
	frame = bytes.Clone(frame)
	arrived := upstream.Now()
	go func() {
		r := new(filter.Request)
		h := &r.Header
		if h.Decode(frame) != nil { // decoded on the poller already
			return
		}
		var route *Route
		found := d.l.OnDemand.Await(string(h.Service))
		if found == Routed {
			if rt := d.l.Routes.Load().Lookup(h, frame); rt != nil {
				route = rt.Target
			}
		}
		if route == nil {
			if found == NoInstances {
				d.s.Stats.NoInstances.Add(1)
				d.failNow(h, codec.KindNoInstances, appendNoInstances)
				return
			}
			d.noRoute(h)
			return
		}
		if d.admit(h) {
			r.Frame, r.Arrived, r.Down, r.Peer = frame, arrived, d, d.peer
			route.Handler.Serve(r)
		}
	}()
}

// control answers a control frame from a peer sidecar (a frame without
// payload): a health probe gets this sidecar's health with the probe's
// seqID. Kinds this version does not know are ignored.
func (d *Conn) control(frame []byte) {
	h := &d.cur.Header
	if string(h.StrInfo(frame, codec.KeyControl)) != codec.ControlHealth {
		return
	}
	d.s.Stats.HealthProbes.Add(1)
	kind := codec.ControlHealthOK
	if d.s.Healthy != nil && !d.s.Healthy() {
		kind = codec.ControlHealthFail
	}
	buf := bytebufferpool.Get()
	buf.B = codec.AppendControlFrameSeq(buf.B[:0], kind, h.SeqID)
	_ = d.c.WriteFrame(buf.B)
	bytebufferpool.Put(buf)
}

func (d *Conn) noRoute(h *codec.Header) {
	d.s.Stats.NoRoute.Add(1)
	d.failNow(h, codec.KindNoRoute, appendNoRoute)
}

// admit counts a call in flight, or answers it when the connection or the
// sidecar has too many.
func (d *Conn) admit(h *codec.Header) bool {
	if h.MessageType == codec.MessageOneway {
		return true
	}
	if n := d.inflight.Add(1); n > d.s.Limits.MaxInflightPerConnection {
		d.inflight.Add(-1)
		d.s.Stats.OverloadedConn.Add(1)
		d.failNow(h, codec.KindOverloaded, appendConnOverload)
		return false
	}
	if n := d.s.Inflight.Add(1); n > d.s.Limits.MaxInflight {
		d.s.Inflight.Add(-1)
		d.inflight.Add(-1)
		d.s.Stats.OverloadedSidecar.Add(1)
		d.failNow(h, codec.KindOverloaded, appendSidecarOverload)
		return false
	}
	return true
}

// Respond sends an upstream's answer back to the caller.
func (d *Conn) Respond(frame []byte, _ *codec.Header) {
	d.done()
	_ = d.c.WriteFrame(frame)
}

// Fail answers a call the upstream could not complete.
func (d *Conn) Fail(o upstream.Origin, f upstream.Failure) {
	if o.MessageType == codec.MessageOneway {
		d.s.Stats.OnewayDropped.Add(1)
		return
	}
	d.done()
	m := bytebufferpool.Get()
	m.B = f.AppendMessage(m.B[:0])
	d.writeError(o, f.ErrorKind(), m.B)
	bytebufferpool.Put(m)
}

// Reject answers an admitted call that a filter or the forwarder refused.
func (d *Conn) Reject(h *codec.Header, kind codec.ErrorKind, msg string) {
	if h.MessageType == codec.MessageOneway {
		d.s.Stats.OnewayDropped.Add(1)
		return
	}
	d.done()
	m := bytebufferpool.Get()
	m.B = append(m.B[:0], msg...)
	d.writeError(upstream.OriginOf(h), kind, m.B)
	bytebufferpool.Put(m)
}

func (d *Conn) done() {
	d.inflight.Add(-1)
	d.s.Inflight.Add(-1)
}

// Closed is called once the connection has closed.
func (d *Conn) Closed(error) {}

// failNow answers the call h, not admitted, with an error whose message
// appendMsg writes.
func (d *Conn) failNow(h *codec.Header, kind codec.ErrorKind, appendMsg func(*Conn, *codec.Header, []byte) []byte) {
	if h.MessageType == codec.MessageOneway {
		d.s.Stats.OnewayDropped.Add(1)
		return
	}
	m := bytebufferpool.Get()
	m.B = appendMsg(d, h, m.B[:0])
	d.writeError(upstream.OriginOf(h), kind, m.B)
	bytebufferpool.Put(m)
}

// writeError writes a TTHeader answer carrying an exception with msg,
// marked with the om-error key and typed codec.ExceptionKind(kind), built
// in a pooled buffer. The "restarting" answer also carries Kitex's crrst,
// so the client drops the connection.
func (d *Conn) writeError(o upstream.Origin, kind codec.ErrorKind, msg []byte) {
	d.s.Stats.ErrorResponses.Add(1)
	buf := bytebufferpool.Get()
	kv := [2]codec.StrKV{{Key: codec.KeyError, Value: kind.String()}, {Key: codec.KeyConnReset, Value: "1"}}
	fh := codec.FrameHeader{SeqID: o.SeqID, ProtocolID: o.ProtocolID, StrInfo: kv[:1]}
	if kind == codec.KindRestarting {
		fh.StrInfo = kv[:]
	}
	b, start, _ := codec.BeginFrame(buf.B[:0], &fh) // fails only on oversized info, which ours is not
	b = codec.AppendException(b, o.Payload, nil, o.PayloadSeqID, codec.ExceptionKind(kind), msg)
	codec.EndFrame(b, start)
	_ = d.c.WriteFrame(b)
	buf.B = b
	bytebufferpool.Put(buf)
}

func appendNoRoute(d *Conn, h *codec.Header, b []byte) []byte {
	b = append(b, "octomesh: no route: listener "...)
	b = append(b, d.l.Name...)
	b = append(b, " has no route for service "...)
	b = strconv.AppendQuote(b, string(h.Service))
	b = append(b, " method "...)
	b = strconv.AppendQuote(b, string(h.Method))
	if len(h.Service) == 0 {
		b = append(b, " (the request names no to-service: a Kitex client sets it with transmeta.ClientTTHeaderHandler)"...)
	}
	return b
}

func appendNoInstances(_ *Conn, h *codec.Header, b []byte) []byte {
	b = append(b, "octomesh: no instances: service "...)
	b = strconv.AppendQuote(b, string(h.Service))
	return append(b, " has no instances: the control plane lists none (is it registered, and its name spelled the same?)"...)
}

func appendRestarting(_ *Conn, _ *codec.Header, b []byte) []byte {
	return append(b, "octomesh: sidecar restarting: the call was not forwarded; retry it on a new connection (the sdk does)"...)
}

func appendConnOverload(d *Conn, _ *codec.Header, b []byte) []byte {
	b = append(b, "octomesh: sidecar overloaded: too many requests in flight on this connection (limits.max_inflight_per_connection="...)
	b = strconv.AppendInt(b, int64(d.s.Limits.MaxInflightPerConnection), 10)
	return append(b, ')')
}

func appendSidecarOverload(d *Conn, _ *codec.Header, b []byte) []byte {
	b = append(b, "octomesh: sidecar overloaded: too many requests in flight in the sidecar (limits.max_inflight="...)
	b = strconv.AppendInt(b, d.s.Limits.MaxInflight, 10)
	return append(b, ')')
}

// Busy reports calls in flight, which keep the connection open past the
// listener's idle timeout (transport.Busier).
func (d *Conn) Busy() bool { return d.inflight.Load() > 0 }
