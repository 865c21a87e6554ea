package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/release"
)

func newServer(t *testing.T, agentToken string) (*Handler, *httptest.Server) {
	t.Helper()
	h, err := NewHandler(Config{DataDir: t.TempDir(), OperatorToken: "op-secret", AgentToken: agentToken, Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return h, srv
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func status(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestHandlerRefusesWritesWithoutTheOperatorToken(t *testing.T) {
	h, srv := newServer(t, "")
	ctx := context.Background()
	bin := []byte("a sidecar build")
	for i, token := range []string{"", "wrong", "op-secre"} {
		c := api.NewClient(srv.URL, token)
		if _, err := c.Upload(ctx, bytes.NewReader(bin), "v2", digest(bin)); status(err) != http.StatusUnauthorized {
			t.Fatalf("upload with token %q: %v; want 401", token, err)
		}
		if _, err := c.Create(ctx, spec()); status(err) != http.StatusUnauthorized {
			t.Fatalf("create with token %q: %v; want 401", token, err)
		}
		if _, err := c.Abort(ctx, "r1"); status(err) != http.StatusUnauthorized {
			t.Fatalf("abort with token %q: %v; want 401", token, err)
		}
		if got := h.Stats().Unauthorized; got != uint64(3*(i+1)) {
			t.Fatalf("unauthorized counted %d; want %d", got, 3*(i+1))
		}
	}
	if arts, err := api.NewClient(srv.URL, "").Artifacts(ctx); err != nil || len(arts) != 0 {
		t.Fatalf("reads are open, and nothing was stored: %v %v", arts, err)
	}
	if _, err := NewHandler(Config{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "operator token") {
		t.Fatalf("a handler without an operator token: %v", err)
	}
}

func TestHandlerUploadChecksTheDigest(t *testing.T) {
	h, srv := newServer(t, "")
	ctx := context.Background()
	c := api.NewClient(srv.URL, "op-secret")
	bin := []byte("#!/bin/sh\necho octomesh v2\n")
	_, err := c.Upload(ctx, bytes.NewReader(bin), "v2", digest([]byte("something else")))
	if status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "sha256: the 27 bytes uploaded have SHA-256 "+digest(bin)) {
		t.Fatalf("upload with a wrong digest: %v", err)
	}
	if h.Stats().DigestMismatch != 1 {
		t.Fatalf("stats %+v", h.Stats())
	}
	entries, _ := os.ReadDir(filepath.Join(h.cfg.DataDir, "artifacts"))
	if len(entries) != 0 {
		t.Fatalf("a refused upload left %d files", len(entries))
	}
	for _, tc := range []struct{ version, sum, want string }{
		{"", digest(bin), `version ""`},
		{"v2", "xyz", `sha256 "xyz" is not a SHA-256 digest`},
	} {
		if _, err := c.Upload(ctx, bytes.NewReader(bin), tc.version, tc.sum); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("upload %q %q: %v; want 400 naming %q", tc.version, tc.sum, err, tc.want)
		}
	}
	art, err := c.Upload(ctx, bytes.NewReader(bin), "v2", digest(bin))
	if err != nil || art.SHA256 != digest(bin) || art.Size != int64(len(bin)) {
		t.Fatalf("upload: %+v %v", art, err)
	}
	if _, err := c.Upload(ctx, bytes.NewReader(bin), "v3", digest(bin)); status(err) != http.StatusConflict {
		t.Fatalf("the same bytes as another version: %v", err)
	}
	var got bytes.Buffer
	if err := c.Download(ctx, art.SHA256, &got); err != nil || !bytes.Equal(got.Bytes(), bin) {
		t.Fatalf("download: %q %v", got.Bytes(), err)
	}
	if err := c.Download(ctx, oldSHA, &got); status(err) != http.StatusNotFound {
		t.Fatalf("download of an unknown digest: %v", err)
	}
	// The store is read again by a new handler.
	again, err := OpenArtifacts(filepath.Join(h.cfg.DataDir, "artifacts"))
	if err != nil || len(again.ByVersion("v2")) != 1 {
		t.Fatalf("reopened store: %v %v", again.List(), err)
	}
}

func TestHandlerAgentAccess(t *testing.T) {
	// No agent token: loopback only.
	h, _ := newServer(t, "")
	req := httptest.NewRequest(http.MethodGet, api.AgentsPath+"/n1/target", nil)
	req.RemoteAddr = "10.1.2.3:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || h.Stats().Forbidden != 1 {
		t.Fatalf("an agent off loopback without an agent token: %d %s", rec.Code, rec.Body)
	}
	req.RemoteAddr = "127.0.0.1:5555"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("an agent on loopback: %d %s", rec.Code, rec.Body)
	}

	// An agent token: required, from anywhere.
	h, srv := newServer(t, "agent-secret")
	ctx := context.Background()
	if _, err := api.NewClient(srv.URL, "").Target(ctx, "n1", api.TargetQuery{}); status(err) != http.StatusUnauthorized {
		t.Fatalf("poll without the agent token: %v", err)
	}
	if err := api.NewClient(srv.URL, "nope").Report(ctx, api.Report{Node: "n1"}); status(err) != http.StatusUnauthorized {
		t.Fatalf("report with a wrong token: %v", err)
	}
	if h.Stats().Unauthorized != 2 {
		t.Fatalf("stats %+v", h.Stats())
	}
	agent := api.NewClient(srv.URL, "agent-secret")
	if err := agent.Report(ctx, api.Report{Node: "n2"}); err != nil {
		t.Fatal(err)
	}
	if err := agent.Report(ctx, api.Report{Node: "n1", State: "ready"}); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Target(ctx, "n1", api.TargetQuery{Wait: -time.Second}); err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest(http.MethodPost, api.AgentsPath+"/n1/report", strings.NewReader(`{"node":"n2"}`))
	req.Header.Set("Authorization", "Bearer agent-secret")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `node: the report is of \"n2\", posted for \"n1\"`) {
		t.Fatalf("a report posted for another node: %d %s", rec.Code, rec.Body)
	}
	// The agent token makes no operator.
	if _, err := agent.Create(ctx, spec()); status(err) != http.StatusUnauthorized {
		t.Fatalf("create with the agent token: %v", err)
	}
}

// The whole API through its client: an agent's long poll is answered
// when the operator creates the release; the node reports are served.
func TestHandlerReleaseThroughTheClient(t *testing.T) {
	_, srv := newServer(t, "")
	ctx := context.Background()
	op := api.NewClient(srv.URL, "op-secret")
	agent := api.NewClient(srv.URL, "")
	bin := []byte("v2 build")
	if _, err := op.Upload(ctx, bytes.NewReader(bin), "v2", digest(bin)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"n1", "n2"} {
		if err := agent.Report(ctx, api.Report{Node: n, App: "echo", State: api.NodeReady, Ready: true, Version: api.Version{Version: "v1", SHA256: oldSHA}}); err != nil {
			t.Fatal(err)
		}
	}
	polled := make(chan api.Target, 1)
	go func() {
		tg, err := agent.Target(ctx, "n1", api.TargetQuery{App: "echo", Have: oldSHA, Wait: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		polled <- tg
	}()
	s := spec()
	s.Batches = 1
	r, err := op.Create(ctx, s)
	if err != nil || len(r.Stages) != 2 {
		t.Fatalf("create: %+v %v", r, err)
	}
	select {
	case tg := <-polled:
		if tg.SHA256 != digest(bin) || tg.Release != "r1" {
			t.Fatalf("long poll: %+v", tg)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long poll was not answered")
	}
	if _, err := op.Create(ctx, s); status(err) != http.StatusConflict {
		t.Fatalf("a second release of the same name: %v", err)
	}
	s.Name, s.Gate.Window = "r9", 0
	if _, err := op.Create(ctx, s); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "gate.window") {
		t.Fatalf("a bad spec: %v", err)
	}
	if r, err := op.Pause(ctx, "r1"); err != nil || r.State != api.Paused {
		t.Fatalf("pause: %v %v", r.State, err)
	}
	nodes, err := op.Nodes(ctx)
	if err != nil || len(nodes) != 2 || nodes[0].Node != "n1" || nodes[0].App != "echo" || nodes[0].Stale {
		t.Fatalf("nodes: %+v %v", nodes, err)
	}
	rels, err := op.Releases(ctx)
	if err != nil || len(rels) != 1 || rels[0].State != api.Paused {
		t.Fatalf("releases: %+v %v", rels, err)
	}
	if _, err := op.Release(ctx, "nope"); status(err) != http.StatusNotFound {
		t.Fatalf("an unknown release: %v", err)
	}
}
