package pilot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher/publish"
	"github.com/octomesh/octomesh/cp/store"
	"github.com/octomesh/octomesh/stats"
)

// NoticeStats counts what a pilot fed by the dispatcher's notices did
// (Options.NATSURL).
type NoticeStats struct {
	// Received counts notices received; Fetched the reads they caused;
	// Stale the notices older than what the pilot held; Unheld those for
	// keys the pilot does not hold (nothing to do).
	Received, Fetched, Stale, Unheld atomic.Uint64
	// FetchErrors counts reads that failed (retried).
	FetchErrors atomic.Uint64
	// RevisionRequests counts the dispatcher's back-check questions
	// answered; BackChecksAsked the back-checks this pilot asked for.
	RevisionRequests, BackChecksAsked atomic.Uint64
	// Published counts notices this pilot published for writes through its
	// registration API; PublishErrors those it could not.
	Published, PublishErrors atomic.Uint64
	// Connected is 1 while the pilot is connected to NATS.
	Connected atomic.Int64
	// DeliveryDelay is, for each notice carrying rules.StoredHeader, the
	// time from the stream storing it to this pilot receiving it (the
	// dispatcher's forward and the NATS hop); FetchDelay, for each read a
	// notice queued, the time from the first notice naming the key to the
	// value handed to the Data Cache (the queue and the etcd read).
	DeliveryDelay, FetchDelay stats.Histogram
}

// noticeSource is the Data Cache's Source when the pilot learns rule
// changes from the dispatcher (NATS) instead of watching them in etcd:
// route rules and policies are read once when the Data Cache opens their
// "watch", and again when a notice for them arrives; instances and health
// marks are still watched (the embedded Source).
type noticeSource struct {
	Source // instances and health marks: the store's watches
	st     *store.Store
	log    *slog.Logger
	stats  *NoticeStats

	mu      sync.Mutex
	held    map[heldKey]*heldValue
	pending map[heldKey]time.Time // when the first notice since the last read named it
	wake    chan struct{}
}

type heldKey struct{ kind, key string }

// heldValue is one key the Data Cache holds: what it last read, and how
// to hand a new value to the Data Cache.
type heldValue struct {
	etcdKey string
	apply   func(b []byte, first bool)

	mu     sync.Mutex // serialises reads and updates of this key
	loaded bool
	modRev int64 // the value's mod revision (0: absent)
	dead   bool  // the Data Cache let it go: no more updates
	// readRev is the store's revision of the last read (0: none yet);
	// atomic, so that a notice is judged without waiting for a read.
	readRev atomic.Int64
}

func newNoticeSource(ctx context.Context, st *store.Store, log *slog.Logger, stats *NoticeStats) *noticeSource {
	ns := &noticeSource{Source: st, st: st, log: log, stats: stats,
		held: map[heldKey]*heldValue{}, pending: map[heldKey]time.Time{}, wake: make(chan struct{}, 1)}
	for range 4 {
		go ns.fetchLoop(ctx)
	}
	return ns
}

// WatchRoutes implements Source from notices: it reads app's rules now and
// whenever a notice names them, until ctx ends.
func (ns *noticeSource) WatchRoutes(ctx context.Context, app string, update func(*registry.AppRoutes)) {
	ns.hold(ctx, heldKey{rules.KindRoutes, app}, store.RoutesKey(app), func(b []byte, first bool) {
		if b == nil {
			update(nil)
			return
		}
		r, err := registry.DecodeRoutes(b)
		if err != nil {
			ns.st.Stats.BadValues.Add(1)
			ns.log.Warn("pilot: skipping bad route rules in the registry", "app", app, "err", err)
			if first {
				update(nil)
			}
			return
		}
		update(&r)
	})
}

// WatchPolicy implements Source from notices, as WatchRoutes does.
func (ns *noticeSource) WatchPolicy(ctx context.Context, service string, update func(*registry.ServicePolicy)) {
	ns.hold(ctx, heldKey{rules.KindPolicy, service}, store.PolicyKey(service), func(b []byte, first bool) {
		if b == nil {
			update(nil)
			return
		}
		p, err := registry.DecodePolicy(service, b)
		if err != nil {
			ns.st.Stats.BadValues.Add(1)
			ns.log.Warn("pilot: skipping a bad policy in the registry", "service", service, "err", err)
			if first {
				update(nil)
			}
			return
		}
		update(&p)
	})
}

// hold registers k, reads it (retrying until it can) and keeps it
// registered until ctx ends.
func (ns *noticeSource) hold(ctx context.Context, k heldKey, etcdKey string, apply func([]byte, bool)) {
	h := &heldValue{etcdKey: etcdKey, apply: apply}
	ns.mu.Lock()
	ns.held[k] = h
	ns.mu.Unlock()
	defer func() {
		ns.mu.Lock()
		if ns.held[k] == h {
			delete(ns.held, k)
		}
		ns.mu.Unlock()
		h.mu.Lock()
		h.dead = true
		h.mu.Unlock()
	}()
	backoff := 50 * time.Millisecond
	for {
		err := ns.fetch(ctx, h)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		ns.log.Warn("pilot: registry read failed; retrying", "key", etcdKey, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	<-ctx.Done()
}

// fetch reads h's key and hands the value on if it is newer than the one
// held (a read older than the last one is dropped).
func (ns *noticeSource) fetch(ctx context.Context, h *heldValue) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	v, err := ns.st.Read(rctx, h.etcdKey)
	cancel()
	if err != nil {
		ns.stats.FetchErrors.Add(1)
		return err
	}
	ns.stats.Fetched.Add(1)
	if h.dead || h.loaded && v.Revision <= h.readRev.Load() {
		return nil
	}
	first := !h.loaded
	changed := first || v.ModRevision != h.modRev
	h.loaded, h.modRev = true, v.ModRevision
	h.readRev.Store(v.Revision)
	if changed {
		h.apply(v.Data, first)
	}
	return nil
}

// notice handles one notice: it queues a read of the key if the pilot
// holds it and the notice is not older than what it holds.
func (ns *noticeSource) notice(n rules.Notice) {
	ns.stats.Received.Add(1)
	k := heldKey{n.Kind, n.Key}
	ns.mu.Lock()
	h := ns.held[k]
	ns.mu.Unlock()
	if h == nil {
		ns.stats.Unheld.Add(1) // health notices too: marks are watched
		return
	}
	if n.Revision != 0 && n.Revision <= h.readRev.Load() {
		ns.stats.Stale.Add(1)
		return
	}
	ns.queue(k)
}

func (ns *noticeSource) queue(k heldKey) {
	ns.mu.Lock()
	if _, ok := ns.pending[k]; !ok {
		ns.pending[k] = time.Now()
	}
	ns.mu.Unlock()
	select {
	case ns.wake <- struct{}{}:
	default:
	}
}

// fetchLoop reads the keys notices named, each once however many notices
// named it meanwhile.
func (ns *noticeSource) fetchLoop(ctx context.Context) {
	for {
		ns.mu.Lock()
		var k heldKey
		var since time.Time
		found := false
		for k, since = range ns.pending {
			found = true
			delete(ns.pending, k)
			break
		}
		more := len(ns.pending) > 0
		h := ns.held[k]
		ns.mu.Unlock()
		if more {
			select { // let another worker take the next one
			case ns.wake <- struct{}{}:
			default:
			}
		}
		if !found {
			select {
			case <-ctx.Done():
				return
			case <-ns.wake:
			}
			continue
		}
		if h == nil {
			continue
		}
		if err := ns.fetch(ctx, h); err != nil {
			if ctx.Err() == nil {
				ns.log.Warn("pilot: registry read for a notice failed; retrying in 1s", "key", h.etcdKey, "err", err)
				time.AfterFunc(time.Second, func() { ns.queue(k) })
			}
			continue
		}
		ns.stats.FetchDelay.Record(time.Since(since))
	}
}

// revisions is what the pilot holds, for the dispatcher's back-check.
func (ns *noticeSource) revisions(pilot string) rules.Held {
	out := rules.Held{Pilot: pilot, Revisions: map[string]map[string]int64{rules.KindRoutes: {}, rules.KindPolicy: {}}}
	ns.mu.Lock()
	list := make(map[heldKey]*heldValue, len(ns.held))
	for k, h := range ns.held {
		list[k] = h
	}
	ns.mu.Unlock()
	for k, h := range list {
		h.mu.Lock()
		if h.loaded {
			out.Revisions[k.kind][k.key] = h.modRev
		}
		h.mu.Unlock()
	}
	return out
}

// noticeClient is a pilot's connection to NATS: it receives the notices of
// its subject, answers the dispatcher's revisions requests, asks for a
// back-check whenever it (re)connects, and publishes notices for the rule
// writes of its registration API.
type noticeClient struct {
	nc      *nats.Conn
	pub     *publish.Publisher
	src     *noticeSource
	subject string
	pilot   string
	log     *slog.Logger
	ctx     context.Context
	asking  atomic.Bool
	ready   atomic.Bool // subscribed: a back-check can ask it
}

// connectNotices connects to NATS at url (retrying in the background if it
// is not there yet) and subscribes; pilot is the shard id ("" for a pilot
// that serves every app).
func connectNotices(ctx context.Context, url string, tlsCfg *tls.Config, pilot string, src *noticeSource, log *slog.Logger) (*noticeClient, error) {
	c := &noticeClient{src: src, pilot: pilot, log: log, ctx: ctx, subject: rules.AllPilots}
	if pilot != "" {
		c.subject = rules.PilotSubject(pilot)
	}
	name := "octomesh-pilot"
	if pilot != "" {
		name += " " + pilot
	}
	var err error
	c.nc, err = nats.Connect(url, nats.Name(name),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), publish.Secure(tlsCfg),
		nats.ConnectHandler(func(*nats.Conn) { c.connected("connected") }),
		nats.ReconnectHandler(func(*nats.Conn) { c.connected("reconnected") }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			src.stats.Connected.Store(0)
			if ctx.Err() == nil {
				log.Warn("pilot: NATS connection lost; serving what it holds, reconnecting", "err", err)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("pilot: nats %s: %w", url, err)
	}
	if c.pub, err = publish.NewPublisherConn(c.nc); err != nil {
		c.nc.Close()
		return nil, err
	}
	if _, err := c.nc.Subscribe(c.subject, c.onNotice); err != nil {
		c.nc.Close()
		return nil, err
	}
	if _, err := c.nc.Subscribe(rules.RevisionsSubject(c.subject), c.onRevisions); err != nil {
		c.nc.Close()
		return nil, err
	}
	c.ready.Store(true)
	if c.nc.IsConnected() {
		c.connected("connected")
	}
	return c, nil
}

func (c *noticeClient) onNotice(m *nats.Msg) {
	n, err := rules.DecodeNotice(m.Data)
	if err != nil {
		c.log.Warn("pilot: skipping a bad notice", "subject", m.Subject, "err", err)
		return
	}
	if v := m.Header.Get(rules.StoredHeader); v != "" {
		if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
			c.src.stats.DeliveryDelay.Record(time.Since(time.Unix(0, ns)))
		}
	}
	c.src.notice(n)
}

func (c *noticeClient) onRevisions(m *nats.Msg) {
	c.src.stats.RevisionRequests.Add(1)
	b, err := json.Marshal(c.src.revisions(c.pilot))
	if err == nil {
		_ = m.Respond(b)
	}
}

// connected asks the dispatcher for a back-check, so that changes whose
// notices went by while the pilot was away (or before it subscribed)
// arrive. It asks until a dispatcher answers (one may not be up yet), at
// most for a minute; the dispatcher's periodic back-check covers the rest.
func (c *noticeClient) connected(how string) {
	c.src.stats.Connected.Store(1)
	if !c.ready.Load() {
		return // connectNotices asks once it has subscribed
	}
	c.log.Info("pilot: NATS "+how+"; asking for a back-check", "subject", c.subject)
	if !c.asking.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer c.asking.Store(false)
		body, _ := json.Marshal(rules.BackCheckRequest{Pilot: c.pilot})
		deadline := time.Now().Add(time.Minute)
		for c.ctx.Err() == nil && time.Now().Before(deadline) {
			if c.nc != nil && c.nc.IsConnected() {
				if _, err := c.nc.Request(rules.BackCheckSubject, body, 2*time.Second); err == nil {
					c.src.stats.BackChecksAsked.Add(1)
					return
				}
			}
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
}

// publish publishes n to the notices stream (best effort: the dispatcher's
// back-check repairs a notice that could not be published).
func (c *noticeClient) publish(ctx context.Context, n rules.Notice) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.pub.Publish(pctx, n); err != nil {
		c.src.stats.PublishErrors.Add(1)
		c.log.Warn("pilot: cannot publish a notice; the dispatcher's back-check will repair it", "notice", n, "err", err)
		return
	}
	c.src.stats.Published.Add(1)
}

func (c *noticeClient) close() {
	if c != nil && c.nc != nil {
		c.nc.Close()
	}
}

// noticingStore is the registration API's store in NATS mode: a rule
// write through the pilot's API is followed by a notice, since no pilot
// watches rules any more.
type noticingStore struct {
	*store.Store
	c *noticeClient
}

func (s noticingStore) PutRoutes(ctx context.Context, app string, value []byte) error {
	return s.after(ctx, s.Store.PutRoutes(ctx, app, value), rules.KindRoutes, app)
}

func (s noticingStore) DeleteRoutes(ctx context.Context, app string) error {
	return s.after(ctx, s.Store.DeleteRoutes(ctx, app), rules.KindRoutes, app)
}

func (s noticingStore) PutPolicy(ctx context.Context, service string, value []byte) error {
	return s.after(ctx, s.Store.PutPolicy(ctx, service, value), rules.KindPolicy, service)
}

func (s noticingStore) DeletePolicy(ctx context.Context, service string) error {
	return s.after(ctx, s.Store.DeletePolicy(ctx, service), rules.KindPolicy, service)
}

func (s noticingStore) after(ctx context.Context, err error, kind, key string) error {
	if err == nil {
		// Revision 0: "fetch it anyway" (the write's revision is not known here).
		s.c.publish(context.WithoutCancel(ctx), rules.Notice{Kind: kind, Key: key})
	}
	return err
}
