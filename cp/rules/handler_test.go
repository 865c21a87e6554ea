package rules

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rulesapi "github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/store"
)

const testToken = "s3cret"

func serve(t *testing.T) (*httptest.Server, *Store, *store.Store) {
	t.Helper()
	kv := openEtcd(t)
	st := New(kv, Options{})
	srv := httptest.NewServer(NewHandler(st, HandlerOptions{Token: testToken}))
	t.Cleanup(srv.Close)
	return srv, st, kv
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandlerWritesNeedTheToken(t *testing.T) {
	srv, st, kv := serve(t)
	for _, tc := range []struct{ method, path, token, want string }{
		{"POST", "/v1/rules/apply", "", `{"error":"` + rulesapi.TokenHelp + `"}`},
		{"POST", "/v1/rules/apply", "wrong", `{"error":"wrong operator token: ` + rulesapi.TokenHelp + `"}`},
		{"POST", "/v1/rules/delete", "", rulesapi.TokenHelp},
		{"DELETE", "/v1/rules/Retry/echo-get", "s3cre", rulesapi.TokenHelp},
	} {
		code, body := call(t, tc.method, srv.URL+tc.path, tc.token, webRules)
		if code != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s with token %q: %d %s; want 401 %s", tc.method, tc.path, tc.token, code, body, tc.want)
		}
	}
	if got := st.Stats.Unauthorized.Load(); got != 4 {
		t.Errorf("rules.unauthorized %d; want 4", got)
	}
	if got := compiled(t, kv, store.RoutesKey("web")); got.ModRevision != 0 {
		t.Errorf("an unauthorized apply wrote")
	}
	// Reads and dry runs need none.
	if code, body := call(t, "POST", srv.URL+"/v1/rules/apply?dry_run=true", "", webRules); code != 200 || !strings.Contains(body, `"dry_run":true`) {
		t.Errorf("dry run without a token: %d %s", code, body)
	}
	if code, body := call(t, "GET", srv.URL+"/v1/rules", "", ""); code != 200 || body != "{\"documents\":[]}\n" {
		t.Errorf("GET /v1/rules: %d %s", code, body)
	}
	if code, body := call(t, "POST", srv.URL+"/v1/rules/apply?file=web.yaml", testToken, webRules); code != 200 || !strings.Contains(body, `"action":"created"`) {
		t.Errorf("apply with the token: %d %s", code, body)
	}
}

func TestHandlerErrors(t *testing.T) {
	srv, _, kv := serve(t)
	if code, body := call(t, "POST", srv.URL+"/v1/rules/apply?file=web.yaml", testToken, webRules); code != 200 {
		t.Fatalf("apply: %d %s", code, body)
	}
	before := compiled(t, kv, store.RoutesKey("web"))
	bad := strings.Replace(webRules, "attempts: 3", "attempts: 30", 1)
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/v1/rules/apply?file=web.yaml", bad, 400, `{"error":"web.yaml:5: document 1 (Retry/echo-get): spec.attempts: must be between 1 and 10"}`},
		{"POST", "/v1/rules/apply?file=web.yaml", "kind: Retry\n  bad: [", 400, "web.yaml:"},
		{"POST", "/v1/rules/apply?file=web.yaml&dry_run=maybe", webRules, 400, `dry_run=\"maybe\"`},
		{"POST", "/v1/rules/apply?file=web.yaml", "kind: Retry\nmetadata: {name: echo-get, revision: 1}\ntarget: {app: web, service: echo, method: Get}\nspec: {attempts: 2}\n", 409, "metadata.revision: 1 is not the stored revision"},
		{"DELETE", "/v1/rules/Retry/nope", "", 404, `{"error":"Retry/nope: no such document"}`},
		{"DELETE", "/v1/rules/Retries/x", "", 400, `\"Retries\" is not a kind of rule`},
		{"GET", "/v1/rules/Retry/nope", "", 404, "Retry/nope: no such document"},
		{"GET", "/v1/rules/Retries", "", 400, "is not a kind of rule"},
	} {
		code, body := call(t, tc.method, srv.URL+tc.path, testToken, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s\nwant %d %s", tc.method, tc.path, code, body, tc.code, tc.want)
		}
	}
	if got := compiled(t, kv, store.RoutesKey("web")); got.ModRevision != before.ModRevision {
		t.Errorf("a refused write changed the compiled routes")
	}
}

func TestHandlerReadsAndClient(t *testing.T) {
	srv, _, _ := serve(t)
	c, err := rulesapi.NewClient(srv.URL, testToken)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Apply(ctx(t), "web.yaml", []byte(webRules), false)
	if err != nil || len(resp.Results) != 3 {
		t.Fatalf("Apply: %+v, %v", resp, err)
	}
	docs, err := c.List(ctx(t), "Retry")
	if err != nil || len(docs) != 1 || docs[0].Ref() != "Retry/echo-get" || docs[0].Metadata.Revision != resp.Revision {
		t.Errorf("List(Retry): %+v, %v", docs, err)
	}
	all, err := c.List(ctx(t), "")
	if err != nil || len(all) != 3 {
		t.Errorf("List(): %d documents, %v", len(all), err)
	}
	d, err := c.Get(ctx(t), "Timeout", "echo-get")
	if err != nil || d.Spec.(*rulesapi.TimeoutSpec).Timeout.Std().String() != "800ms" {
		t.Errorf("Get: %+v, %v", d, err)
	}
	if _, err := c.Get(ctx(t), "Timeout", "nope"); !errors.Is(err, rulesapi.ErrNotFound) {
		t.Errorf("Get of nothing: %v", err)
	}
	if _, err := c.Apply(ctx(t), "web.yaml", []byte("kind: Nope\n"), false); !errors.Is(err, rulesapi.ErrInvalid) {
		t.Errorf("bad apply: %v", err)
	}
	if _, err := c.Delete(ctx(t), "Retry", "echo-get", 0); err != nil {
		t.Errorf("Delete: %v", err)
	}
	h, err := c.History(ctx(t), "Retry", "echo-get")
	if err != nil || h.Document != nil || len(h.History) != 1 {
		t.Errorf("History: %+v, %v", h, err)
	}
	ro, _ := rulesapi.NewClient(srv.URL, "")
	if _, err := ro.Apply(ctx(t), "web.yaml", []byte(webRules), false); !errors.Is(err, rulesapi.ErrUnauthorized) || !strings.Contains(err.Error(), rulesapi.TokenHelp) {
		t.Errorf("apply without a token: %v", err)
	}
	// The JSON of a document is what the API documents.
	_, body := call(t, "GET", srv.URL+"/v1/rules/CircuitBreaker/echo", "", "")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil || m["kind"] != "CircuitBreaker" || m["spec"].(map[string]any)["max_requests"] != 200.0 {
		t.Errorf("GET a document: %s", body)
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "token")
	tok, err := LoadOrCreateToken(path)
	if err != nil || len(tok) != 64 {
		t.Fatalf("created %q, %v", tok, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, %v; want 0600", fi.Mode(), err)
	}
	again, err := LoadOrCreateToken(path)
	if err != nil || again != tok {
		t.Errorf("loaded %q, %v; want %q", again, err, tok)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := LoadOrCreateToken(empty); err == nil {
		t.Error("an empty token file was accepted")
	}
}
