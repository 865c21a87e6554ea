package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rulesapi "github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/store"
	"github.com/octomesh/octomesh/stats"
)

// Publisher is told, after each write, which compiled keys it changed: one
// notice per key (kind routes or policy) with the write's etcd revision.
// The dispatcher implements it. Publish may be called from several
// goroutines at once; an error is logged and counted, never fails the
// write (the dispatcher's back-check repairs a lost notice).
type Publisher interface {
	Publish(ctx context.Context, n rulesapi.Notice) error
}

// Options configure a Store.
type Options struct {
	// Publisher is told what each write changed; nil: nobody is.
	Publisher Publisher
	Log       *slog.Logger
	// Now is the clock of metadata.updated; nil: time.Now.
	Now func() time.Time
}

// Stats counts what the rule store did.
type Stats struct {
	Applies       atomic.Uint64 // writes made by apply
	Deletes       atomic.Uint64 // writes made by delete
	Refused       atomic.Uint64 // writes refused: invalid documents, conflicts, not found
	Retries       atomic.Uint64 // transactions tried again after another write got there first
	Published     atomic.Uint64 // notices published
	PublishErrors atomic.Uint64 // notices the publisher refused
	Unauthorized  atomic.Uint64 // writes without the operator token, or with a wrong one
	BadValues     atomic.Uint64 // stored documents that did not decode (skipped)
	// Where a write's time goes, per write made: reading (and decoding)
	// the stored documents, building and committing the etcd transaction,
	// publishing the notices (each acknowledged by the stream).
	ReadDelay, CommitDelay, PublishDelay stats.Histogram
}

// Store is the rule store over cp/store's etcd. It is safe for concurrent
// use; writes of several processes are kept consistent by etcd
// transactions, not by a lock.
type Store struct {
	kv    *store.Store
	pub   Publisher
	log   *slog.Logger
	now   func() time.Time
	Stats Stats

	afterRead func() // tests: runs between a write's read and its commit

	// decoded holds the stored documents already decoded, by Ref, with the
	// mod revision they were decoded at: a write reads every document (to
	// compile the apps and services it touches, and to guard them), but
	// decodes only those that changed since the last read. Entries are
	// never mutated once stored.
	decodedMu sync.Mutex
	decoded   map[string]decodedDoc
}

// decodedDoc is a stored document as decoded at revision rev; doc is nil
// for one that did not decode.
type decodedDoc struct {
	rev int64
	raw []byte
	doc *rulesapi.Document
}

// New returns the rule store over kv.
func New(kv *store.Store, opts Options) *Store {
	s := &Store{kv: kv, pub: opts.Publisher, log: opts.Log, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// WriteStats writes the counters as "name value" lines, sorted, for the
// serving process's /stats.
func (s *Store) WriteStats(w io.Writer) {
	st := &s.Stats
	for _, c := range []struct {
		name string
		v    uint64
	}{
		{"rules.applies", st.Applies.Load()},
		{"rules.bad_values", st.BadValues.Load()},
		{"rules.deletes", st.Deletes.Load()},
		{"rules.publish_errors", st.PublishErrors.Load()},
		{"rules.published", st.Published.Load()},
		{"rules.refused", st.Refused.Load()},
		{"rules.retries", st.Retries.Load()},
		{"rules.unauthorized", st.Unauthorized.Load()},
	} {
		fmt.Fprintf(w, "%s %d\n", c.name, c.v)
	}
	for _, h := range []struct {
		name string
		h    *stats.Histogram
	}{{"rules.apply_read", &st.ReadDelay}, {"rules.apply_commit", &st.CommitDelay}, {"rules.apply_publish", &st.PublishDelay}} {
		snap := h.h.Snapshot()
		fmt.Fprintf(w, "%s.count %d\n%s.p50_us %d\n%s.p99_us %d\n%s.max_us %d\n", h.name, snap.Count(), h.name, snap.Quantile(0.5).Microseconds(),
			h.name, snap.Quantile(0.99).Microseconds(), h.name, snap.Quantile(1).Microseconds())
	}
}

// Ref names a document to delete; Revision, when not 0, must be its
// stored one.
type Ref struct {
	Kind, Name string
	Revision   int64
}

// maxAttempts bounds the transactions one write tries when others keep
// getting there first.
const maxAttempts = 10

// compiledKey is a compiled value's notice kind and key.
type compiledKey struct{ kind, key string }

func (k compiledKey) etcdKey() string {
	if k.kind == rulesapi.KindRoutes {
		return store.RoutesKey(k.key)
	}
	return store.PolicyKey(k.key)
}

// snapshot is the stored documents as read, at store revision at.
type snapshot struct {
	at   int64
	docs map[string]*rulesapi.Document // by Ref
	raw  map[string][]byte
	rev  map[string]int64 // mod revision by Ref, undecodable ones included
}

func (s *Store) read(ctx context.Context) (*snapshot, error) {
	// Keys and revisions only; values only of the documents that changed
	// since the last read (as of the same store revision).
	revs, at, err := s.kv.ModRevisions(ctx, store.RulesPrefix)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{at: at, docs: make(map[string]*rulesapi.Document, len(revs)), raw: make(map[string][]byte, len(revs)), rev: revs}
	s.decodedMu.Lock()
	defer s.decodedMu.Unlock()
	if s.decoded == nil {
		s.decoded = map[string]decodedDoc{}
	}
	for ref, rev := range revs {
		c, ok := s.decoded[ref]
		if !ok || c.rev != rev {
			kv, err := s.kv.Get(ctx, store.RulesPrefix+ref, at)
			if err != nil {
				return nil, err
			}
			c = decodedDoc{rev: rev, raw: kv.Value, doc: s.decode(kv, ref)}
			s.decoded[ref] = c
		}
		snap.raw[ref] = c.raw
		if c.doc != nil {
			snap.docs[ref] = c.doc
		}
	}
	for ref := range s.decoded {
		if _, ok := revs[ref]; !ok {
			delete(s.decoded, ref)
		}
	}
	return snap, nil
}

// decode decodes one stored document, nil (counted, logged) when it does
// not decode or lies under another document's key.
func (s *Store) decode(kv store.KeyValue, ref string) *rulesapi.Document {
	d, err := rulesapi.DecodeStored(kv.Value, kv.ModRevision)
	if err != nil {
		s.Stats.BadValues.Add(1)
		s.log.Warn("rules: skipping a stored document that does not decode", "key", kv.Key, "err", err)
		return nil
	}
	if d.Ref() != ref {
		s.Stats.BadValues.Add(1)
		s.log.Warn("rules: skipping a stored document under another's key", "key", kv.Key, "document", d.Ref())
		return nil
	}
	return &d
}

// Apply creates or updates docs (checked by rulesapi.DecodeDocuments) in
// one write; with dryRun it writes nothing and says what it would do.
func (s *Store) Apply(ctx context.Context, docs []rulesapi.Document, dryRun bool) (*rulesapi.ApplyResponse, error) {
	return s.write(ctx, docs, nil, dryRun)
}

// Delete deletes documents in one write; with dryRun it writes nothing.
func (s *Store) Delete(ctx context.Context, refs []Ref, dryRun bool) (*rulesapi.ApplyResponse, error) {
	return s.write(ctx, nil, refs, dryRun)
}

func (s *Store) write(ctx context.Context, puts []rulesapi.Document, dels []Ref, dryRun bool) (*rulesapi.ApplyResponse, error) {
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		resp, retry, err := s.try(ctx, puts, dels, dryRun)
		if err != nil {
			if errors.Is(err, rulesapi.ErrInvalid) || errors.Is(err, rulesapi.ErrConflict) || errors.Is(err, rulesapi.ErrNotFound) || errors.Is(err, store.ErrTooManyOps) {
				s.Stats.Refused.Add(1)
			}
			return nil, err
		}
		if !retry {
			return resp, nil
		}
		s.Stats.Retries.Add(1)
	}
	s.Stats.Refused.Add(1)
	return nil, kindErrorf(rulesapi.ErrConflict, "other writes changed the same rules %d times in a row; try again", maxAttempts)
}

// try makes one attempt: read, check, compile, commit. retry says another
// write got there first.
func (s *Store) try(ctx context.Context, puts []rulesapi.Document, dels []Ref, dryRun bool) (*rulesapi.ApplyResponse, bool, error) {
	began := time.Now()
	snap, err := s.read(ctx)
	if err != nil {
		return nil, false, err
	}
	readTook := time.Since(began)
	next := make(map[string]*rulesapi.Document, len(snap.docs)+len(puts))
	for ref, d := range snap.docs {
		next[ref] = d
	}
	affected := map[compiledKey]bool{}
	touch := func(d *rulesapi.Document) {
		kind, key := d.CompiledKey()
		affected[compiledKey{kind, key}] = true
	}
	resp := &rulesapi.ApplyResponse{DryRun: dryRun}
	var changed []string // refs written or deleted
	for i := range puts {
		d := &puts[i]
		ref := d.Ref()
		old, stored := snap.docs[ref], snap.rev[ref]
		if d.Metadata.Revision != 0 && d.Metadata.Revision != stored {
			return nil, false, conflict(d, d.Metadata.Revision, stored)
		}
		res := rulesapi.Result{Kind: d.Kind, Name: d.Metadata.Name, Revision: stored}
		switch {
		case old != nil && rulesapi.Same(old, d):
			res.Action = rulesapi.ActionUnchanged
		case old != nil:
			res.Action, res.Diff = rulesapi.ActionConfigured, rulesapi.Diff(old, d)
			touch(old)
		default:
			res.Action, res.Diff = rulesapi.ActionCreated, rulesapi.Diff(nil, d)
		}
		if res.Action != rulesapi.ActionUnchanged {
			touch(d)
			next[ref] = d
			changed = append(changed, ref)
		}
		resp.Results = append(resp.Results, res)
	}
	for _, r := range dels {
		ref := r.Kind + "/" + r.Name
		old, stored := snap.docs[ref], snap.rev[ref]
		if old == nil {
			return nil, false, kindErrorf(rulesapi.ErrNotFound, "%s: no such document", ref)
		}
		if r.Revision != 0 && r.Revision != stored {
			return nil, false, kindErrorf(rulesapi.ErrConflict, "%s: revision %d is not the stored one (%d): it changed since it was read; get it again", ref, r.Revision, stored)
		}
		delete(next, ref)
		touch(old)
		changed = append(changed, ref)
		resp.Results = append(resp.Results, rulesapi.Result{Kind: r.Kind, Name: r.Name, Action: rulesapi.ActionDeleted, Revision: stored, Diff: rulesapi.Diff(old, nil)})
	}
	if len(changed) == 0 {
		return resp, false, nil
	}
	// Compile what the change touches: every document of the affected
	// apps and services.
	var subset []rulesapi.Document
	for _, d := range next {
		kind, key := d.CompiledKey()
		if affected[compiledKey{kind, key}] {
			subset = append(subset, *d)
		}
	}
	compiled, err := rulesapi.Compile(subset)
	if err != nil {
		return nil, false, err
	}
	if dryRun {
		return resp, false, nil
	}
	if s.afterRead != nil {
		s.afterRead()
	}
	committing := time.Now()
	conds, ops, err := s.txn(ctx, snap, next, changed, affected, compiled)
	if err != nil {
		return nil, false, err
	}
	rev, ok, err := s.kv.Commit(ctx, conds, ops)
	if err != nil || !ok {
		return nil, err == nil, err
	}
	s.Stats.ReadDelay.Record(readTook)
	s.Stats.CommitDelay.Record(time.Since(committing))
	resp.Revision = rev
	for i := range resp.Results {
		if a := resp.Results[i].Action; a == rulesapi.ActionCreated || a == rulesapi.ActionConfigured {
			resp.Results[i].Revision = rev
		}
	}
	if len(puts) > 0 {
		s.Stats.Applies.Add(1)
	} else {
		s.Stats.Deletes.Add(1)
	}
	s.log.Info("rules written", "documents", len(changed), "compiled", len(affected), "revision", rev)
	publishing := time.Now()
	s.publish(ctx, affected, rev)
	s.Stats.PublishDelay.Record(time.Since(publishing))
	return resp, false, nil
}

// txn builds the write: the changed documents and their history, and the
// affected compiled keys, each guarded by the mod revision it had when
// read. Every write that changes a document targeting an app or a service
// writes that app's or service's compiled key in the same transaction, so
// that guarding the compiled key guards every document compiled into it,
// and documents created meanwhile by another write as well (their keys
// were not there to be read).
func (s *Store) txn(ctx context.Context, snap *snapshot, next map[string]*rulesapi.Document, changed []string, affected map[compiledKey]bool, compiled *rulesapi.Compiled) ([]store.Cond, []store.Op, error) {
	var conds []store.Cond
	var ops []store.Op
	now := s.now()
	for _, ref := range changed {
		kind, name, _ := strings.Cut(ref, "/")
		key := store.RuleKey(kind, name)
		conds = append(conds, store.Cond{Key: key, ModRevision: snap.rev[ref]})
		if d := next[ref]; d != nil {
			b, err := d.Encode(now)
			if err != nil {
				return nil, nil, err
			}
			ops = append(ops, store.Op{Key: key, Value: b})
		} else {
			ops = append(ops, store.Op{Key: key, Delete: true})
		}
		if old, ok := snap.raw[ref]; ok {
			hist, err := s.historyOps(ctx, kind, name, snap.rev[ref], old)
			if err != nil {
				return nil, nil, err
			}
			ops = append(ops, hist...)
		}
	}
	keys := make([]compiledKey, 0, len(affected))
	for k := range affected {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].etcdKey() < keys[j].etcdKey() })
	for _, k := range keys {
		// As of the documents' read: a compiled key written since (with
		// documents this write did not read) fails the guard.
		cur, err := s.kv.Get(ctx, k.etcdKey(), snap.at)
		if err != nil {
			return nil, nil, err
		}
		conds = append(conds, store.Cond{Key: k.etcdKey(), ModRevision: cur.ModRevision})
		v := compiled.Value(k.kind, k.key)
		if v == nil {
			ops = append(ops, store.Op{Key: k.etcdKey(), Delete: true})
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, store.Op{Key: k.etcdKey(), Value: b})
	}
	return conds, ops, nil
}

// historyOps keeps the version being replaced (old, at revision rev) and
// drops the oldest versions beyond HistoryDepth.
func (s *Store) historyOps(ctx context.Context, kind, name string, rev int64, old []byte) ([]store.Op, error) {
	kvs, _, err := s.kv.Range(ctx, store.RuleHistoryPrefix(kind, name))
	if err != nil {
		return nil, err
	}
	revs := historyRevisions(kvs, kind, name)
	ops := []store.Op{{Key: store.RuleHistoryKey(kind, name, rev), Value: old}}
	for i := 0; i < len(revs)+1-rulesapi.HistoryDepth; i++ {
		ops = append(ops, store.Op{Key: store.RuleHistoryKey(kind, name, revs[i]), Delete: true})
	}
	return ops, nil
}

// historyRevisions are the revisions of a document's history keys,
// oldest first.
func historyRevisions(kvs []store.KeyValue, kind, name string) []int64 {
	var revs []int64
	for _, kv := range kvs {
		n, err := strconv.ParseInt(strings.TrimPrefix(kv.Key, store.RuleHistoryPrefix(kind, name)), 10, 64)
		if err == nil {
			revs = append(revs, n)
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	return revs
}

func conflict(d *rulesapi.Document, given, stored int64) error {
	what := fmt.Sprintf("%d is not the stored revision (%d): the document changed since it was read; get it again, or leave metadata.revision out", given, stored)
	if stored == 0 {
		what = fmt.Sprintf("%d: the document is not stored (deleted since?); leave metadata.revision out to create it", given)
	}
	return kindError{rulesapi.ErrConflict, d.Errorf("metadata.revision", "%s", what).Error()}
}

// kindError is an error of a kind (api/rules' ErrConflict, ...) with a
// message of its own.
type kindError struct {
	kind error
	msg  string
}

func (e kindError) Error() string        { return e.msg }
func (e kindError) Is(target error) bool { return target == e.kind }

func kindErrorf(kind error, format string, args ...any) error {
	return kindError{kind, fmt.Sprintf(format, args...)}
}

// publish tells the publisher about every affected compiled key.
func (s *Store) publish(ctx context.Context, affected map[compiledKey]bool, rev int64) {
	if s.pub == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for k := range affected {
		n := rulesapi.Notice{Kind: k.kind, Key: k.key, Revision: rev}
		if err := s.pub.Publish(ctx, n); err != nil {
			s.Stats.PublishErrors.Add(1)
			s.log.Warn("rules: publishing a change failed; the dispatcher's back-check will find it", "kind", k.kind, "key", k.key, "revision", rev, "err", err)
			continue
		}
		s.Stats.Published.Add(1)
	}
}

// List returns the documents of kind ("": all), sorted by kind and name.
func (s *Store) List(ctx context.Context, kind string) ([]rulesapi.Document, error) {
	if kind != "" && !rulesapi.KnownKind(kind) {
		return nil, kindErrorf(rulesapi.ErrInvalid, "%q is not a kind of rule (known: %s)", kind, strings.Join(rulesapi.Kinds(), ", "))
	}
	snap, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	out := []rulesapi.Document{}
	for _, d := range snap.docs {
		if kind == "" || d.Kind == kind {
			out = append(out, *d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref() < out[j].Ref() })
	return out, nil
}

// Get returns one document.
func (s *Store) Get(ctx context.Context, kind, name string) (*rulesapi.Document, error) {
	if !rulesapi.KnownKind(kind) {
		return nil, kindErrorf(rulesapi.ErrInvalid, "%q is not a kind of rule (known: %s)", kind, strings.Join(rulesapi.Kinds(), ", "))
	}
	kv, err := s.kv.Get(ctx, store.RuleKey(kind, name), 0)
	if err != nil {
		return nil, err
	}
	if kv.ModRevision == 0 {
		return nil, kindErrorf(rulesapi.ErrNotFound, "%s/%s: no such document", kind, name)
	}
	d, err := rulesapi.DecodeStored(kv.Value, kv.ModRevision)
	if err != nil {
		return nil, fmt.Errorf("rules: stored %s/%s does not decode: %v", kind, name, err)
	}
	return &d, nil
}

// History returns a document (nil when deleted) and its previous versions,
// newest first.
func (s *Store) History(ctx context.Context, kind, name string) (*rulesapi.HistoryResponse, error) {
	h := &rulesapi.HistoryResponse{History: []rulesapi.Document{}}
	d, err := s.Get(ctx, kind, name)
	switch {
	case err == nil:
		h.Document = d
	case !errors.Is(err, rulesapi.ErrNotFound):
		return nil, err
	}
	kvs, _, err := s.kv.Range(ctx, store.RuleHistoryPrefix(kind, name))
	if err != nil {
		return nil, err
	}
	byRev := map[int64][]byte{}
	for _, kv := range kvs {
		if n, err := strconv.ParseInt(strings.TrimPrefix(kv.Key, store.RuleHistoryPrefix(kind, name)), 10, 64); err == nil {
			byRev[n] = kv.Value
		}
	}
	revs := historyRevisions(kvs, kind, name)
	for i := len(revs) - 1; i >= 0; i-- {
		old, err := rulesapi.DecodeStored(byRev[revs[i]], revs[i])
		if err != nil {
			s.Stats.BadValues.Add(1)
			continue
		}
		h.History = append(h.History, old)
	}
	if h.Document == nil && len(h.History) == 0 {
		return nil, kindErrorf(rulesapi.ErrNotFound, "%s/%s: no such document, and no history", kind, name)
	}
	return h, nil
}
