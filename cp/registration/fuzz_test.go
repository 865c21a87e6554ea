package registration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

// The API calls FuzzAPI makes, by the fuzzer's choice.
var apiCalls = []struct{ method, prefix string }{
	{http.MethodPost, "/v1/instances"},
	{http.MethodPut, "/v1/routes/"},
	{http.MethodPut, "/v1/policies/"},
	{http.MethodPut, "/v1/leases/"},
	{http.MethodDelete, "/v1/leases/"},
	{http.MethodGet, "/v1/services/"},
	{http.MethodDelete, "/v1/routes/"},
	{http.MethodDelete, "/v1/policies/"},
}

// downStore is a Store that cannot be reached.
type downStore struct{ Store }

func (downStore) err() error {
	return fmt.Errorf("%w: etcd: connection refused", registry.ErrUnavailable)
}
func (s downStore) Register(context.Context, registry.Instance, time.Duration) (registry.LeaseID, error) {
	return 0, s.err()
}
func (s downStore) Update(context.Context, registry.LeaseID, registry.Instance) error { return s.err() }
func (s downStore) KeepAlive(context.Context, registry.LeaseID) (time.Duration, error) {
	return 0, s.err()
}
func (s downStore) Revoke(context.Context, registry.LeaseID) error { return s.err() }
func (s downStore) LeaseInstances(context.Context, registry.LeaseID) ([]registry.Instance, error) {
	return nil, s.err()
}
func (s downStore) Reinstate(context.Context, registry.LeaseID, []registry.Instance, time.Duration) (bool, error) {
	return false, s.err()
}
func (s downStore) Instances(context.Context, string) ([]registry.Instance, error) {
	return nil, s.err()
}
func (s downStore) Routes(context.Context, string) ([]byte, error)  { return nil, s.err() }
func (s downStore) PutRoutes(context.Context, string, []byte) error { return s.err() }
func (s downStore) DeleteRoutes(context.Context, string) error      { return s.err() }
func (s downStore) Policy(context.Context, string) ([]byte, error)  { return nil, s.err() }
func (s downStore) PutPolicy(context.Context, string, []byte) error { return s.err() }
func (s downStore) DeletePolicy(context.Context, string) error      { return s.err() }

// FuzzAPI sends the registration API arbitrary bodies and names over a
// store that never fails, or (op's top bit) one that cannot be reached.
// Every answer is a 2xx, or a 4xx with a JSON error, or with the store
// down a 503 with a JSON error; never another 5xx, never a panic. Rules and
// policies it accepts read back valid, and are accepted again as they read
// back; an instance it registers is listed.
func FuzzAPI(f *testing.F) {
	reg, _ := json.Marshal(registry.RegisterRequest{Instance: echo, TTL: "5s"})
	f.Add(uint8(0), "", reg)
	f.Add(uint8(0), "", []byte(`{"instance":{"service":"echo","app":"echo","address":"127.0.0.1:1"},"lease":"1"}`))
	f.Add(uint8(1), "web", []byte(`{"routes":[{"service":"echo","method":"Get","headers":{"om-lane":"blue"},"tags":{"env":"canary"},`+
		`"split":[{"cluster":"echo","weight":90},{"cluster":"echo-v2","weight":10}],"timeout":"800ms","retry":{"per_try_timeout":"200ms","idempotent":true},`+
		`"rate_limit":{"requests_per_second":100,"per_caller":true},"fault":{"delay":{"percent":5,"duration":"50ms"},"abort":{"percent":1},"headers":{"om-test":"1"}},`+
		`"mirror":{"cluster":"echo-shadow"}},{"service":"echo","method":"Get"}]}`))
	f.Add(uint8(2), "echo", []byte(`{"circuit_breaker":{"max_requests":10},"retry_budget":{"percent":5},"outlier_detection":{"interval":"1s","latency_factor":3},`+
		`"routes":[{"method":"Get","retry":{"attempts":3}}]}`))
	f.Add(uint8(3), "1f", []byte(nil))
	f.Add(uint8(4), "-1", []byte(nil))
	f.Add(uint8(5), "echo", []byte(nil))
	f.Add(uint8(0x80), "", reg)
	f.Add(uint8(0x82), "echo", []byte(`{"circuit_breaker":{"max_requests":10}}`))
	f.Add(uint8(0x85), "echo", []byte(nil))
	f.Fuzz(func(t *testing.T, op uint8, name string, body []byte) {
		var store Store = newMemStore()
		down := op&0x80 != 0
		if down {
			store = downStore{}
		}
		h := Handler(store, discard)
		call := apiCalls[int(op&0x7f)%len(apiCalls)]
		p := call.prefix + url.PathEscape(name)
		if call.method == http.MethodPost {
			p = call.prefix
		} else if name == "" || path.Clean(p) != p {
			return // no handler's path: the mux answers (404, or a redirect)
		}
		code, resp := serveAPI(t, h, call.method, p, body)
		if code == http.StatusServiceUnavailable && !down {
			t.Fatalf("%s %s %q: 503 %s from a store that never fails", call.method, p, body, resp)
		}
		if code/100 != 2 {
			return
		}
		if down {
			t.Fatalf("%s %s %q: %d %s with the store down", call.method, p, body, code, resp)
		}
		readsBody := call.method == http.MethodPost || call.method == http.MethodPut && call.prefix != "/v1/leases/"
		if readsBody && !json.Valid(body) {
			t.Fatalf("%s %s accepted %q, which is not one JSON value", call.method, p, body)
		}
		switch call.prefix {
		case "/v1/instances":
			var rr registry.RegisterResponse
			if err := json.Unmarshal(resp, &rr); err != nil || rr.Lease <= 0 {
				t.Fatalf("register answered %s (%v)", resp, err)
			}
			var req registry.RegisterRequest
			_ = json.Unmarshal(body, &req)
			code, list := serveAPI(t, h, http.MethodGet, "/v1/services/"+url.PathEscape(req.Instance.Service), nil)
			var got []registry.Instance
			if err := json.Unmarshal(list, &got); code != http.StatusOK || err != nil || len(got) != 1 || got[0].Address != req.Instance.Address {
				t.Fatalf("after registering %s, the service lists %d %s (%v)", body, code, list, err)
			}
		case "/v1/routes/", "/v1/policies/":
			if call.method != http.MethodPut {
				return
			}
			code, stored := serveAPI(t, h, http.MethodGet, p, nil)
			if code != http.StatusOK {
				t.Fatalf("GET %s after an accepted PUT of %s: %d %s", p, body, code, stored)
			}
			if call.prefix == "/v1/routes/" {
				a, err := registry.DecodeRoutes(stored)
				if err != nil || a.Validate() != nil {
					t.Fatalf("accepted rules %s read back as %s: %v, %v", body, stored, err, a.Validate())
				}
			} else {
				pol, err := registry.DecodePolicy(name, stored)
				if err != nil || pol.Validate(name) != nil {
					t.Fatalf("an accepted policy %s reads back as %s: %v, %v", body, stored, err, pol.Validate(name))
				}
			}
			if code, resp := serveAPI(t, h, http.MethodPut, p, stored); code != http.StatusNoContent {
				t.Fatalf("%s, as it read back from %s, is refused: %d %s", stored, body, code, resp)
			}
			if code, again := serveAPI(t, h, http.MethodGet, p, nil); code != http.StatusOK || !bytes.Equal(again, stored) {
				t.Fatalf("%s, put again, reads back as %s", stored, again)
			}
		}
	})
}

// serveAPI makes one request and checks the answer's form: 2xx, or 4xx or
// 503 with a JSON error (or the mux's 404 for a path no handler serves).
func serveAPI(t *testing.T, h http.Handler, method, target string, body []byte) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	code, resp := w.Code, w.Body.Bytes()
	switch code / 100 {
	case 2:
	case 4, 5:
		if code/100 == 5 && code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: %d %s", method, target, body, code, resp)
		}
		if code == http.StatusNotFound && string(resp) == "404 page not found\n" {
			break // the mux's: the escaped name does not make a path the API serves ("%2F")
		}
		var e registry.ErrorBody
		if err := json.Unmarshal(resp, &e); err != nil || e.Error == "" || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s %q: %d with %q (%v), not a JSON error", method, target, body, code, resp, err)
		}
	default:
		t.Fatalf("%s %s %q: %d %s", method, target, body, code, resp)
	}
	return code, resp
}
