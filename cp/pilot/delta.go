package pilot

import (
	"errors"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/internal/grpclite"
)

// The pilot's own delta ADS handler. A stream has two goroutines: its
// reader (serveDelta), which takes each request in turn (subscriptions,
// ACKs and NACKs) and answers it at once if the node lacks something; and
// the handler itself, which only waits to return: when the reader ends,
// when the pilot ends the stream (a redirect: Session.end), or when the
// pilot stops. gRPC ends a stream only when its handler returns, and an
// idle sidecar sends nothing that would wake a handler blocked in Recv,
// hence the second goroutine. A push is written by the fan-out
// (pushDelta) straight to the stream, not handed to a goroutine of the
// stream: per session and push, gRPC's writer wakes to write it, gRPC's
// reader to read the ACK and the stream's reader to record it. Sends on a
// stream are serialised by Session.sendMu.
//
// The protocol is go-control-plane's, whose delta server this replaces:
// after a response of a kind, nothing more of that kind is sent until
// the client's next request of it (its ACK or NACK, or a subscription
// change), which is answered with whatever changed meanwhile; what was
// sent is what the client holds (a NACKed version is not sent again);
// legacy wildcard subscriptions are off ("*" subscribes to no resource).
//
// The usual push, one new version (or the removal) of one resource, is one
// response for every session that gets it: one message with one nonce,
// encoded once (sharedResponse, xdsCodec). A nonce need only be unique per
// stream; the pilot numbers every response it builds from one counter.

// deltaKind is a delta session's state of one kind.
type deltaKind struct {
	// started: the client has sent a request of this kind.
	started bool
	// open: the client answered (or made) a request since the last
	// response of this kind, and the answer found nothing to send: a
	// change may be pushed now.
	open bool
	// returned is what the client was sent: name -> version (absent for
	// a resource it was told does not exist). The first request's
	// initial_resource_versions start it.
	returned map[string]string
	// current: since the last full diff (deltaDiff) every change of a
	// subscribed resource was sent (pushOne found the kind open), so an
	// ACK lacks nothing and opens the kind without a diff (deltaAck).
	current bool
}

type deltaStream = discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesServer

// deltaIDBase numbers delta sessions apart from go-control-plane's
// state-of-the-world streams, which count from 1.
const deltaIDBase = 1 << 40

var errOwnDelta = errors.New("pilot: delta streams are served by the pilot's own handler")

// DeltaAggregatedResources serves one delta ADS stream (gRPC calls it; so
// can an in-process client).
func (s *Server) DeltaAggregatedResources(stream deltaStream) error {
	id := deltaIDBase + s.deltaIDs.Add(1)
	sess, err := s.sessions.open(stream.Context(), id, true)
	if err != nil {
		return err
	}
	defer s.sessions.closed(id)
	sess.out = stream
	if g, ok := stream.(*grpc.GenericServerStream[discovery.DeltaDiscoveryRequest, discovery.DeltaDiscoveryResponse]); ok {
		sess.raw = g.ServerStream
	}
	go func() {
		err := s.snapshot.serveDelta(sess, stream)
		select {
		case sess.done <- err:
		default: // the pilot ends the stream already
		}
	}()
	select {
	case err = <-sess.done:
	case <-s.ctx.Done():
		err = nil
	}
	// Nothing is sent after the handler returns.
	sess.sendMu.Lock()
	sess.sendClosed = true
	sess.sendMu.Unlock()
	return err
}

// serveDelta reads the stream's requests until it ends (nil) or one is
// refused (the error ends the stream).
func (p *Snapshot) serveDelta(s *Session, stream deltaStream) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		if err := p.deltaRequest(s, req); err != nil {
			return err
		}
	}
}

// deltaRequest takes one request: the node and ACK/NACK accounting
// (SessionMgr.request), the subscription changes, and the answer.
func (p *Snapshot) deltaRequest(s *Session, req *discovery.DeltaDiscoveryRequest) error {
	var nack *string
	if d := req.GetErrorDetail(); d != nil {
		msg := d.GetMessage()
		nack = &msg
	}
	if err := p.sessions.request(s, req.GetNode(), req.GetTypeUrl(), req.GetResponseNonce(), nack); err != nil {
		return err
	}
	if req.GetTypeUrl() == "" {
		return status.Errorf(codes.InvalidArgument, "type URL is required for ADS")
	}
	k, ok := kindOf(req.GetTypeUrl())
	if !ok {
		p.log.Debug("pilot: a subscription to a type the pilot does not serve", "node", s.nodeID, "type", req.GetTypeUrl())
		return nil
	}
	add, remove := req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe()
	s.mu.Lock()
	st := s.startedLocked(k, req.GetInitialResourceVersions())
	for _, name := range remove {
		delete(st.returned, name)
	}
	s.mu.Unlock()
	if len(add)+len(remove) > 0 {
		p.ability.change(s, k, add, remove)
		if p.shard != nil && len(add) > 0 && (k == kindCluster || k == kindEndpoint) {
			s.mu.Lock()
			app := s.app
			names := make(map[string]struct{}, len(s.subs[k]))
			for n := range s.subs[k] {
				names[n] = struct{}{}
			}
			s.mu.Unlock()
			p.shard.learn(app, names)
		}
	}
	return p.answerDelta(s, k)
}

// deltaAck is deltaRequest for the usual request, an ACK (decodeAck): a
// type URL and a nonce, nothing else, and nothing allocated for it.
func (p *Snapshot) deltaAck(s *Session, k kind, nonce []byte) error {
	if err := p.sessions.ack(s, k, nonce); err != nil {
		return err
	}
	s.mu.Lock()
	if st := s.startedLocked(k, nil); st.current && s.endErr == nil && !s.gone {
		st.open = true // nothing changed that was not sent: no diff
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return p.answerDelta(s, k)
}

// startedLocked is the session's state of kind k, started by its first
// request with the versions the client says it has (nil: none), which
// also count as ACKed.
func (s *Session) startedLocked(k kind, initial map[string]string) *deltaKind {
	st := &s.dk[k]
	if !st.started {
		st.started = true
		st.returned = initial
		if st.returned == nil {
			st.returned = map[string]string{}
		}
		// What the client says it holds (a reconnection) counts as ACKed:
		// the session shows it, and its next change is timed as a push.
		if len(initial) > 0 && s.acked[k] == nil {
			s.acked[k] = make(map[string]string, len(initial))
		}
		for name, version := range initial {
			s.acked[k][name] = version
		}
	}
	return st
}

// answerDelta sends the session what it lacks of kind k, if anything, else
// lets the next change of k be pushed to it (the watch is open).
func (p *Snapshot) answerDelta(s *Session, k kind) error {
	s.mu.Lock()
	if s.endErr != nil || s.gone { // the handler is ending the stream
		s.mu.Unlock()
		return nil
	}
	st := &s.dk[k]
	st.open = true
	r := p.deltaDiff(s, k)
	st.current = true
	if r == nil {
		s.mu.Unlock()
		return nil
	}
	st.open = false
	p.sessions.sentLocked(s, k, r.Nonce, r.Resources, r.RemovedResources, nil, time.Now())
	s.sent[k].size = proto.Size(r)
	s.mu.Unlock()
	return p.sendDelta(s, &sharedResponse{DeltaDiscoveryResponse: r})
}

// deltaDiff is the Node Snapshot for a delta client, under s.mu: every
// subscribed resource of kind k whose current version differs from the
// one the client was last sent, and every subscribed resource known not
// to exist that the client was not yet told about. Resources whose data
// has not loaded are left out until it has. nil: nothing to send; else
// what the client is sent is recorded as returned.
func (p *Snapshot) deltaDiff(s *Session, k kind) *discovery.DeltaDiscoveryResponse {
	st := &s.dk[k]
	subscribed := s.subs[k]
	if !p.lacks(st, k, subscribed) { // most requests: ACKs of what is current
		return nil
	}
	var updated []*discovery.Resource
	var removed []string
	next := make(map[string]string, len(subscribed))
	for name := range subscribed {
		r, loaded := p.dc.lookup(k, name)
		prev, had := st.returned[name]
		switch {
		case r != nil:
			next[name] = r.version
			if !had || prev != r.version {
				updated = append(updated, r.delta)
			}
		case loaded:
			next[name] = absent
			if prev != absent {
				removed = append(removed, name)
			}
		case had:
			next[name] = prev
		}
	}
	if len(updated) == 0 && len(removed) == 0 {
		return nil
	}
	sort.Slice(updated, func(i, j int) bool { return updated[i].Name < updated[j].Name })
	sort.Strings(removed)
	st.returned = next
	n := strconv.FormatUint(p.version.Add(1), 10)
	return &discovery.DeltaDiscoveryResponse{SystemVersionInfo: n, Nonce: n, TypeUrl: typeURLs[k], Resources: updated, RemovedResources: removed}
}

// lacks reports whether deltaDiff has something to send, without
// allocating.
func (p *Snapshot) lacks(st *deltaKind, k kind, subscribed map[string]struct{}) bool {
	for name := range subscribed {
		r, loaded := p.dc.lookup(k, name)
		prev, had := st.returned[name]
		if r != nil && (!had || prev != r.version) || r == nil && loaded && prev != absent {
			return true
		}
	}
	return false
}

// pushDelta sends the current version of (k, name), or its removal, to
// each of sessions that may be sent one now and lacks it: one response for
// all, encoded once. With many sessions the sends are spread over
// GOMAXPROCS goroutines.
func (p *Snapshot) pushDelta(k kind, name string, sessions []*Session) {
	r, loaded := p.dc.lookup(k, name)
	if r == nil && !loaded {
		return
	}
	var (
		once   sync.Once
		shared *sharedResponse
	)
	msg := func() *sharedResponse {
		once.Do(func() {
			n := strconv.FormatUint(p.version.Add(1), 10)
			resp := &discovery.DeltaDiscoveryResponse{SystemVersionInfo: n, Nonce: n, TypeUrl: typeURLs[k]}
			if r != nil {
				resp.Resources = []*discovery.Resource{r.delta}
			} else {
				resp.RemovedResources = []string{name}
			}
			shared = &sharedResponse{DeltaDiscoveryResponse: resp}
			if wire, err := proto.Marshal(resp); err == nil {
				shared.wire = wire
			}
		})
		return shared
	}
	work := func(list []*Session) {
		var b grpclite.Batch // the lean streams' writes, one io_uring submission per ring's capacity
		for _, s := range list {
			p.pushOne(s, k, name, r, msg, &b)
		}
		b.Flush()
	}
	workers := min(runtime.GOMAXPROCS(0), len(sessions)/256+1)
	if workers <= 1 {
		work(sessions)
		return
	}
	var wg sync.WaitGroup
	per := (len(sessions) + workers - 1) / workers
	for i := 0; i < len(sessions); i += per {
		part := sessions[i:min(i+per, len(sessions))]
		wg.Go(func() { work(part) })
	}
	wg.Wait()
}

// pushOne sends msg to s if s may be sent one now and lacks r (nil: name
// does not exist).
func (p *Snapshot) pushOne(s *Session, k kind, name string, r *encoded, msg func() *sharedResponse, b *grpclite.Batch) {
	s.mu.Lock()
	st := &s.dk[k]
	if s.endErr != nil || s.gone {
		s.mu.Unlock()
		return
	}
	if _, ok := s.subs[k][name]; !ok {
		s.mu.Unlock()
		return
	}
	if !st.open { // its answer to the last response brings it (answerDelta)
		st.current = false
		s.mu.Unlock()
		return
	}
	prev, had := st.returned[name]
	version := absent
	if r != nil {
		version = r.version
	}
	if had && prev == version || r == nil && prev == absent {
		s.mu.Unlock()
		return
	}
	m := msg()
	st.returned[name] = version
	st.open = false
	// What the client has not answered may still fill the stream's
	// flow-control window, past which gRPC's SendMsg blocks until the
	// client reads: the fan-out must not wait on one stuck client, so
	// such a send has a goroutine of its own (rare: a push goes to a
	// session that answered its last response of this kind).
	unanswered := 0
	for i := range s.sent {
		if s.sent[i].nonce != "" {
			unanswered += s.sent[i].size
		}
	}
	p.sessions.sentLocked(s, k, m.Nonce, m.Resources, m.RemovedResources, r, time.Now())
	s.sent[k].size = m.size()
	lean := s.lean != nil // its Send never waits for the client
	s.mu.Unlock()
	if !lean && unanswered+m.size() > inlineSendLimit {
		go func() { _ = p.sendDelta(s, m) }()
		return
	}
	if lean && m.wire != nil {
		s.sendMu.Lock()
		if !s.sendClosed {
			_ = b.Send(s.lean, m.wire) // a broken stream: its reader sees it end
		}
		s.sendMu.Unlock()
		return
	}
	_ = p.sendDelta(s, m) // a broken stream: its reader sees it end
}

// inlineSendLimit bounds what a stream may have unanswered for the fan-out
// to write a push to it itself: well under gRPC's per-stream write quota
// (64 KiB), so that SendMsg does not block.
var inlineSendLimit = 32 << 10 // a variable for tests

// sendDelta writes m to s's stream, unless its handler has returned.
func (p *Snapshot) sendDelta(s *Session, m *sharedResponse) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.sendClosed {
		return nil
	}
	if s.lean != nil {
		wire := m.wire
		if wire == nil {
			var err error
			if wire, err = proto.Marshal(m.DeltaDiscoveryResponse); err != nil {
				return err
			}
		}
		return s.lean.Send(wire)
	}
	if s.raw != nil {
		return s.raw.SendMsg(m)
	}
	return s.out.Send(m.DeltaDiscoveryResponse)
}

// sharedResponse is a delta response that may go to many streams, with
// its encoding (wire) when it was encoded once for all of them. It is a
// proto message itself (the embedded response's), so that a gRPC server
// without xdsCodec encodes it as usual.
type sharedResponse struct {
	*discovery.DeltaDiscoveryResponse
	wire []byte
}

func (m *sharedResponse) size() int {
	if m.wire != nil {
		return len(m.wire)
	}
	return proto.Size(m.DeltaDiscoveryResponse)
}

// xdsCodec is gRPC's proto codec, except that a sharedResponse encoded
// once is sent as its bytes. XDSServerOptions installs it.
type xdsCodec struct{}

func (xdsCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*sharedResponse); ok && m.wire != nil {
		return mem.BufferSlice{mem.SliceBuffer(m.wire)}, nil // never freed into a pool
	}
	return encoding.GetCodecV2(protocodec.Name).Marshal(v)
}

func (xdsCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2(protocodec.Name).Unmarshal(data, v)
}

func (xdsCodec) Name() string { return protocodec.Name }
