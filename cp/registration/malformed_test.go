package registration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

// TestAPIRefusesMalformedRequests: each malformed request is refused with
// its status and a JSON error saying what was wrong, the store is left as
// it was (a registered instance, its lease, its routes and policy), and
// a good request after them is served.
func TestAPIRefusesMalformedRequests(t *testing.T) {
	store := newMemStore()
	h := Handler(store, discard)
	do := func(method, path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
		return w
	}
	if w := do(http.MethodPost, "/v1/instances", `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:7102","weight":1},"ttl":"10s"}`); w.Code != 200 {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	if w := do(http.MethodPut, "/v1/routes/web", `{"routes":[{"service":"echo"}]}`); w.Code != 204 {
		t.Fatalf("routes: %d %s", w.Code, w.Body)
	}
	snapshot := func() string {
		store.mu.Lock()
		defer store.mu.Unlock()
		b, _ := json.Marshal([]any{store.leases, store.instances, store.routes, store.policies})
		return string(b)
	}
	before := snapshot()
	big := `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:1","metadata":{"k":"` + strings.Repeat("x", maxBody) + `"}}}`
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"register: not JSON", "POST", "/v1/instances", `{"instance":`, 400, "request body"},
		{"register: an unknown field", "POST", "/v1/instances", `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:1"},"owner":"x"}`, 400, "unknown field"},
		{"register: two JSON values", "POST", "/v1/instances", `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:1"}}{}`, 400, "more than one JSON value"},
		{"register: no service", "POST", "/v1/instances", `{"instance":{"app":"echo","address":"127.0.0.1:1"}}`, 400, "service"},
		{"register: a service with a slash", "POST", "/v1/instances", `{"instance":{"service":"a/b","app":"echo","address":"127.0.0.1:1"}}`, 400, "service"},
		{"register: a TTL under the minimum", "POST", "/v1/instances", `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:1"},"ttl":"1s"}`, 400, "ttl"},
		{"register: a TTL that is no duration", "POST", "/v1/instances", `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:1"},"ttl":"soon"}`, 400, "ttl"},
		{"register: a body over the limit", "POST", "/v1/instances", big, 400, "request body"},
		{"update: a lease never granted", "POST", "/v1/instances", `{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:7102","weight":9},"lease":"424242"}`, 404, "lease"},
		{"keepalive: a lease that is a hex number never granted", "PUT", "/v1/leases/abc", ``, 404, "lease"},
		{"keepalive: a lease that is no number", "PUT", "/v1/leases/xyz", ``, 400, "not a lease id"},
		{"revoke: a lease that is no number", "DELETE", "/v1/leases/-5", ``, 400, "not a lease id"},
		{"keepalive: a lease never granted", "PUT", "/v1/leases/424242", ``, 404, "lease"},
		{"revoke: a lease never granted", "DELETE", "/v1/leases/424242", ``, 404, "lease"},
		{"routes: an app name with an escaped slash", "PUT", "/v1/routes/a%2Fb", `{"routes":[]}`, 400, "app"},
		{"routes: an app name with a control character", "GET", "/v1/routes/a%01b", ``, 400, "app"},
		{"routes: a rule with no service", "PUT", "/v1/routes/web", `{"routes":[{"method":"Echo"}]}`, 400, "service"},
		{"routes: not JSON", "PUT", "/v1/routes/web", `[`, 400, "request body"},
		{"policy: a service name too long", "PUT", "/v1/policies/" + strings.Repeat("s", 300), `{}`, 400, "service"},
		{"policy: an unknown field", "PUT", "/v1/policies/echo", `{"circuit_breaker":{"max_requests":1},"colour":"red"}`, 400, "unknown field"},
		{"instances: a bad service name", "GET", "/v1/services/a%20b", ``, 400, "service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(tc.method, tc.path, tc.body)
			var e registry.ErrorBody
			if w.Code != tc.code || json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, tc.want) {
				t.Errorf("%s %s: %d %s; want %d and a JSON error naming %q", tc.method, tc.path, w.Code, w.Body, tc.code, tc.want)
			}
			if after := snapshot(); after != before {
				t.Errorf("the store changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
	// Nothing was lost: the instance is there and its lease renews.
	c := httptest.NewServer(h)
	defer c.Close()
	rc, err := registry.NewClient(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := rc.Instances(ctx, "echo")
	if err != nil || len(list) != 1 || list[0].Weight != 1 {
		t.Fatalf("after the bad requests: %+v %v", list, err)
	}
	if err := rc.KeepAlive(ctx, 1); err != nil {
		t.Fatalf("the lease after the bad requests: %v", err)
	}
}
