package rules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	rulesapi "github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/store"
	"github.com/octomesh/octomesh/stats"
)

func openEtcd(t testing.TB) *store.Store {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-rules-etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	kv, err := store.Open(store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return kv
}

// notices is a Publisher that records what it is told, failing when err
// is set.
type notices struct {
	mu   sync.Mutex
	got  []rulesapi.Notice
	fail error
}

func (n *notices) Publish(_ context.Context, no rulesapi.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.got = append(n.got, no)
	return nil
}

func (n *notices) take() map[string]int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int64{}
	for _, no := range n.got {
		out[no.Kind+"/"+no.Key] = no.Revision
	}
	n.got = nil
	return out
}

func decode(t testing.TB, s string) []rulesapi.Document {
	t.Helper()
	docs, err := rulesapi.DecodeDocuments("rules.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

const webRules = `
kind: Retry
metadata: {name: echo-get}
target: {app: web, service: echo, method: Get}
spec: {attempts: 3}
---
kind: Timeout
metadata: {name: echo-get}
target: {app: web, service: echo, method: Get}
spec: {timeout: 800ms}
---
kind: CircuitBreaker
metadata: {name: echo}
target: {service: echo}
spec: {max_requests: 200}
`

func actions(resp *rulesapi.ApplyResponse) string {
	var parts []string
	for _, r := range resp.Results {
		parts = append(parts, r.Ref()+" "+r.Action)
	}
	return strings.Join(parts, ", ")
}

func compiled(t *testing.T, kv *store.Store, key string) store.KeyValue {
	t.Helper()
	got, err := kv.Get(ctx(t), key, 0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestApplyCreatedConfiguredUnchanged(t *testing.T) {
	kv := openEtcd(t)
	pub := &notices{}
	st := New(kv, Options{Publisher: pub})
	resp, err := st.Apply(ctx(t), decode(t, webRules), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(resp); got != "Retry/echo-get created, Timeout/echo-get created, CircuitBreaker/echo created" {
		t.Errorf("first apply: %s", got)
	}
	rev := resp.Revision
	if rev == 0 || resp.Results[0].Revision != rev {
		t.Errorf("revision %d, document revision %d", rev, resp.Results[0].Revision)
	}
	if got := pub.take(); len(got) != 2 || got["routes/web"] != rev || got["policy/echo"] != rev {
		t.Errorf("notices %v; want routes/web and policy/echo at %d", got, rev)
	}
	web := compiled(t, kv, store.RoutesKey("web"))
	routes, err := registry.DecodeRoutes(web.Value)
	if err != nil || len(routes.Routes) != 1 || routes.Routes[0].Retry.Attempts != 3 || routes.Routes[0].Timeout.Std() != 800*time.Millisecond || routes.Routes[0].Cluster != "echo" {
		t.Errorf("compiled routes of web: %s, %v", web.Value, err)
	}
	pol := compiled(t, kv, store.PolicyKey("echo"))
	if p, err := registry.DecodePolicy("echo", pol.Value); err != nil || p.CircuitBreaker.MaxRequests != 200 {
		t.Errorf("compiled policy of echo: %s, %v", pol.Value, err)
	}

	// Again: nothing changes, nothing is written or published.
	resp, err = st.Apply(ctx(t), decode(t, webRules), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(resp); got != "Retry/echo-get unchanged, Timeout/echo-get unchanged, CircuitBreaker/echo unchanged" || resp.Revision != 0 {
		t.Errorf("second apply: %s (revision %d)", got, resp.Revision)
	}
	if got := compiled(t, kv, store.RoutesKey("web")); got.ModRevision != web.ModRevision {
		t.Errorf("an unchanged apply rewrote the compiled routes")
	}
	if got := pub.take(); len(got) != 0 {
		t.Errorf("an unchanged apply published %v", got)
	}

	// One change: only its document is configured, only its app's key
	// is written.
	resp, err = st.Apply(ctx(t), decode(t, strings.Replace(webRules, "attempts: 3", "attempts: 4", 1)), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(resp); got != "Retry/echo-get configured, Timeout/echo-get unchanged, CircuitBreaker/echo unchanged" {
		t.Errorf("third apply: %s", got)
	}
	if d := resp.Results[0].Diff; !strings.Contains(d, "-  attempts: 3\n+  attempts: 4\n") {
		t.Errorf("diff:\n%s", d)
	}
	if got := pub.take(); len(got) != 1 || got["routes/web"] != resp.Revision {
		t.Errorf("notices %v; want routes/web only", got)
	}
	if got := compiled(t, kv, store.PolicyKey("echo")); got.ModRevision != pol.ModRevision {
		t.Errorf("a change of web's rules rewrote echo's policy")
	}
	d, err := st.Get(ctx(t), "Retry", "echo-get")
	if err != nil || d.Metadata.Revision != resp.Revision || d.Metadata.Updated == "" {
		t.Errorf("Get: %+v, %v", d, err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	kv := openEtcd(t)
	st := New(kv, Options{})
	resp, err := st.Apply(ctx(t), decode(t, webRules), true)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Changed() || !resp.DryRun || resp.Revision != 0 || !strings.Contains(resp.Results[0].Diff, "+kind: Retry") {
		t.Errorf("dry run: %+v", resp)
	}
	if got := compiled(t, kv, store.RoutesKey("web")); got.ModRevision != 0 {
		t.Errorf("a dry run wrote the compiled routes")
	}
	if docs, _ := st.List(ctx(t), ""); len(docs) != 0 {
		t.Errorf("a dry run stored %d documents", len(docs))
	}
}

func TestRevisionConflict(t *testing.T) {
	kv := openEtcd(t)
	st := New(kv, Options{})
	resp, err := st.Apply(ctx(t), decode(t, webRules), false)
	if err != nil {
		t.Fatal(err)
	}
	rev := resp.Revision
	stale := fmt.Sprintf("kind: Retry\nmetadata: {name: echo-get, revision: %d}\ntarget: {app: web, service: echo, method: Get}\nspec: {attempts: 5}\n", rev-1)
	_, err = st.Apply(ctx(t), decode(t, stale), false)
	want := fmt.Sprintf("rules.yaml:2: document 1 (Retry/echo-get): metadata.revision: %d is not the stored revision (%d)", rev-1, rev)
	if !errors.Is(err, rulesapi.ErrConflict) || !strings.Contains(err.Error(), want) {
		t.Fatalf("stale revision: %v\nwant %s", err, want)
	}
	fresh := strings.Replace(stale, fmt.Sprint(rev-1), fmt.Sprint(rev), 1)
	if _, err := st.Apply(ctx(t), decode(t, fresh), false); err != nil {
		t.Fatalf("current revision: %v", err)
	}
	if _, err := st.Delete(ctx(t), []Ref{{Kind: "Retry", Name: "echo-get", Revision: rev}}, false); !errors.Is(err, rulesapi.ErrConflict) {
		t.Errorf("delete at a stale revision: %v", err)
	}
}

func TestDeleteRemovesCompiledKeyAndKeepsHistory(t *testing.T) {
	kv := openEtcd(t)
	pub := &notices{}
	st := New(kv, Options{Publisher: pub})
	one := "kind: Retry\nmetadata: {name: r}\ntarget: {app: web, service: echo}\nspec: {attempts: %d}\n"
	for i := 1; i <= rulesapi.HistoryDepth+3; i++ {
		if _, err := st.Apply(ctx(t), decode(t, fmt.Sprintf(one, 1+i%10)), false); err != nil {
			t.Fatal(err)
		}
	}
	h, err := st.History(ctx(t), "Retry", "r")
	if err != nil {
		t.Fatal(err)
	}
	if h.Document == nil || len(h.History) != rulesapi.HistoryDepth {
		t.Fatalf("history of %d versions (document %v); want %d", len(h.History), h.Document, rulesapi.HistoryDepth)
	}
	for i, old := range h.History {
		if old.Metadata.Revision >= h.Document.Metadata.Revision || i > 0 && old.Metadata.Revision >= h.History[i-1].Metadata.Revision {
			t.Errorf("history not newest first: %d after %d", old.Metadata.Revision, h.Document.Metadata.Revision)
		}
	}
	if kvs, _, _ := kv.Range(ctx(t), store.RuleHistoryPrefix("Retry", "r")); len(kvs) != rulesapi.HistoryDepth {
		t.Errorf("%d history keys in etcd; want %d", len(kvs), rulesapi.HistoryDepth)
	}
	pub.take()
	resp, err := st.Delete(ctx(t), []Ref{{Kind: "Retry", Name: "r"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(resp); got != "Retry/r deleted" {
		t.Errorf("delete: %s", got)
	}
	if got := compiled(t, kv, store.RoutesKey("web")); got.ModRevision != 0 {
		t.Errorf("the compiled routes of web outlive their last document: %s", got.Value)
	}
	if got := pub.take(); got["routes/web"] != resp.Revision {
		t.Errorf("notices %v", got)
	}
	if _, err := st.Get(ctx(t), "Retry", "r"); !errors.Is(err, rulesapi.ErrNotFound) {
		t.Errorf("Get after delete: %v", err)
	}
	h, err = st.History(ctx(t), "Retry", "r")
	if err != nil || h.Document != nil || len(h.History) != rulesapi.HistoryDepth {
		t.Errorf("history after delete: %+v, %v", h, err)
	}
	if _, err := st.Delete(ctx(t), []Ref{{Kind: "Retry", Name: "r"}}, false); !errors.Is(err, rulesapi.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestRetargetMovesTheRule(t *testing.T) {
	kv := openEtcd(t)
	st := New(kv, Options{})
	if _, err := st.Apply(ctx(t), decode(t, "kind: Retry\nmetadata: {name: r}\ntarget: {app: web, service: echo}\nspec: {}\n"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx(t), decode(t, "kind: Retry\nmetadata: {name: r}\ntarget: {service: echo}\nspec: {}\n"), false); err != nil {
		t.Fatal(err)
	}
	if got := compiled(t, kv, store.RoutesKey("web")); got.ModRevision != 0 {
		t.Errorf("web keeps a rule that moved: %s", got.Value)
	}
	p, err := registry.DecodePolicy("echo", compiled(t, kv, store.PolicyKey("echo")).Value)
	if err != nil || len(p.Routes) != 1 || p.Routes[0].Retry == nil {
		t.Errorf("echo's own rules: %+v, %v", p, err)
	}
}

func TestRefusedApplyWritesNothing(t *testing.T) {
	kv := openEtcd(t)
	st := New(kv, Options{})
	if _, err := st.Apply(ctx(t), decode(t, webRules), false); err != nil {
		t.Fatal(err)
	}
	before := compiled(t, kv, store.RoutesKey("web"))
	// A second Retry on the match of the stored one, beside a good
	// document: all or nothing.
	_, err := st.Apply(ctx(t), decode(t, `
kind: Fault
metadata: {name: f}
target: {app: web, service: echo}
spec: {abort: {percent: 1}}
---
kind: Retry
metadata: {name: other}
target: {app: web, service: echo, method: Get}
spec: {attempts: 2}
`), false)
	want := "rules.yaml:9: document 2 (Retry/other): target: Retry/echo-get (stored) already sets the Retry of this match"
	if !errors.Is(err, rulesapi.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Fatalf("apply: %v\nwant %s", err, want)
	}
	if got := compiled(t, kv, store.RoutesKey("web")); got.ModRevision != before.ModRevision {
		t.Errorf("a refused apply rewrote the compiled routes")
	}
	if _, err := st.Get(ctx(t), "Fault", "f"); !errors.Is(err, rulesapi.ErrNotFound) {
		t.Errorf("a refused apply stored its good document: %v", err)
	}
}

func TestConcurrentAppliesOnOneAppBothLand(t *testing.T) {
	kv := openEtcd(t)
	st := New(kv, Options{})
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for _, kind := range []string{"Retry", "Timeout"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				spec := "{attempts: 2}"
				if kind == "Timeout" {
					spec = "{timeout: 1s}"
				}
				doc := fmt.Sprintf("kind: %s\nmetadata: {name: m%d}\ntarget: {app: web, service: echo, method: M%d}\nspec: %s\n", kind, i, i, spec)
				docs, err := rulesapi.DecodeDocuments("c.yaml", []byte(doc))
				if err == nil {
					_, err = st.Apply(ctx(t), docs, false)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	routes, err := registry.DecodeRoutes(compiled(t, kv, store.RoutesKey("web")).Value)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes.Routes) != n {
		t.Fatalf("%d rules; want %d", len(routes.Routes), n)
	}
	for _, r := range routes.Routes {
		if r.Retry == nil || r.Timeout == 0 {
			t.Errorf("rule %s lost a write: %+v", r.Method, r)
		}
	}
	t.Logf("retries: %d", st.Stats.Retries.Load())
}

func TestPublishErrorsAreCountedNotFatal(t *testing.T) {
	kv := openEtcd(t)
	st := New(kv, Options{Publisher: &notices{fail: errors.New("bus away")}})
	if _, err := st.Apply(ctx(t), decode(t, webRules), false); err != nil {
		t.Fatal(err)
	}
	if got := st.Stats.PublishErrors.Load(); got != 2 {
		t.Errorf("publish errors %d; want 2", got)
	}
	var b strings.Builder
	st.WriteStats(&b)
	if !strings.Contains(b.String(), "rules.publish_errors 2\n") {
		t.Errorf("stats:\n%s", b.String())
	}
}

// Each write made times its read, its commit and its publish once; a
// write that changes nothing times nothing.
func TestWritesAreTimed(t *testing.T) {
	kv := openEtcd(t)
	st := New(kv, Options{Publisher: &notices{}})
	for range 2 { // the second changes nothing
		if _, err := st.Apply(ctx(t), decode(t, webRules), false); err != nil {
			t.Fatal(err)
		}
	}
	for name, h := range map[string]*stats.Histogram{"read": &st.Stats.ReadDelay, "commit": &st.Stats.CommitDelay, "publish": &st.Stats.PublishDelay} {
		if s := h.Snapshot(); s.Count() != 1 || s.Quantile(1) <= 0 {
			t.Errorf("%s: %d timed, max %v; want 1, more than 0", name, s.Count(), s.Quantile(1))
		}
	}
	var b strings.Builder
	st.WriteStats(&b)
	for _, want := range []string{"rules.apply_read.count 1\n", "rules.apply_commit.count 1\n", "rules.apply_publish.count 1\n", "rules.apply_commit.p99_us "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("stats lack %q:\n%s", want, b.String())
		}
	}
}

// A write that lands between another write's read and its commit, on the
// same app but on a document the other did not read, makes the other try
// again: neither is lost.
func TestWriteBetweenReadAndCommitIsNotLost(t *testing.T) {
	kv := openEtcd(t)
	st, other := New(kv, Options{}), New(kv, Options{})
	ran := 0
	st.afterRead = func() {
		if ran++; ran == 1 {
			if _, err := other.Apply(ctx(t), decode(t, "kind: Timeout\nmetadata: {name: t}\ntarget: {app: web, service: echo, method: B}\nspec: {timeout: 1s}\n"), false); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := st.Apply(ctx(t), decode(t, "kind: Retry\nmetadata: {name: r}\ntarget: {app: web, service: echo, method: A}\nspec: {}\n"), false); err != nil {
		t.Fatal(err)
	}
	if ran != 2 || st.Stats.Retries.Load() != 1 {
		t.Errorf("read %d times, %d retries; want 2 and 1", ran, st.Stats.Retries.Load())
	}
	routes, err := registry.DecodeRoutes(compiled(t, kv, store.RoutesKey("web")).Value)
	if err != nil || len(routes.Routes) != 2 {
		t.Fatalf("web's rules: %+v, %v; want both writes", routes, err)
	}
}
