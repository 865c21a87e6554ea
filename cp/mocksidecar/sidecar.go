package mocksidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
)

// Resource types, by index.
const (
	tCluster = iota
	tEndpoint
	tRoute
	tListener
	numTypes
)

var typeURLs = [numTypes]string{resource.ClusterType, resource.EndpointType, resource.RouteType, resource.ListenerType}
var typeNames = map[string]int{"cluster": tCluster, "endpoint": tEndpoint, "route": tRoute, "listener": tListener}

func typeOf(url string) int {
	for i, u := range typeURLs {
		if u == url {
			return i
		}
	}
	return -1
}

// How a simulated sidecar finds its pilot, as proxy/xds does.
const (
	maxRedirects = 3
	metaWait     = 15 * time.Second
	reconnectMax = 2 * time.Second
)

// A counter is one of a sidecar's counts, which assert can check and the
// report sums: an array index, not a map key, since a push bumps several
// for each of thousands of sidecars.
type counter int

const (
	cConnects counter = iota
	cRedirects
	cLookups
	cLosses
	cMoves
	cResponses
	cAcks
	cNacks
	cResources
	cRemoved
	cStamps
	numCounters
)

// counterNames names the counters, by index.
var counterNames = [numCounters]string{"connects", "redirects", "lookups", "losses", "moves",
	"responses", "acks", "nacks", "resources", "removed", "stamps"}

// counterOf is the counter named name.
func counterOf(name string) (counter, bool) {
	for c, n := range counterNames {
		if n == name {
			return counter(c), true
		}
	}
	return 0, false
}

// held is what the sidecar knows of one resource.
type held struct {
	version   string
	exists    bool           // false: the pilot said it does not exist
	endpoints []string       // sorted
	eps       []heldEndpoint // in the order received: address, weight, health (healthy, unhealthy, draining)
	md        []keyValue     // endpoint metadata, merged (newest value of each key wins)
	stamp     int64          // a route configuration's newest cluster stamp (Unix ns; 0: none)
	at        time.Time      // when it arrived
}

type pendingResponse struct {
	resp *discovery.DeltaDiscoveryResponse
	at   time.Time
}

// target is a pilot to open a stream to.
type target struct{ id, xds string }

// sidecar is one simulated sidecar.
type sidecar struct {
	e         *engine
	index     int
	id, app   string
	appHeader bool
	// moveJitter spreads the sidecars of a lost pilot over this long
	// before they connect to the app's new owner.
	moveJitter time.Duration
	zone       string
	set        string

	sendMu sync.Mutex

	mu        sync.Mutex
	autoAck   bool
	state     [numTypes]map[string]*held
	acked     [numTypes]map[string]string // versions ACKed: sent again on reconnecting
	subs      [numTypes]map[string]bool
	pending   []pendingResponse
	perType   [numTypes]int // responses received, per type
	stream    adsStream
	pilot     target
	connected bool // a response arrived on the current stream
	// streamStart is when the current stream opened.
	streamStart time.Time
	changed     chan struct{}
	watched     bool // changed was handed out since it was made
	// wakeQuiet is the waiting expect step's wake_quiet (0: none);
	// wakeDeferred, that the engine's quietWaker holds a wake for it.
	wakeQuiet    time.Duration
	wakeDeferred bool
	counts       [numCounters]int
	moveFrom     string    // the pilot the sidecar is moving away from
	moveStart    time.Time // when that stream ended
	moveSeq      int
	override     map[string]map[string]string // reconnect versions for the next stream
	stamps       map[string]int64             // route stamps recorded, by resource (SidecarSpec.RouteStamps)

	loopCancel context.CancelFunc
	loopDone   chan struct{}
	conn       *grpc.ClientConn // the gRPC-go transport's
	connTo     string
	lean       bool   // the lean transport (lean.go)
	leanHdr    []byte // its request headers, for leanHdrTo
	leanHdrTo  string
}

func newSidecar(e *engine, index int, id, app, zone, set string, autoAck bool) *sidecar {
	s := &sidecar{e: e, index: index, id: id, app: app, zone: zone, set: set, autoAck: autoAck,
		changed: make(chan struct{}), stamps: map[string]int64{}}
	for t := range numTypes {
		s.state[t], s.acked[t], s.subs[t] = map[string]*held{}, map[string]string{}, map[string]bool{}
	}
	s.subs[tRoute][app] = true // like a sidecar: its app's route rules
	return s
}

// notifyLocked wakes whoever waits for the sidecar's state to change. A
// new channel is made only when the last was handed out (watchLocked):
// most responses come while no step waits.
func (s *sidecar) notifyLocked() {
	if !s.watched {
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.watched = false
}

// watchLocked is the channel closed at the sidecar's next change.
func (s *sidecar) watchLocked() <-chan struct{} {
	s.watched = true
	return s.changed
}

// wait calls cond under s.mu until it holds, d passes or the run ends.
// It waits on one channel, the sidecar's (watchLocked): a timer started
// only if cond does not hold at once, and the run's end (Run), wake it
// there. Not a context derived from the run's, nor a select on it: every
// step of thousands of sidecars would register a child with that one
// context under its lock, or park on its one channel (a tenth of the
// simulated sidecars' CPU in a push).
func (s *sidecar) wait(d time.Duration, cond func() bool) bool {
	var (
		t       *time.Timer
		expired atomic.Bool
	)
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return true
		}
		ch := s.watchLocked()
		s.mu.Unlock()
		if expired.Load() || s.e.ctx.Err() != nil {
			return false
		}
		if t == nil {
			t = time.AfterFunc(d, func() {
				expired.Store(true)
				s.wake()
			})
		}
		<-ch
	}
}

// wake wakes the sidecar's wait, to see that its time is up or the run
// ended.
func (s *sidecar) wake() {
	s.mu.Lock()
	s.watched = true
	s.notifyLocked()
	s.mu.Unlock()
}

// start runs the connection loop: find the pilot, stream, and on losing
// the stream find it again, until stop.
func (s *sidecar) start(direct string, versions map[string]map[string]string) {
	ctx, cancel := context.WithCancel(s.e.ctx)
	s.mu.Lock()
	s.loopCancel, s.loopDone = cancel, make(chan struct{})
	s.override = versions
	s.connected = false
	s.mu.Unlock()
	go s.loop(ctx, direct)
}

func (s *sidecar) stop() {
	s.mu.Lock()
	cancel, done := s.loopCancel, s.loopDone
	s.loopCancel, s.loopDone = nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *sidecar) close() {
	s.stop()
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

func (s *sidecar) count(c counter) {
	s.mu.Lock()
	s.counts[c]++
	s.mu.Unlock()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *sidecar) loop(ctx context.Context, direct string) {
	s.mu.Lock()
	done := s.loopDone
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.connected, s.stream = false, nil
		s.notifyLocked()
		s.mu.Unlock()
		close(done)
	}()
	backoff := 100 * time.Millisecond
	var next target
	avoid := ""
	redirects := 0
	failed, failures := "", 0 // the pilot that failed before a first response, how often in a row
	lost := ""                // the pilot whose working stream broke, retried without a look-up
	for ctx.Err() == nil {
		t := next
		next = target{}
		if t.xds == "" {
			switch {
			case direct != "":
				t = target{xds: direct}
			case s.e.meta == nil:
				t = target{xds: s.e.opts.Pilot}
			default:
				s.count(cLookups)
				wait := time.Duration(0)
				if avoid != "" {
					wait = metaWait
				}
				lctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
				p, err := s.e.meta.Owner(lctx, s.app, avoid, wait)
				cancel()
				if err != nil {
					if ctx.Err() == nil {
						s.e.log.Debug("mocksidecar: meta look-up failed", "sidecar", s.id, "err", err)
					}
					if !sleepCtx(ctx, backoff/2+rand.N(backoff/2+1)) {
						return
					}
					backoff = min(2*backoff, reconnectMax)
					continue
				}
				t = target{id: p.ID, xds: p.XDS}
				if avoid != "" && t.id != avoid && s.moveJitter > 0 && !sleepCtx(ctx, rand.N(s.moveJitter)) {
					return
				}
			}
		}
		started := time.Now()
		err := s.session(ctx, t)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		wasConnected := s.connected
		s.connected, s.stream = false, nil
		if wasConnected && s.moveFrom == "" {
			s.moveFrom, s.moveStart = t.id, time.Now()
		}
		s.notifyLocked()
		s.mu.Unlock()
		if to, ok := redirectOf(err); ok && redirects < maxRedirects {
			redirects++
			s.count(cRedirects)
			next, avoid = to, ""
			continue
		}
		redirects = 0
		avoid = ""
		_, redirected := redirectOf(err)
		switch {
		case redirected || grpcstatus.Code(err) == codes.Aborted:
			failed, failures, lost = "", 0, ""
		case wasConnected:
			// Try the same pilot again without a look-up: it may be alive
			// (if the app moved, it redirects).
			s.count(cLosses)
			failed, failures, lost = "", 0, t.id
		default:
			// Unreachable twice in a row (once may be a full listen
			// queue): wait for Meta to name another (the report that
			// lets Meta evict a dead pilot).
			if t.id != failed {
				failed, failures = t.id, 0
			}
			if failures++; failures >= 2 {
				avoid, failures, lost = t.id, 0, ""
			}
		}
		if lost != "" && lost == t.id && direct == "" && s.e.meta != nil {
			next = t
		}
		if time.Since(started) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		s.e.log.Debug("mocksidecar: stream ended", "sidecar", s.id, "pilot", t.id, "err", err)
		if !sleepCtx(ctx, backoff/2+rand.N(backoff/2+1)) {
			return
		}
		backoff = min(2*backoff, reconnectMax)
	}
}

// redirectOf reads a pilot's redirect (api/meta) from a stream's error.
func redirectOf(err error) (target, bool) {
	p, ok := meta.RedirectOf(err)
	return target{id: p.ID, xds: p.XDS}, ok
}

func (s *sidecar) dial(t target) (*grpc.ClientConn, error) {
	if s.conn != nil && s.connTo == t.xds {
		return s.conn, nil
	}
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	network, address, err := config.ParseAddress(t.xds)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient("passthrough:///"+address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: sourceAddr(s.index, network, address)}
			return d.DialContext(ctx, network, address)
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 20 * time.Second, PermitWithoutStream: true}),
		// Small buffers: thousands of simulated sidecars share a process.
		grpc.WithReadBufferSize(4<<10), grpc.WithWriteBufferSize(4<<10),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10),
	)
	if err != nil {
		return nil, err
	}
	s.conn, s.connTo = conn, t.xds
	return conn, nil
}

// session runs one stream: initial requests (the node, the
// subscriptions, the versions held), then responses until it breaks.
func (s *sidecar) session(ctx context.Context, t target) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := s.open(sctx, t)
	if err != nil {
		return err
	}
	ls, _ := stream.(*leanStream)
	if ls != nil {
		defer ls.Close()
		if ls.lp != nil {
			// An event loop reads the stream and runs receive
			// (leanloop.go); this goroutine waits for its end.
			ls.Serve(func(resp *discovery.DeltaDiscoveryResponse) error { return s.receive(ls, t, resp) })
		}
	}
	s.sendMu.Lock()
	s.mu.Lock()
	s.pilot = t
	s.stream = stream
	s.streamStart = time.Now()
	s.pending = nil
	override := s.override
	s.override = nil
	var reqs []*discovery.DeltaDiscoveryRequest
	for ty := range numTypes {
		if len(s.subs[ty]) == 0 {
			continue
		}
		names := make([]string, 0, len(s.subs[ty]))
		for n := range s.subs[ty] {
			names = append(names, n)
		}
		sort.Strings(names)
		versions := cloneVersions(s.acked[ty])
		if override != nil {
			versions = override[typeNamesOf[ty]]
		}
		reqs = append(reqs, &discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[ty], ResourceNamesSubscribe: names, InitialResourceVersions: versions})
	}
	s.mu.Unlock()
	reqs[0].Node = &core.Node{Id: s.id, Cluster: s.app, Locality: &core.Locality{Zone: s.zone, SubZone: s.set}, UserAgentName: "octomesh-mocksidecar"}
	if err := sendAll(stream, reqs); err != nil {
		s.sendMu.Unlock()
		if ls != nil && ls.lp != nil {
			return ls.Wait()
		}
		_, err = stream.Recv() // the status says why
		return err
	}
	s.sendMu.Unlock()
	if ls != nil && ls.lp != nil {
		return ls.Wait()
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if err := s.receive(stream, t, resp); err != nil {
			return err
		}
	}
}

// open opens a stream to t on the sidecar's transport.
func (s *sidecar) open(ctx context.Context, t target) (adsStream, error) {
	if s.lean {
		if s.leanHdr == nil || s.leanHdrTo != t.xds {
			authority := "localhost"
			if network, address, err := config.ParseAddress(t.xds); err == nil && network != "unix" {
				authority = address
			}
			app := ""
			if s.appHeader {
				app = s.app
			}
			s.leanHdr, s.leanHdrTo = headerBlock(authority, app), t.xds
		}
		return dialLean(ctx, t.xds, s.leanHdr, s.index)
	}
	conn, err := s.dial(t)
	if err != nil {
		return nil, err
	}
	if s.appHeader {
		ctx = metadata.AppendToOutgoingContext(ctx, meta.AppHeader, s.app)
	}
	return discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
}

// sendAll sends the requests, in one write on the lean transport.
func sendAll(stream adsStream, reqs []*discovery.DeltaDiscoveryRequest) error {
	if ls, ok := stream.(*leanStream); ok {
		return ls.SendAll(reqs)
	}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			return err
		}
	}
	return nil
}

var typeNamesOf = [numTypes]string{"cluster", "endpoint", "route", "listener"}

func cloneVersions(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// receive applies a response to what the sidecar knows, and ACKs it if
// auto_ack is on.
func (s *sidecar) receive(stream adsStream, t target, resp *discovery.DeltaDiscoveryResponse) error {
	now := time.Now()
	ty := typeOf(resp.GetTypeUrl())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[cResponses]++
	if !s.connected {
		s.connected = true
		s.counts[cConnects]++
	}
	if ty < 0 {
		s.notifyLocked()
		return nil
	}
	s.perType[ty]++
	for _, r := range resp.GetResources() {
		h, err := decode(ty, r)
		if err != nil {
			s.e.fail("receive", fmt.Sprintf("sidecar %s: %v", s.id, err))
			continue
		}
		h.at = now
		s.state[ty][r.GetName()] = h
		s.counts[cResources]++
	}
	for _, name := range resp.GetRemovedResources() {
		s.state[ty][name] = &held{exists: false, at: now}
		s.counts[cRemoved]++
	}
	if s.autoAck {
		s.ackLocked(resp)
		if err := s.sendLocked(stream, &discovery.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}); err != nil {
			return err
		}
		s.movedLocked(t)
	} else {
		s.pending = append(s.pending, pendingResponse{resp: resp, at: now})
	}
	if s.wakeQuiet > 0 && s.watched {
		s.e.quiet.deferLocked(s, now, s.wakeQuiet)
		return nil
	}
	s.notifyLocked()
	return nil
}

// sendLocked sends on the stream; s.mu is held, and sendMu is taken
// (the lock order is sendMu then mu elsewhere, so it is only tried).
func (s *sidecar) sendLocked(stream adsStream, r *discovery.DeltaDiscoveryRequest) error {
	s.mu.Unlock()
	defer s.mu.Lock()
	if ls, ok := stream.(*leanStream); ok && ls.lp != nil {
		// On the event loop, which must not wait for sendMu (its holder
		// may wait for send window, which the loop brings): the stream
		// orders its senders itself.
		return ls.SendDeferred(r)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if ls, ok := stream.(*leanStream); ok {
		return ls.SendDeferred(r) // receive runs on the stream's reader
	}
	return stream.Send(r)
}

// ackLocked records the versions of an ACKed response.
func (s *sidecar) ackLocked(resp *discovery.DeltaDiscoveryResponse) {
	ty := typeOf(resp.GetTypeUrl())
	s.counts[cAcks]++
	for _, r := range resp.GetResources() {
		s.acked[ty][r.GetName()] = r.GetVersion()
	}
	if ty == tRoute && s.e.script.Sidecar.RouteStamps {
		s.stampsLocked(resp, time.Now())
	}
	for _, name := range resp.GetRemovedResources() {
		delete(s.acked[ty], name)
	}
}

// movedLocked completes a move when the first response on a new pilot
// is ACKed.
func (s *sidecar) movedLocked(t target) {
	if s.moveFrom == "" {
		return
	}
	if t.id != s.moveFrom {
		s.counts[cMoves]++
		s.moveSeq++
		s.e.moved(time.Since(s.moveStart), time.Now())
	}
	s.moveFrom = ""
}

// send sends a request on the current stream (if there is one).
func (s *sidecar) send(r *discovery.DeltaDiscoveryRequest) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	stream := s.stream
	s.mu.Unlock()
	if stream == nil {
		return nil // the next stream sends the subscriptions
	}
	if err := stream.Send(r); err != io.EOF {
		return err
	}
	// The stream has ended and its reader has yet to say why (a redirect
	// while the pilots' shards settle, a lost pilot): the session loop
	// takes its status and opens the next stream, which sends what the
	// steps recorded, as when no stream is open.
	return nil
}

// answer ACKs or NACKs the oldest unanswered response of type ty (-1:
// any), waiting for one for up to d.
func (s *sidecar) answer(d time.Duration, ty int, nack string) error {
	var p pendingResponse
	ok := s.wait(d, func() bool {
		for i, q := range s.pending {
			if ty < 0 || typeOf(q.resp.GetTypeUrl()) == ty {
				p = q
				s.pending = slices.Delete(s.pending, i, i+1)
				return true
			}
		}
		return false
	})
	if !ok {
		return errors.New("no response to answer")
	}
	req := &discovery.DeltaDiscoveryRequest{TypeUrl: p.resp.GetTypeUrl(), ResponseNonce: p.resp.GetNonce()}
	s.mu.Lock()
	if nack != "" {
		req.ErrorDetail = &status.Status{Code: int32(codes.InvalidArgument), Message: nack}
		s.counts[cNacks]++
	} else {
		s.ackLocked(p.resp)
		s.movedLocked(s.pilot)
	}
	s.mu.Unlock()
	return s.send(req)
}

// decode reads a resource into what expect checks: an endpoint resource
// with protowire (wire.go), the others fully unmarshalled.
func decode(ty int, r *discovery.Resource) (*held, error) {
	if r.GetResource() == nil {
		return nil, fmt.Errorf("resource %q has no body", r.GetName())
	}
	if ty != tEndpoint {
		return decodeFull(ty, r)
	}
	if h := decoded.get(r); h != nil {
		return h, nil
	}
	h := &held{version: r.GetVersion(), exists: true}
	if err := decodeEndpoints(r, h); err != nil {
		return nil, err
	}
	decoded.put(r, h)
	return h, nil
}

// decoded shares the process's decoded endpoint resources among its
// sidecars: in a push, thousands receive the same body. Each gets its own
// copy of the held, whose slices, never changed after decoding, are shared.
var decoded decodedCache

type decodedCache struct {
	mu sync.Mutex
	m  map[string]decodedEntry // by body
	// byResource holds recent decodings by the resource itself: the
	// sidecars a loop reads share one decoded response (responseCache),
	// so most look-ups are of a resource already seen, found without
	// the lock or hashing the body. Slot: the resource's address.
	byResource [64]atomic.Pointer[decodedEntry]
}

type decodedEntry struct {
	name, url string // the resource's name and its body's type URL
	h         *held
	r         *discovery.Resource // in byResource
}

func resourceSlot(r *discovery.Resource) int {
	return int(uintptr(unsafe.Pointer(r))>>6) % 64
}

// maxDecoded bounds the cache: when full it starts again.
const maxDecoded = 4096

func (c *decodedCache) get(r *discovery.Resource) *held {
	slot := &c.byResource[resourceSlot(r)]
	if e := slot.Load(); e != nil && e.r == r {
		h := *e.h
		return &h
	}
	c.mu.Lock()
	e, ok := c.m[string(r.GetResource().GetValue())]
	c.mu.Unlock()
	if !ok || e.name != r.GetName() || e.url != r.GetResource().GetTypeUrl() || e.h.version != r.GetVersion() {
		return nil
	}
	e.r = r
	slot.Store(&e)
	h := *e.h
	return &h
}

func (c *decodedCache) put(r *discovery.Resource, h *held) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecoded {
		c.m = make(map[string]decodedEntry)
	}
	kept := *h
	c.m[string(r.GetResource().GetValue())] = decodedEntry{name: r.GetName(), url: r.GetResource().GetTypeUrl(), h: &kept}
	c.mu.Unlock()
}

// decodeFull reads a resource by unmarshalling its body into Envoy's
// type.
func decodeFull(ty int, r *discovery.Resource) (*held, error) {
	h := &held{version: r.GetVersion(), exists: true}
	if r.GetResource() == nil {
		return nil, fmt.Errorf("resource %q has no body", r.GetName())
	}
	var m proto.Message
	switch ty {
	case tCluster:
		m = &cluster.Cluster{}
	case tEndpoint:
		m = &endpoint.ClusterLoadAssignment{}
	case tRoute:
		m = &route.RouteConfiguration{}
	case tListener:
		m = &listener.Listener{}
	}
	if err := r.GetResource().UnmarshalTo(m); err != nil {
		return nil, fmt.Errorf("resource %q: %v", r.GetName(), err)
	}
	if rc, ok := m.(*route.RouteConfiguration); ok {
		h.stamp = RouteStamp(rc)
	}
	if cla, ok := m.(*endpoint.ClusterLoadAssignment); ok {
		for _, loc := range cla.GetEndpoints() {
			for _, e := range loc.GetLbEndpoints() {
				sa := e.GetEndpoint().GetAddress().GetSocketAddress()
				var md []keyValue
				for k, v := range e.GetMetadata().GetFilterMetadata()["octomesh"].GetFields() {
					md = append(md, keyValue{k, v.GetStringValue()})
				}
				h.addEndpoint(sa.GetAddress(), sa.GetPortValue(), e.GetLoadBalancingWeight().GetValue(), int32(e.GetHealthStatus()), md)
			}
		}
		sort.Strings(h.endpoints)
	}
	return h, nil
}

// Route stamps (SidecarSpec.RouteStamps): the samples' labels in a
// report.
const (
	RouteStampLabel   = "route stamp -> ACK"
	RouteStampAtLabel = "route_stamp_unix_ns"
)

// RouteStamp is the newest stamp among the clusters rc's routes name (a
// cluster name ending in ".t" and a Unix time in ns, 19 digits): 0 if
// none is stamped.
func RouteStamp(rc *route.RouteConfiguration) int64 {
	var newest int64
	see := func(name string) {
		i := strings.LastIndex(name, ".t")
		if i < 0 || len(name)-i-2 != 19 {
			return
		}
		if ns, err := strconv.ParseInt(name[i+2:], 10, 64); err == nil && ns > newest {
			newest = ns
		}
	}
	for _, vh := range rc.GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			a := r.GetRoute()
			see(a.GetCluster())
			for _, w := range a.GetWeightedClusters().GetClusters() {
				see(w.GetName())
			}
		}
	}
	return newest
}

// stampsLocked records, for each route resource of an ACKed response
// whose stamp the sidecar has not recorded yet, the time from its stamp
// to ack.
func (s *sidecar) stampsLocked(resp *discovery.DeltaDiscoveryResponse, ack time.Time) {
	for _, r := range resp.GetResources() {
		h := s.state[tRoute][r.GetName()]
		if h == nil || h.stamp == 0 || s.stamps[r.GetName()] == h.stamp {
			continue
		}
		s.stamps[r.GetName()] = h.stamp
		s.counts[cStamps]++
		s.e.stamped(ack.Sub(time.Unix(0, h.stamp)), h.stamp)
	}
}

// pilotTarget is what the sidecar's stream is open to, for reports.
func (s *sidecar) current() (target, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pilot, s.connected
}
