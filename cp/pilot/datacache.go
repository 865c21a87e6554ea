package pilot

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/octomesh/octomesh/api/registry"
)

// Source is where the Data Cache gets raw data: the registry, through the
// Diplomat (cp/store), or a fake in tests and benchmarks. Every method
// blocks until ctx ends, calling update with the whole current value at
// once and after every change, one call at a time.
type Source interface {
	// WatchService reports service's instances.
	WatchService(ctx context.Context, service string, update func([]registry.Instance))
	// WatchPolicy reports service's policy; nil means none.
	WatchPolicy(ctx context.Context, service string, update func(*registry.ServicePolicy))
	// WatchHealth reports the scanners' health marks on service's
	// instances, by address; an instance without one is healthy.
	WatchHealth(ctx context.Context, service string, update func(map[string]registry.HealthMark))
	// WatchRoutes reports app's route rules; nil means none.
	WatchRoutes(ctx context.Context, app string, update func(*registry.AppRoutes))
}

// dataCache is the first layer of the Snapshot: the raw data of every
// service (and app) some session cares about, and its resources, each
// encoded once per version. It holds exactly one entry per service however
// many sessions use it, with three Source watches (instances, health marks
// and policy),
// opened when the first session subscribes and closed when the last one
// leaves; and one entry per app, with one watch (route rules).
type dataCache struct {
	src   Source
	log   *slog.Logger
	ctx   context.Context
	stats *Stats
	// changed is called after an entry's resources of kind k changed
	// (published with an atomic store): the Ability Manager pushes them.
	changed func(k kind, name string)

	mu       sync.RWMutex
	services map[string]*entry
	apps     map[string]*entry
}

// entry is one service's (or app's) data. Its resources are replaced
// whole, with atomic stores; readers never lock an entry.
type entry struct {
	name   string
	refs   int // (kind, name) pairs with a session; guarded by dataCache.mu
	cancel context.CancelFunc
	loaded atomic.Bool // the first value of every watch has arrived
	res    [numKinds]atomic.Pointer[encoded]

	// A service's raw data, from its three watches, whose updates it
	// serialises.
	mu           sync.Mutex
	instances    []registry.Instance
	marks        map[string]registry.HealthMark
	policy       *registry.ServicePolicy
	hasInstances bool // the first value of each watch has arrived
	hasMarks     bool
	hasPolicy    bool
}

func newDataCache(ctx context.Context, src Source, log *slog.Logger, stats *Stats, changed func(kind, string)) *dataCache {
	return &dataCache{src: src, log: log, ctx: ctx, stats: stats, changed: changed,
		services: map[string]*entry{}, apps: map[string]*entry{}}
}

func (dc *dataCache) table(k kind) map[string]*entry {
	if k.byApp() {
		return dc.apps
	}
	return dc.services
}

// lookup returns the current resource of kind k named name, and whether
// the data behind it has loaded (a nil resource that has loaded does not
// exist).
func (dc *dataCache) lookup(k kind, name string) (*encoded, bool) {
	dc.mu.RLock()
	e := dc.table(k)[name]
	dc.mu.RUnlock()
	if e == nil {
		return nil, false
	}
	return e.res[k].Load(), e.loaded.Load()
}

// acquire notes one more (kind, name) interest and opens the watch on the
// first one. The caller (the Ability Manager) serialises acquire and
// release.
func (dc *dataCache) acquire(k kind, name string) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	t := dc.table(k)
	e := t[name]
	if e == nil {
		e = &entry{name: name}
		t[name] = e
		ctx, cancel := context.WithCancel(dc.ctx)
		e.cancel = cancel
		dc.stats.Watches.Add(1)
		dc.watchCount(k).Add(1)
		if k.byApp() {
			go dc.src.WatchRoutes(ctx, name, func(r *registry.AppRoutes) { dc.updateRoutes(e, r) })
		} else {
			go dc.src.WatchService(ctx, name, func(list []registry.Instance) { dc.updateInstances(e, list) })
			go dc.src.WatchHealth(ctx, name, func(m map[string]registry.HealthMark) { dc.updateMarks(e, m) })
			go dc.src.WatchPolicy(ctx, name, func(p *registry.ServicePolicy) { dc.updatePolicy(e, p) })
		}
	}
	e.refs++
}

// release drops one interest and closes the watch after the last.
func (dc *dataCache) release(k kind, name string) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	t := dc.table(k)
	e := t[name]
	if e == nil {
		return
	}
	if e.refs--; e.refs == 0 {
		e.cancel()
		delete(t, name)
		dc.stats.Watches.Add(-1)
		dc.watchCount(k).Add(-1)
	}
}

func (dc *dataCache) watchCount(k kind) *atomic.Int64 {
	if k.byApp() {
		return &dc.stats.RouteWatches
	}
	return &dc.stats.ServiceWatches
}

// updateInstances records a service's instances and rebuilds its
// assignment (its Cluster and Listener only when the service appears).
func (dc *dataCache) updateInstances(e *entry, instances []registry.Instance) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.instances, e.hasInstances = instances, true
	dc.rebuildService(e, false)
}

// updateMarks records a service's health marks and rebuilds its
// assignment, as a change of its instances does.
func (dc *dataCache) updateMarks(e *entry, marks map[string]registry.HealthMark) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.marks, e.hasMarks = marks, true
	dc.rebuildService(e, false)
}

// updatePolicy records a service's policy and rebuilds its Cluster and
// Listener (not its assignment).
func (dc *dataCache) updatePolicy(e *entry, p *registry.ServicePolicy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.policy, e.hasPolicy = p, true
	dc.rebuildService(e, true)
}

// rebuildService rebuilds a service's resources once its watches have
// reported, under e.mu. A service exists while it has at least one
// instance. Its Cluster and Listener depend on its name and policy, so they
// are rebuilt when the policy changed (policyChanged) or the service
// appears; its assignment when the instances changed. Only kinds whose
// version changed are pushed.
func (dc *dataCache) rebuildService(e *entry, policyChanged bool) {
	if !e.hasInstances || !e.hasMarks || !e.hasPolicy {
		return
	}
	first := !e.loaded.Load()
	var next [numKinds]*encoded
	if len(e.instances) > 0 {
		var err error
		next[kindCluster], next[kindListener] = e.res[kindCluster].Load(), e.res[kindListener].Load()
		if policyChanged || next[kindCluster] == nil {
			next[kindCluster], next[kindListener], err = dc.encodePolicy(e.name, e.policy)
		}
		next[kindEndpoint] = e.res[kindEndpoint].Load()
		if err == nil && (!policyChanged || first || next[kindEndpoint] == nil) {
			next[kindEndpoint], err = encode(e.name, buildAssignment(e.name, e.instances, e.marks))
		}
		if err != nil {
			dc.log.Error("pilot: cannot encode service resources; keeping the last", "service", e.name, "err", err)
			return
		}
	}
	dc.publish(e, []kind{kindCluster, kindEndpoint, kindListener}, next)
}

// encodePolicy builds and encodes service's Cluster and Listener.
func (dc *dataCache) encodePolicy(service string, p *registry.ServicePolicy) (c, l *encoded, err error) {
	cl, err := BuildCluster(service, p)
	if err != nil {
		return nil, nil, err
	}
	if c, err = encode(service, cl); err != nil {
		return nil, nil, err
	}
	ln, err := BuildListener(service, p)
	if err != nil {
		return nil, nil, err
	}
	if l, err = encode(service, ln); err != nil {
		return nil, nil, err
	}
	return c, l, nil
}

// updateRoutes rebuilds an app's RouteConfiguration (none without rules).
func (dc *dataCache) updateRoutes(e *entry, routes *registry.AppRoutes) {
	var next [numKinds]*encoded
	if routes != nil {
		built, err := buildRoutes(e.name, routes.Routes)
		var rc *encoded
		if err == nil {
			rc, err = encode(e.name, built)
		}
		if err != nil {
			dc.log.Error("pilot: cannot encode routes; keeping the last", "app", e.name, "err", err)
			return
		}
		next[kindRoute] = rc
	}
	dc.publish(e, []kind{kindRoute}, next)
}

// publish stores the kinds whose version changed and pushes them; on the
// first load every kind is pushed, so that waiting sessions learn that a
// resource does not exist.
func (dc *dataCache) publish(e *entry, kinds []kind, next [numKinds]*encoded) {
	first := !e.loaded.Load()
	var changed []kind
	for _, k := range kinds {
		old := e.res[k].Load()
		if old == nil && next[k] == nil || old != nil && next[k] != nil && old.version == next[k].version {
			if first {
				changed = append(changed, k)
			}
			continue
		}
		if next[k] != nil {
			dc.stats.Versions.Add(1)
			dc.stats.LastChange.Store(next[k].at.UnixNano())
		}
		e.res[k].Store(next[k])
		changed = append(changed, k)
	}
	e.loaded.Store(true)
	for _, k := range changed {
		dc.stats.Changes.Add(1)
		dc.changed(k, e.name)
	}
}
