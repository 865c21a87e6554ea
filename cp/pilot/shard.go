package pilot

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
)

// gate decides which apps a pilot serves.
type gate interface {
	// admit returns nil if this pilot serves app, else the error to end
	// the stream with: a redirect to the app's owner.
	admit(app string) error
}

// ShardOptions make a pilot one shard of a sharded control plane.
type ShardOptions struct {
	// ID names the pilot (unique among pilots; a restarted pilot keeps
	// its id, and so gets its apps back).
	ID string
	// LeaseTTL bounds how long the pilot's apps stay with it after it
	// dies; default 5s, at least 2s.
	LeaseTTL time.Duration
	// Advertise is the xDS address sidecars are sent to; default the
	// address the pilot listens on.
	Advertise string
}

// ShardStats counts what a shard did.
type ShardStats struct {
	// Owned is the number of apps the pilot owns now; Preloaded the
	// services it holds for them before any sidecar asks.
	Owned, Preloaded atomic.Int64
	// Redirects counts streams refused or ended because another pilot
	// serves their app; Moved the sessions ended when an app moved away.
	Redirects, Moved atomic.Uint64
	// AppWrites counts updates of app records (services learned).
	AppWrites atomic.Uint64
	// Gained and Lost count apps assigned to and taken from the pilot.
	Gained, Lost atomic.Uint64
}

// shard is a pilot's part in the sharded control plane: it holds the
// pilot's membership key, keeps the assignment (shardmap.View), admits only
// sessions of owned apps, preloads an app's services when the app is
// assigned and releases them when it moves away, ending its sessions
// with a redirect, and records the services an app's sidecars subscribe
// to in the app's record.
type shard struct {
	self  meta.PilotInfo
	ttl   time.Duration
	store *store.Store
	view  *shardmap.View
	dc    *dataCache
	sm    *SessionMgr
	log   *slog.Logger
	stats *ShardStats
	ctx   context.Context

	member *store.Membership

	mu        sync.Mutex
	preloaded map[string]map[string]bool // owned app -> services held for it
	known     map[string]map[string]bool // owned app -> services in its record or being written
	pending   map[string][]string        // services to add to app records
	wake      chan struct{}
}

func newShard(ctx context.Context, self meta.PilotInfo, ttl time.Duration, st *store.Store, srv *Server, log *slog.Logger) *shard {
	sh := &shard{self: self, ttl: ttl, store: st, dc: srv.snapshot.dc, sm: srv.sessions, log: log, stats: &srv.Shard, ctx: ctx,
		preloaded: map[string]map[string]bool{}, known: map[string]map[string]bool{}, pending: map[string][]string{},
		wake: make(chan struct{}, 1)}
	sh.view = shardmap.NewView(ctx, st, log)
	return sh
}

// start waits for the view, starts following it, and joins: from then on
// Meta assigns apps to this pilot.
func (sh *shard) start(ctx context.Context) error {
	if err := sh.view.Ready(ctx); err != nil {
		return fmt.Errorf("pilot: no shard state from etcd: %w", err)
	}
	sh.view.OnChange(sh.assigned)
	go sh.writeRecords()
	val, err := jsonOf(sh.self)
	if err != nil {
		return err
	}
	if sh.member, err = sh.store.Hold(ctx, shardmap.PilotKey(sh.self.ID), val, sh.ttl); err != nil {
		return fmt.Errorf("pilot: join as %s: %w", sh.self.ID, err)
	}
	sh.log.Info("pilot: joined the shard map", "id", sh.self.ID, "ttl", sh.ttl)
	return nil
}

// leave marks the pilot draining and revokes its membership: its apps move
// at once to their successors, and (as the view sees it) its sessions are
// redirected there.
// It waits until they have been, at most until ctx ends.
func (sh *shard) leave(ctx context.Context) error {
	if sh.member == nil {
		return nil
	}
	// Say it first: a pilot whose key merely vanishes keeps its apps for
	// shardmap.RemovalGrace; a draining one loses them at once.
	draining := sh.self
	draining.Draining = true
	if val, err := jsonOf(draining); err == nil {
		if err := sh.member.Update(ctx, val); err != nil {
			sh.log.Warn("pilot: cannot mark itself draining; its apps move when its key goes", "err", err)
		}
	}
	if err := sh.member.Release(ctx); err != nil {
		return err
	}
	for {
		ch := sh.view.Changed()
		if _, ok := sh.view.Current().Pilots[sh.self.ID]; !ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// admit implements gate. A sidecar usually comes because Meta sent it, so
// a pilot whose view says otherwise may be behind Meta: it waits up to two
// seconds for its view to agree before redirecting. An app without a
// record (a sidecar that came straight to this pilot) is added first.
func (sh *shard) admit(app string) error {
	ctx, cancel := context.WithTimeout(sh.ctx, 2*time.Second)
	defer cancel()
	if _, ok := sh.view.Current().Apps[app]; !ok {
		if _, _, err := sh.store.PutIfAbsent(ctx, shardmap.AppKey(app), []byte(`{"services":[]}`)); err != nil {
			return status.Errorf(codes.Aborted, "octomesh pilot %s: cannot add app %s: %v; ask Meta again", sh.self.ID, app, err)
		}
	}
	for {
		ch := sh.view.Changed()
		if owner, ok := sh.view.Current().OwnerOf(app); ok && owner.ID == sh.self.ID {
			return nil
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		}
		sh.stats.Redirects.Add(1)
		return sh.redirect(app, sh.view.Current())
	}
}

// redirect is the error that sends a sidecar of app to its owner.
func (sh *shard) redirect(app string, a *shardmap.Assignment) error {
	owner, ok := a.OwnerOf(app)
	if !ok {
		return status.Errorf(codes.Aborted, "octomesh pilot %s: app %s has no pilot yet; ask Meta again", sh.self.ID, app)
	}
	return meta.Redirect(sh.self.ID, app, owner)
}

// assigned follows the view: it preloads the apps (and new services of
// apps) assigned to this pilot, and releases the apps that moved away,
// ending their sessions with a redirect to the new owner.
func (sh *shard) assigned(_, next *shardmap.Assignment) {
	owned := map[string]bool{}
	for _, app := range next.Owned(sh.self.ID) {
		owned[app] = true
	}
	sh.mu.Lock()
	var lost []string
	for app, services := range sh.preloaded {
		if owned[app] {
			continue
		}
		for svc := range services {
			sh.dc.release(kindCluster, svc)
		}
		sh.dc.release(kindRoute, app)
		delete(sh.preloaded, app)
		delete(sh.known, app)
		delete(sh.pending, app)
		lost = append(lost, app)
	}
	gained := 0
	for app := range owned {
		held := sh.preloaded[app]
		if held == nil {
			held = map[string]bool{}
			sh.preloaded[app] = held
			sh.known[app] = map[string]bool{}
			sh.dc.acquire(kindRoute, app)
			gained++
		}
		for _, svc := range next.Apps[app].Services {
			sh.known[app][svc] = true
			if !held[svc] {
				held[svc] = true
				sh.dc.acquire(kindCluster, svc)
			}
		}
	}
	n := 0
	for _, held := range sh.preloaded {
		n += len(held)
	}
	sh.stats.Owned.Store(int64(len(sh.preloaded)))
	sh.stats.Preloaded.Store(int64(n))
	sh.mu.Unlock()
	sh.stats.Gained.Add(uint64(gained))
	sh.stats.Lost.Add(uint64(len(lost)))
	if gained > 0 || len(lost) > 0 {
		sh.log.Info("pilot: assignment changed", "id", sh.self.ID, "owned", len(owned), "gained", gained, "lost", len(lost), "preloaded_services", n)
	}
	sort.Strings(lost)
	for _, app := range lost {
		moved := sh.sm.endApp(app, func() error { return sh.redirect(app, next) })
		sh.stats.Moved.Add(uint64(moved))
		sh.stats.Redirects.Add(uint64(moved))
	}
}

// learn notes that a session of app subscribed to services; those not in
// the app's record yet are added to it (in the background), so that the
// app's next owner preloads them.
func (sh *shard) learn(app string, services map[string]struct{}) {
	sh.mu.Lock()
	known := sh.known[app]
	if known == nil { // not owned (any more): its owner learns
		sh.mu.Unlock()
		return
	}
	added := false
	for svc := range services {
		if !known[svc] {
			known[svc] = true
			sh.pending[app] = append(sh.pending[app], svc)
			added = true
		}
	}
	sh.mu.Unlock()
	if added {
		select {
		case sh.wake <- struct{}{}:
		default:
		}
	}
}

// writeRecords adds learned services to app records, batched.
func (sh *shard) writeRecords() {
	for {
		select {
		case <-sh.ctx.Done():
			return
		case <-sh.wake:
		}
		sh.mu.Lock()
		batch := sh.pending
		sh.pending = map[string][]string{}
		sh.mu.Unlock()
		for app, services := range batch {
			ctx, cancel := context.WithTimeout(sh.ctx, 5*time.Second)
			_, err := sh.store.Modify(ctx, shardmap.AppKey(app), func(old []byte) ([]byte, bool) { return shardmap.AddServices(old, services) })
			cancel()
			if err != nil {
				sh.log.Warn("pilot: cannot record an app's services; its next owner will not preload them", "app", app, "services", services, "err", err)
				continue
			}
			sh.stats.AppWrites.Add(1)
		}
	}
}

// ShardInfo describes the shard for /debug/shard.
type ShardInfo struct {
	Self  meta.PilotInfo      `json:"self"`
	Owned map[string][]string `json:"owned"` // app -> services preloaded
	meta.AssignmentInfo
}

func (sh *shard) info() ShardInfo {
	out := ShardInfo{Self: sh.self, Owned: map[string][]string{}, AssignmentInfo: sh.view.Current().Info()}
	sh.mu.Lock()
	for app, held := range sh.preloaded {
		list := []string{}
		for svc := range held {
			list = append(list, svc)
		}
		sort.Strings(list)
		out.Owned[app] = list
	}
	sh.mu.Unlock()
	return out
}
