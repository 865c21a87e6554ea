package pilot

import (
	"crypto/tls"
	"fmt"
	"time"
	"unicode/utf8"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/internal/grpclite"
)

// The lean transport of the xDS port (internal/grpclite): delta ADS
// streams on a connection with one goroutine, which reads the client's
// frames and runs the delta handler's request handling (deltaRequest)
// right there, until the stream's first message (admission) was handled;
// a plain connection is then read by grpclite's event loop, which runs
// the same handling for the ACKs and requests that follow. A push is written by the fan-out to the connection
// (grpclite.Batch: one io_uring submission for many connections;
// like Stream.Send, it never waits for the client: what the client's
// window does not take is queued); a redirect (Session.end)
// writes the stream's trailers at once. Every other connection on the
// port (one whose first stream is another method: state-of-the-world
// ADS, anything registered on the grpc.Server) is handed to the
// grpc.Server.

// Transports of the xDS port (Options.XDSTransport).
const (
	TransportLean = "lean"
	TransportGRPC = "grpc"
)

// deltaADSMethod is the gRPC method of delta ADS.
const deltaADSMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"

// checkTransport checks Options.XDSTransport; "" is lean.
func checkTransport(t string) (string, error) {
	switch t {
	case "", TransportLean:
		return TransportLean, nil
	case TransportGRPC:
		return t, nil
	}
	return "", fmt.Errorf("pilot: xds transport %q: want %q or %q", t, TransportLean, TransportGRPC)
}

// LeanServer returns the lean transport of the xDS port, serving delta
// ADS streams with this server; with tlsCfg (XDSTLS) every connection is
// TLS, and the grpc.Server that serves its Fallback needs
// grpclite.HandshakenTLS as its credentials. Keepalive as
// XDSServerOptions: an idle client is pinged after 30 s and dropped if it
// does not answer in 20 s.
func (s *Server) LeanServer(tlsCfg *tls.Config) *grpclite.Server {
	return grpclite.NewServer(grpclite.Options{Path: deltaADSMethod, Open: s.openLean, TLS: tlsCfg,
		KeepaliveTime: 30 * time.Second, KeepaliveTimeout: 20 * time.Second})
}

// openLean opens the session of a delta ADS stream on the lean
// transport.
func (s *Server) openLean(st *grpclite.Stream) (grpclite.Handler, error) {
	id := deltaIDBase + s.deltaIDs.Add(1)
	sess, err := s.sessions.open(st.Context(), id, true)
	if err != nil {
		return nil, err
	}
	sess.mu.Lock()
	sess.lean = st
	ended := sess.endErr // the pilot ended it before it was the stream's
	sess.mu.Unlock()
	if ended != nil {
		s.sessions.closed(id)
		return nil, ended
	}
	return &leanSession{srv: s, s: sess}, nil
}

// leanSession is a delta session's grpclite.Handler.
type leanSession struct {
	srv *Server
	s   *Session
}

// Message takes one request, in the connection's goroutine; an error ends
// the stream with it.
func (h *leanSession) Message(p []byte) error {
	if k, nonce, ok := decodeAck(p); ok {
		return h.srv.snapshot.deltaAck(h.s, k, nonce)
	}
	req := &discovery.DeltaDiscoveryRequest{}
	if err := proto.Unmarshal(p, req); err != nil {
		return status.Errorf(codes.InvalidArgument, "octomesh pilot: a delta request that does not decode: %v", err)
	}
	return h.srv.snapshot.deltaRequest(h.s, req)
}

// The fields of a DeltaDiscoveryRequest that an ACK has.
const (
	fieldTypeURL       protowire.Number = 2
	fieldResponseNonce protowire.Number = 6
)

// decodeAck decodes the usual request, an ACK (a type URL the pilot serves
// and a nonce, nothing else), without protobuf's reflection and without
// allocating: one per session and push. nonce is p's (nil: none).
// Anything else is not ok, and proto.Unmarshal decodes it (or says why it
// does not decode).
func decodeAck(p []byte) (k kind, nonce []byte, ok bool) {
	var typeURL []byte
	for len(p) > 0 {
		num, typ, n := protowire.ConsumeTag(p)
		if n < 0 || typ != protowire.BytesType {
			return 0, nil, false
		}
		v, m := protowire.ConsumeBytes(p[n:])
		if m < 0 {
			return 0, nil, false
		}
		p = p[n+m:]
		if !utf8.Valid(v) { // proto.Unmarshal checks every occurrence of a string, not only the last
			return 0, nil, false
		}
		switch num {
		case fieldTypeURL: // a repeated field: the last one counts, as in proto.Unmarshal
			typeURL = v
		case fieldResponseNonce:
			nonce = v
		default:
			return 0, nil, false
		}
	}
	for i, u := range typeURLs {
		if string(typeURL) == u { // compared, not allocated
			return kind(i), nonce, true
		}
	}
	return 0, nil, false
}

// Closed: the stream ended (the client went, the pilot ended it, the
// connection broke): nothing more is sent, the session goes.
func (h *leanSession) Closed() {
	h.s.sendMu.Lock()
	h.s.sendClosed = true
	h.s.sendMu.Unlock()
	h.srv.sessions.closed(h.s.id)
}
