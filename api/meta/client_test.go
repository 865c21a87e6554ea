package meta

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeMeta serves a canned answer and records the last request's URL.
func fakeMeta(t *testing.T, code int, body string) (*Client, *string) {
	t.Helper()
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.String()
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, &got
}

func TestOwner(t *testing.T) {
	ctx := context.Background()
	c, got := fakeMeta(t, 200, `{"app":"web","pilot":{"id":"p2","xds":"tcp://127.0.0.1:15012","http":"tcp://127.0.0.1:15013","started":"2025-01-02T03:04:05Z"}}`)
	p, err := c.Owner(ctx, "web", "p1", 15*time.Second)
	if err != nil || p.ID != "p2" || p.XDS != "tcp://127.0.0.1:15012" || p.HTTP != "tcp://127.0.0.1:15013" {
		t.Fatalf("%+v %v", p, err)
	}
	if *got != "/v1/owner?app=web&avoid=p1&wait=15s" {
		t.Errorf("asked %s", *got)
	}
	if _, err := c.Owner(ctx, "web", "", 0); err != nil || *got != "/v1/owner?app=web" {
		t.Errorf("asked %s: %v", *got, err)
	}
	for _, tc := range []struct {
		code       int
		body, want string
	}{
		{200, `{"app":"web","pilot":{"id":"","xds":"tcp://127.0.0.1:1"}}`, "an answer without a usable pilot"},
		{200, `{"app":"web","pilot":{"id":"p1","xds":"nowhere"}}`, "an answer without a usable pilot"},
		{200, `not json`, "meta: a bad answer"},
		{503, `{"error":"meta: no pilot is alive"}`, "503 Service Unavailable: meta: no pilot is alive"},
	} {
		c, _ := fakeMeta(t, tc.code, tc.body)
		if _, err := c.Owner(ctx, "web", "", 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d %s: %v, want %q", tc.code, tc.body, err, tc.want)
		}
	}
}

func TestAssignment(t *testing.T) {
	c, got := fakeMeta(t, 200, `{"pilots":[{"id":"p1","xds":"tcp://127.0.0.1:1","started":"0001-01-01T00:00:00Z","apps":1}],"apps":{"web":"p1"},"capacity":2}`)
	a, err := c.Assignment(context.Background())
	if err != nil || *got != "/v1/assignment" || len(a.Pilots) != 1 || a.Pilots[0].ID != "p1" || a.Pilots[0].Apps != 1 || a.Apps["web"] != "p1" || a.Capacity != 2 {
		t.Fatalf("%s: %+v %v", *got, a, err)
	}
}

// The answers' JSON is what sidecars of earlier versions read: it must not
// change.
func TestWireForm(t *testing.T) {
	started := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	b, _ := json.Marshal(OwnerResponse{App: "web", Pilot: PilotInfo{ID: "p1", XDS: "tcp://127.0.0.1:15010", Started: started}})
	if want := `{"app":"web","pilot":{"id":"p1","xds":"tcp://127.0.0.1:15010","started":"2025-01-02T03:04:05Z"}}`; string(b) != want {
		t.Errorf("owner answer\n %s\nwant\n %s", b, want)
	}
	b, _ = json.Marshal(AssignmentInfo{Pilots: []PilotLoad{{PilotInfo: PilotInfo{ID: "p1", XDS: "x", Draining: true}, Apps: 3}}, Apps: map[string]string{"web": "p1"}, Capacity: 4})
	if want := `{"pilots":[{"id":"p1","xds":"x","started":"0001-01-01T00:00:00Z","draining":true,"apps":3}],"apps":{"web":"p1"},"capacity":4}`; string(b) != want {
		t.Errorf("assignment\n %s\nwant\n %s", b, want)
	}
}
