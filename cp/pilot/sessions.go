package pilot

import (
	"context"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/internal/grpclite"
)

// Session is one connected xDS client (a sidecar, or a proxyless gRPC
// client) for the life of its stream: who it is, what it subscribes to, the
// watch the stream has open per resource kind, and what it acknowledged.
type Session struct {
	id     int64
	delta  bool
	opened time.Time
	// certApp is the app of the peer's certificate when the pilot requires
	// one (SessionMgr.requireIdentity): the only app the stream may name.
	certApp string

	mu     sync.Mutex
	nodeID string
	app    string
	// zone and inbound are the node's zone and its inbound addresses
	// (api/scanner.NodeInboundKey): what the scanners check when the
	// stream drops.
	zone    string
	inbound []string
	subs    [numKinds]map[string]struct{} // mirrored in the Ability Manager
	watch   [numKinds]*watch              // nil: no watch open (a response awaits its ACK)
	sent    [numKinds]sentResponse        // the last response of each kind
	acked   [numKinds]map[string]string   // name -> version the client has ACKed
	nacks   uint64
	nacked  string // the last NACK's error message
	// pending is the request the stream is about to make a watch for
	// (see SessionMgr.forRequest).
	pending any

	// admin is the sidecar's admin address (api/scanner.NodeAdminKey).
	admin string
	// sotwSent marks kinds a state-of-the-world response was sent for.
	sotwSent [numKinds]bool
	// endErr, once set, ends the stream (a redirect): it is delivered as
	// the answer to an open watch, now or when the stream opens its next
	// one (Session.end); endSent once it was.
	endErr  error
	endSent bool

	// The delta stream's state (delta.go): per kind what was last sent
	// and whether a change may be sent now; the stream, written under
	// sendMu by the stream's reader and the fan-out; done wakes the
	// stream's handler to end it.
	dk   [numKinds]deltaKind
	gone bool // closed: subscriptions are no longer indexed
	out  deltaStream
	raw  grpc.ServerStream // out's gRPC stream, to send pre-encoded responses; nil in process
	// lean is the stream on the lean transport (lean.go), instead of
	// out and raw: set under mu before anything is sent.
	lean       *grpclite.Stream
	sendMu     sync.Mutex
	sendClosed bool
	done       chan error
}

// watch is one open go-control-plane watch of a state-of-the-world
// stream: the cache answers it at most once, then the stream opens a new
// one with the client's next request.
type watch struct {
	sotwReq *discovery.DiscoveryRequest
	sub     cache.Subscription
	sotwCh  chan cache.Response
}

type sentResponse struct {
	nonce     string
	resources []*discovery.Resource // updated (shared, read-only)
	removed   []string
	// pushed is, for a push (a new version of a resource the session
	// held), when the change reached the Data Cache; sentAt when the
	// response was handed to the stream (Unix ns; 0: not a push).
	pushed, sentAt int64
	// size is a delta response's encoded size: while it awaits its
	// answer, it may still be in gRPC's buffers (delta.go, pushOne).
	size int
}

// SessionMgr keeps one Session per stream: streams opening and closing,
// requests (subscriptions, ACKs and NACKs) and responses (what was sent
// under which nonce). The delta handler (delta.go) calls it directly; for
// state-of-the-world streams it is go-control-plane's server callbacks.
type SessionMgr struct {
	log     *slog.Logger
	stats   *Stats
	ability *abilityMgr

	// gate decides which apps this pilot serves; nil serves all.
	gate gate
	// requireIdentity: streams come over mutual TLS (Options.XDSTLS), and
	// each may name only the app of its certificate.
	requireIdentity bool
	// dropped, when set, is told about a stream that ended without the
	// pilot ending it (the sidecar went, or its connection broke): the
	// scanners' fast path. It must not block.
	dropped func(zone string, inbound []string)

	// mu guards sessions and byApp; the push path only reads them.
	mu       sync.RWMutex
	sessions map[int64]*Session
	// byApp indexes sessions by their node's app, to move an app's
	// sessions to another pilot.
	byApp map[string]map[*Session]struct{}
	// byRequest finds the session of a state-of-the-world request (any
	// -> *Session): go-control-plane calls OnStreamRequest(streamID, req)
	// and then CreateWatch(req, ...) with the same request but no stream
	// ID. A sync.Map: no lock is shared between sessions.
	byRequest sync.Map
}

func newSessionMgr(log *slog.Logger, stats *Stats, ability *abilityMgr) *SessionMgr {
	return &SessionMgr{log: log, stats: stats, ability: ability, sessions: map[int64]*Session{},
		byApp: map[string]map[*Session]struct{}{}}
}

func (m *SessionMgr) open(ctx context.Context, id int64, delta bool) (*Session, error) {
	certApp := ""
	if m.requireIdentity {
		peerID, err := streamIdentity(ctx)
		if err != nil {
			m.stats.IdentityRefused.Add(1)
			return nil, err
		}
		certApp = peerID.App
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if apps := md.Get(meta.AppHeader); len(apps) > 0 {
			if err := checkApp("metadata "+meta.AppHeader, apps[0]); err != nil {
				return nil, err
			}
			if certApp != "" && apps[0] != certApp {
				m.stats.IdentityRefused.Add(1)
				return nil, status.Errorf(codes.PermissionDenied, "octomesh pilot: metadata %s names app %q, but the sidecar's certificate is app %q", meta.AppHeader, apps[0], certApp)
			}
			if m.gate != nil {
				if err := m.gate.admit(apps[0]); err != nil {
					return nil, err
				}
			}
		}
	}
	s := &Session{id: id, delta: delta, opened: time.Now(), certApp: certApp}
	if delta {
		s.done = make(chan error, 1)
	}
	m.mu.Lock()
	m.sessions[id] = s
	m.mu.Unlock()
	m.stats.Sessions.Add(1)
	return s, nil
}

// checkApp checks the app a stream names in field (as Meta checks it:
// meta.CheckApp) before the pilot indexes it or, as a shard, writes its
// record to etcd; a bad one refuses the stream with InvalidArgument.
func checkApp(field, app string) error {
	if err := meta.CheckApp(app); err != nil {
		return status.Errorf(codes.InvalidArgument, "octomesh pilot: %s (the app): %v", field, err)
	}
	return nil
}

func (m *SessionMgr) closed(id int64) {
	m.mu.Lock()
	s := m.sessions[id]
	delete(m.sessions, id)
	if s != nil {
		s.mu.Lock()
		if s.pending != nil {
			m.byRequest.Delete(s.pending)
		}
		if set := m.byApp[s.app]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(m.byApp, s.app)
			}
		}
		s.mu.Unlock()
	}
	m.mu.Unlock()
	if s == nil {
		return
	}
	m.ability.forget(s)
	m.stats.Sessions.Add(-1)
	s.mu.Lock()
	byPilot, zone, inbound := s.endErr != nil, s.zone, s.inbound
	s.mu.Unlock()
	if !byPilot && len(inbound) > 0 && m.dropped != nil {
		m.dropped(zone, inbound)
	}
	m.log.Debug("pilot: session closed", "session", id, "node", s.nodeID)
}

// request records a request: the node on the first one, then ACK or NACK
// of the response it answers, and makes it findable by forRequest. The
// first request names the node and its app: if this pilot does not serve
// the app, the error (a redirect) ends the stream.
func (m *SessionMgr) request(s *Session, node *core.Node, typeURL, nonce string, nack *string) error {
	s.mu.Lock()
	first := s.nodeID == "" && node != nil
	if s.endErr != nil && !s.endSent { // ended while no watch was open
		s.endSent = true
		err := s.endErr
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()
	if first {
		if err := checkApp("node.cluster", node.GetCluster()); err != nil {
			m.log.Warn("pilot: stream refused: bad app name", "session", s.id, "node", node.GetId(), "err", err)
			return err
		}
		if s.certApp != "" && node.GetCluster() != s.certApp {
			m.stats.IdentityRefused.Add(1)
			m.log.Warn("pilot: stream refused: the node names another app than its certificate", "session", s.id, "node", node.GetId(), "app", node.GetCluster(), "certificate_app", s.certApp)
			return status.Errorf(codes.PermissionDenied, "octomesh pilot: node %q names app %q (node.cluster), but its certificate is app %q", node.GetId(), node.GetCluster(), s.certApp)
		}
		if m.gate != nil {
			if err := m.gate.admit(node.GetCluster()); err != nil {
				return err
			}
		}
		// A stream's requests come one at a time, and its end (closed)
		// after the last: nothing else sets the node.
		m.mu.Lock()
		s.mu.Lock()
		s.nodeID, s.app = node.GetId(), node.GetCluster()
		s.zone, s.inbound = node.GetLocality().GetZone(), nodeInbound(node)
		s.admin = nodeAdmin(node)
		set := m.byApp[s.app]
		if set == nil {
			set = map[*Session]struct{}{}
			m.byApp[s.app] = set
		}
		set[s] = struct{}{}
		s.mu.Unlock()
		m.mu.Unlock()
		m.log.Debug("pilot: session opened", "session", s.id, "node", s.nodeID, "app", s.app, "delta", s.delta)
	}
	k, ok := kindOf(typeURL)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m.answeredLocked(s, k, []byte(nonce), nack)
	return nil
}

// ack is request for the usual request, an ACK: a type URL and a nonce,
// no node, no error.
func (m *SessionMgr) ack(s *Session, k kind, nonce []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endErr != nil && !s.endSent { // ended while no watch was open
		s.endSent = true
		return s.endErr
	}
	m.answeredLocked(s, k, nonce, nil)
	return nil
}

// answeredLocked takes a request's answer to what was last sent of kind
// k, if nonce names it (ACK, or NACK with nack), under s.mu.
func (m *SessionMgr) answeredLocked(s *Session, k kind, nonce []byte, nack *string) {
	if len(nonce) == 0 || string(nonce) != s.sent[k].nonce {
		return // a subscription change, or a stale nonce
	}
	sent := s.sent[k]
	s.sent[k].nonce = "" // answered
	if nack != nil {
		s.nacks++
		s.nacked = *nack
		m.stats.Nacks.Add(1)
		rejected := make([]string, 0, len(sent.resources))
		for _, r := range sent.resources {
			rejected = append(rejected, r.GetName()+"@"+r.GetVersion())
		}
		m.log.Warn("pilot: NACK; the session stays on its last acknowledged version",
			"node", s.nodeID, "type", k.String(), "nonce", string(nonce), "rejected", rejected, "removed", sent.removed, "error", *nack)
		return
	}
	m.stats.Acks.Add(1)
	if sent.pushed != 0 {
		now := time.Now().UnixNano()
		m.stats.AckDelay.Record(time.Duration(now - sent.sentAt))
		m.stats.PushAcked.Record(time.Duration(now - sent.pushed))
		m.stats.LastPushAck.Store(now)
		m.stats.lastPush.ack(sent.pushed, now)
	}
	if s.acked[k] == nil {
		s.acked[k] = map[string]string{}
	}
	for _, r := range sent.resources {
		s.acked[k][r.GetName()] = r.GetVersion()
	}
	for _, name := range sent.removed {
		delete(s.acked[k], name)
	}
}

// endApp ends the streams of every session of app with err (a redirect):
// the stream's next step reads a response that fails with it. It returns
// the number of sessions ended.
func (m *SessionMgr) endApp(app string, err func() error) int {
	m.mu.RLock()
	list := make([]*Session, 0, len(m.byApp[app]))
	for s := range m.byApp[app] {
		list = append(list, s)
	}
	m.mu.RUnlock()
	n := 0
	for _, s := range list {
		if s.end(err()) {
			n++
		}
	}
	return n
}

// end ends the session's stream with err: a response that fails to
// build, given as the answer to one of its open watches, makes
// go-control-plane end the stream with that error. If no watch is open
// (every kind awaits an ACK), the stream's next request (the ACK) is
// refused with err, which ends it the same way. Never sent to the stream's
// channel outside a watch: go-control-plane closes it when the stream
// ends, after cancelling the open watches (which clear s.watch under
// s.mu), so only an open watch's channel is safe to send on.
func (s *Session) end(err error) bool {
	s.mu.Lock()
	if s.endErr != nil {
		s.mu.Unlock()
		return false
	}
	s.endErr = err
	if lean := s.lean; lean != nil { // a delta stream on the lean transport: its trailers are written now
		s.endSent = true
		s.mu.Unlock()
		lean.End(err)
		return true
	}
	defer s.mu.Unlock()
	if s.done != nil { // a delta stream: its handler waits for this
		select {
		case s.done <- err:
		default: // the stream is ending already
		}
		s.endSent = true
		return true
	}
	for k, w := range s.watch {
		if w != nil && s.deliverEndLocked(w) {
			s.watch[k] = nil
			break
		}
	}
	return true
}

// deliverEndLocked answers w with the session's end, once.
func (s *Session) deliverEndLocked(w *watch) bool {
	if s.endSent {
		return false
	}
	select {
	case w.sotwCh <- &failedSotw{err: s.endErr}:
	default:
		return false
	}
	s.endSent = true
	return true
}

// failedSotw is a response that fails to build: the way to end a
// go-control-plane stream from the cache's side.
type failedSotw struct {
	cache.Response
	err error
}

func (r *failedSotw) GetDiscoveryResponse() (*discovery.DiscoveryResponse, error) { return nil, r.err }
func (r *failedSotw) GetRequest() *discovery.DiscoveryRequest                     { return nil }

// forRequest returns (and forgets) the session of a request just recorded.
func (m *SessionMgr) forRequest(req any) *Session {
	v, _ := m.byRequest.LoadAndDelete(req)
	s, _ := v.(*Session)
	if s != nil {
		s.mu.Lock()
		if s.pending == req {
			s.pending = nil // not kept for the life of the session
		}
		s.mu.Unlock()
	}
	return s
}

// response records what is about to be sent on a state-of-the-world
// stream.
func (m *SessionMgr) response(id int64, typeURL, nonce string, resources []*discovery.Resource, removed []string) {
	m.mu.RLock()
	s := m.sessions[id]
	m.mu.RUnlock()
	k, ok := kindOf(typeURL)
	if s == nil || !ok {
		return
	}
	s.mu.Lock()
	m.sentLocked(s, k, nonce, resources, removed, nil, time.Now())
	s.mu.Unlock()
}

// sentLocked records, under s.mu, the response of kind k about to be sent
// to s under nonce; for a delta session each new version of a resource it
// held is a push, timed from the change reaching the Data Cache. current,
// if not nil, is the Data Cache's current resource of the one sent.
func (m *SessionMgr) sentLocked(s *Session, k kind, nonce string, resources []*discovery.Resource, removed []string, current *encoded, now time.Time) {
	sent := sentResponse{nonce: nonce, resources: resources, removed: removed}
	for _, r := range resources {
		// A new version of a resource the session holds: a push.
		if held, ok := s.acked[k][r.GetName()]; ok && held != r.GetVersion() && s.delta {
			e := current
			if e == nil || len(resources) != 1 {
				e, _ = m.ability.dc.lookup(k, r.GetName())
			}
			if e != nil && e.version == r.GetVersion() {
				m.stats.PushDelay.Record(now.Sub(e.at))
				if at := e.at.UnixNano(); sent.pushed == 0 || at < sent.pushed {
					sent.pushed, sent.sentAt = at, now.UnixNano()
				}
			}
		}
	}
	s.sent[k] = sent
	m.stats.Pushes.Add(1)
	m.stats.ResourcesSent.Add(uint64(len(resources) + len(removed)))
}

// go-control-plane callbacks (server/v3.Callbacks).

// OnStreamOpen is called for a state-of-the-world stream.
func (m *SessionMgr) OnStreamOpen(ctx context.Context, id int64, _ string) error {
	_, err := m.open(ctx, id, false)
	return err
}

// OnStreamClosed ends the session.
func (m *SessionMgr) OnStreamClosed(id int64, _ *core.Node) { m.closed(id) }

// OnDeltaStreamOpen is never called: the pilot serves delta streams
// itself (delta.go).
func (m *SessionMgr) OnDeltaStreamOpen(context.Context, int64, string) error { return errOwnDelta }

// OnDeltaStreamClosed is never called.
func (m *SessionMgr) OnDeltaStreamClosed(int64, *core.Node) {}

// OnStreamRequest records a state-of-the-world request and makes it
// findable by forRequest.
func (m *SessionMgr) OnStreamRequest(id int64, req *discovery.DiscoveryRequest) error {
	m.mu.RLock()
	s := m.sessions[id]
	m.mu.RUnlock()
	if s == nil {
		return nil
	}
	if err := m.request(s, req.GetNode(), req.GetTypeUrl(), req.GetResponseNonce(), errorMessage(req.GetErrorDetail().GetMessage(), req.GetErrorDetail() != nil)); err != nil {
		return err
	}
	s.mu.Lock()
	if s.pending != nil {
		m.byRequest.Delete(s.pending)
	}
	s.pending = req
	m.byRequest.Store(req, s)
	s.mu.Unlock()
	return nil
}

// OnStreamResponse records a state-of-the-world response.
func (m *SessionMgr) OnStreamResponse(_ context.Context, id int64, _ *discovery.DiscoveryRequest, resp *discovery.DiscoveryResponse) {
	// State of the world: the whole response has one version.
	m.response(id, resp.GetTypeUrl(), resp.GetNonce(), []*discovery.Resource{{Name: "*", Version: resp.GetVersionInfo()}}, nil)
}

// OnStreamDeltaRequest is never called.
func (m *SessionMgr) OnStreamDeltaRequest(int64, *discovery.DeltaDiscoveryRequest) error {
	return errOwnDelta
}

// OnStreamDeltaResponse is never called.
func (m *SessionMgr) OnStreamDeltaResponse(int64, *discovery.DeltaDiscoveryRequest, *discovery.DeltaDiscoveryResponse) {
}

// OnFetchRequest refuses REST fetches: the pilot serves streams only.
func (m *SessionMgr) OnFetchRequest(context.Context, *discovery.DiscoveryRequest) error {
	return errNoFetch
}

// OnFetchResponse is never called.
func (m *SessionMgr) OnFetchResponse(*discovery.DiscoveryRequest, *discovery.DiscoveryResponse) {}

func errorMessage(msg string, present bool) *string {
	if !present {
		return nil
	}
	return &msg
}

// SessionInfo describes a session for the debug API.
type SessionInfo struct {
	ID            int64                        `json:"id"`
	Node          string                       `json:"node"`
	App           string                       `json:"app"`
	Delta         bool                         `json:"delta"`
	Opened        time.Time                    `json:"opened"`
	Subscriptions map[string][]string          `json:"subscriptions"`
	Acked         map[string]map[string]string `json:"acked"`
	Nacks         uint64                       `json:"nacks"`
	LastNack      string                       `json:"last_nack,omitempty"`
}

// Sessions describes every session, sorted by node.
func (m *SessionMgr) Sessions() []SessionInfo {
	m.mu.RLock()
	list := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		list = append(list, s)
	}
	m.mu.RUnlock()
	out := make([]SessionInfo, 0, len(list))
	for _, s := range list {
		s.mu.Lock()
		info := SessionInfo{ID: s.id, Node: s.nodeID, App: s.app, Delta: s.delta, Opened: s.opened,
			Subscriptions: map[string][]string{}, Acked: map[string]map[string]string{}, Nacks: s.nacks, LastNack: s.nacked}
		for k := range numKinds {
			if len(s.subs[k]) > 0 {
				names := make([]string, 0, len(s.subs[k]))
				for n := range s.subs[k] {
					names = append(names, n)
				}
				sort.Strings(names)
				info.Subscriptions[k.String()] = names
			}
			if len(s.acked[k]) > 0 {
				info.Acked[k.String()] = maps.Clone(s.acked[k])
			}
		}
		s.mu.Unlock()
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].ID < out[j].ID
	})
	return out
}
