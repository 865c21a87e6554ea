package pilot

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sort"
	"strconv"
	"sync/atomic"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/types/known/anypb"

	pilotapi "github.com/octomesh/octomesh/api/pilot"
)

var errNoFetch = errors.New("pilot: REST fetch is not served; open an xDS stream")

// absent marks, in a client's version map, a subscribed resource the
// client has been told does not exist.
const absent = pilotapi.Absent

// Snapshot answers the delta streams (delta.go) and go-control-plane's
// state-of-the-world watches (it implements cache.Cache) from three
// layers:
//
//   - the Data Cache (dataCache): raw data and resources encoded once per
//     version, one registry watch per service;
//   - the Node Snapshot (deltaDiff, sotwResponse): for one node, which
//     of those resources it lacks or holds in an old version, computed from
//     its subscriptions and what it was last sent;
//   - the Ability Manager (abilityMgr): which sessions subscribe to each
//     resource, so that a change is pushed only to them.
//
// Kinds are independent: a change of a service's endpoints pushes its
// ClusterLoadAssignment and nothing else.
type Snapshot struct {
	dc       *dataCache
	ability  *abilityMgr
	sessions *SessionMgr
	log      *slog.Logger
	stats    *Stats
	version  atomic.Uint64
	// shard is set on a pilot that is one shard of several.
	shard *shard
}

// CreateDeltaWatch implements cache.ConfigWatcher, but is never called:
// the pilot serves delta streams itself (delta.go).
func (p *Snapshot) CreateDeltaWatch(*cache.DeltaRequest, cache.Subscription, chan cache.DeltaResponse) (func(), error) {
	return nil, errOwnDelta
}

// CreateWatch implements cache.ConfigWatcher for state-of-the-world
// streams (proxyless gRPC clients).
func (p *Snapshot) CreateWatch(req *cache.Request, sub cache.Subscription, ch chan cache.Response) (func(), error) {
	s := p.sessions.forRequest(req)
	if s == nil {
		return nil, errors.New("pilot: a request from a stream without a session")
	}
	k, ok := kindOf(req.GetTypeUrl())
	if !ok {
		return func() {}, nil
	}
	s.mu.Lock()
	same := len(s.subs[k]) == len(sub.SubscribedResources())
	for name := range sub.SubscribedResources() {
		if _, ok := s.subs[k][name]; !ok {
			same = false
			break
		}
	}
	s.mu.Unlock()
	if !same {
		p.ability.update(s, k, sub.SubscribedResources())
	}
	return p.open(s, k, &watch{sotwReq: req, sub: sub, sotwCh: ch}), nil
}

// Fetch implements cache.ConfigFetcher: not served.
func (p *Snapshot) Fetch(context.Context, *cache.Request) (cache.Response, error) {
	return nil, errNoFetch
}

// open answers w now if there is something to send, else parks it on the
// session until a push or its cancellation.
func (p *Snapshot) open(s *Session, k kind, w *watch) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endErr != nil { // the stream is being ended (Session.end)
		s.deliverEndLocked(w)
		return func() {}
	}
	if p.answer(s, k, w) {
		return func() {}
	}
	s.watch[k] = w
	return func() {
		s.mu.Lock()
		if s.watch[k] == w {
			s.watch[k] = nil
		}
		s.mu.Unlock()
	}
}

// push sends the new version of (k, name) to every subscribed session
// that may be sent one now: a delta session that answered its last
// response of kind k (pushDelta), a state-of-the-world session with a
// watch open; the others get it with their next request.
func (p *Snapshot) push(k kind, name string) {
	var delta []*Session
	p.ability.each(k, name, func(s *Session) {
		if s.delta {
			delta = append(delta, s)
			return
		}
		s.mu.Lock()
		if w := s.watch[k]; w != nil && p.answer(s, k, w) {
			s.watch[k] = nil
		}
		s.mu.Unlock()
	})
	if len(delta) > 0 {
		p.pushDelta(k, name, delta)
	}
}

// answer computes a state-of-the-world node's response to w and
// delivers it; it reports whether it did. Called with s.mu held.
func (p *Snapshot) answer(s *Session, k kind, w *watch) bool {
	r := p.sotwResponse(s, k, w)
	if r == nil {
		return false
	}
	select {
	case w.sotwCh <- r:
		s.sotwSent[k] = true
	default:
		p.log.Error("pilot: a stream's response channel is full", "node", s.nodeID, "type", k.String())
	}
	return true
}

// sotwResponse is the Node Snapshot for a state-of-the-world client: all
// its subscribed resources that exist, once every one of them has loaded,
// when that set or a version in it differs from the last one sent (or
// nothing was sent yet). nil: nothing to send.
func (p *Snapshot) sotwResponse(s *Session, k kind, w *watch) *sotwResponse {
	returned := w.sub.ReturnedResources()
	subscribed := w.sub.SubscribedResources()
	names := make([]string, 0, len(subscribed))
	for name := range subscribed {
		names = append(names, name)
	}
	sort.Strings(names)
	next := make(map[string]string, len(names))
	var list []*anypb.Any
	changed := !s.sotwSent[k]
	h := fnv.New64a()
	for _, name := range names {
		r, loaded := p.dc.lookup(k, name)
		if !loaded {
			return nil
		}
		if r == nil {
			if _, had := returned[name]; had {
				changed = true
			}
			continue
		}
		next[name] = r.version
		list = append(list, r.any)
		h.Write([]byte(name + "=" + r.version + ";"))
		if returned[name] != r.version {
			changed = true
		}
	}
	for name := range returned {
		if _, ok := next[name]; !ok {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return &sotwResponse{req: w.sotwReq, version: strconv.FormatUint(h.Sum64(), 16), resources: list, returned: next}
}

// sotwResponse implements cache.Response over shared encodings.
type sotwResponse struct {
	req       *discovery.DiscoveryRequest
	version   string
	resources []*anypb.Any
	returned  map[string]string
}

func (r *sotwResponse) GetDiscoveryResponse() (*discovery.DiscoveryResponse, error) {
	return &discovery.DiscoveryResponse{VersionInfo: r.version, TypeUrl: r.req.GetTypeUrl(), Resources: r.resources}, nil
}
func (r *sotwResponse) GetRequest() *discovery.DiscoveryRequest { return r.req }
func (r *sotwResponse) GetVersion() (string, error)             { return r.version, nil }
func (r *sotwResponse) GetResponseVersion() string              { return r.version }
func (r *sotwResponse) GetReturnedResources() map[string]string { return r.returned }
func (r *sotwResponse) GetContext() context.Context             { return context.Background() }
