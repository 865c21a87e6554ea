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

// Snapshot answers go-control-plane's watches (it implements cache.Cache)
// from three layers:
//
//   - the Data Cache (dataCache): raw data and resources encoded once per
//     version, one registry watch per service;
//   - the Node Snapshot (deltaResponse, sotwResponse): for one node, which
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

// CreateDeltaWatch implements cache.ConfigWatcher for delta streams: it
// answers at once if the node lacks something, else keeps the watch open
// until a push.
func (p *Snapshot) CreateDeltaWatch(req *cache.DeltaRequest, sub cache.Subscription, ch chan cache.DeltaResponse) (func(), error) {
	s := p.sessions.forRequest(req)
	if s == nil {
		return nil, errors.New("pilot: a request from a stream without a session")
	}
	k, ok := kindOf(req.GetTypeUrl())
	if !ok {
		p.log.Debug("pilot: a subscription to a type the pilot does not serve", "node", s.nodeID, "type", req.GetTypeUrl())
		return func() {}, nil
	}
	if len(req.GetResourceNamesSubscribe())+len(req.GetResourceNamesUnsubscribe()) > 0 {
		p.ability.update(s, k, sub.SubscribedResources())
		if p.shard != nil && len(req.GetResourceNamesSubscribe()) > 0 && (k == kindCluster || k == kindEndpoint) {
			s.mu.Lock()
			app := s.app
			s.mu.Unlock()
			p.shard.learn(app, sub.SubscribedResources())
		}
	}
	return p.open(s, k, &watch{deltaReq: req, sub: sub, deltaCh: ch}), nil
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
// that has a watch open; the others get it with their next request.
func (p *Snapshot) push(k kind, name string) {
	p.ability.each(k, name, func(s *Session) {
		s.mu.Lock()
		if w := s.watch[k]; w != nil && p.answer(s, k, w) {
			s.watch[k] = nil
		}
		s.mu.Unlock()
	})
}

// answer computes the node's response to w and delivers it; it reports
// whether it did. Called with s.mu held.
func (p *Snapshot) answer(s *Session, k kind, w *watch) bool {
	if w.deltaCh != nil {
		r := p.deltaResponse(k, w)
		if r == nil {
			return false
		}
		select {
		case w.deltaCh <- r:
		default: // the stream holds room for one answer per watch
			p.log.Error("pilot: a stream's response channel is full", "node", s.nodeID, "type", k.String())
		}
		return true
	}
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

// deltaResponse is the Node Snapshot for a delta client: every subscribed
// resource whose current version differs from the one the client was last
// sent, and every subscribed resource known not to exist that the client
// was not yet told about. Resources whose data has not loaded are left
// out until it has. nil: nothing to send.
func (p *Snapshot) deltaResponse(k kind, w *watch) *deltaResponse {
	returned := w.sub.ReturnedResources()
	subscribed := w.sub.SubscribedResources()
	var updated []*discovery.Resource
	var removed []string
	next := make(map[string]string, len(subscribed))
	for name := range subscribed {
		r, loaded := p.dc.lookup(k, name)
		prev, had := returned[name]
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
	return &deltaResponse{req: w.deltaReq, version: strconv.FormatUint(p.version.Add(1), 10), resources: updated, removed: removed, next: next}
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

// deltaResponse implements cache.DeltaResponse over shared encodings.
type deltaResponse struct {
	req       *discovery.DeltaDiscoveryRequest
	version   string
	resources []*discovery.Resource
	removed   []string
	next      map[string]string
}

func (r *deltaResponse) GetDeltaDiscoveryResponse() (*discovery.DeltaDiscoveryResponse, error) {
	return &discovery.DeltaDiscoveryResponse{
		SystemVersionInfo: r.version,
		TypeUrl:           r.req.GetTypeUrl(),
		Resources:         r.resources,
		RemovedResources:  r.removed,
	}, nil
}
func (r *deltaResponse) GetDeltaRequest() *discovery.DeltaDiscoveryRequest { return r.req }
func (r *deltaResponse) GetSystemVersion() (string, error)                 { return r.version, nil }
func (r *deltaResponse) GetResponseVersion() string                        { return r.version }
func (r *deltaResponse) GetNextVersionMap() map[string]string              { return r.next }
func (r *deltaResponse) GetReturnedResources() map[string]string           { return r.next }
func (r *deltaResponse) GetContext() context.Context                       { return context.Background() }

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
