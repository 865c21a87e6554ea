package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/config"
)

// Admin endpoints of features the config leaves off answer 409 with what
// to configure, not a bare 404.
func TestAdminSaysWhatIsNotConfigured(t *testing.T) {
	s, _, _ := oneHop(t, adminOn)
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/subscribe", "admin: /subscribe is not available: this sidecar's config has no xds; give it an xds section"},
		{"GET", "/xds", "admin: /xds is not available: this sidecar's config has no xds"},
		{"POST", "/hotrestart", "admin: /hotrestart is not available: this sidecar's config has no hot_restart.socket; give it hot_restart.socket"},
	} {
		code, body, _ := adminDo(t, s, tc.method, tc.path, nil)
		if code != http.StatusConflict || !strings.HasPrefix(body, tc.want) || !strings.Contains(body, "docs/config.md") {
			t.Errorf("%s %s: %d %q, want 409 %q...", tc.method, tc.path, code, body, tc.want)
		}
	}
	if code, _, _ := adminGet(t, s, "/no-such-endpoint"); code != http.StatusNotFound {
		t.Errorf("an unknown path: %d, want 404", code)
	}
}

// A port another process listens on fails the start with the config field
// and line, the address once, and what to do.
func TestBusyPortSaysWhichFieldOnce(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	dir := sockDir(t)
	for _, tc := range []struct{ name, yaml, want string }{
		{"listener", fmt.Sprintf("listeners:\n  - name: inbound\n    address: %q\n    routes: [{cluster: app}]\nclusters: [{name: app, endpoints: [{address: \"unix://%s/app.sock\"}]}]\n", addr, dir),
			"test.yaml:3: listeners[0].address: listener inbound: transport: listen tcp " + addr + ": bind: address already in use (another process listens there"},
		{"admin", fmt.Sprintf("admin: {address: %q}\nlisteners:\n  - name: inbound\n    address: \"127.0.0.1:0\"\n    routes: [{cluster: app}]\nclusters: [{name: app, endpoints: [{address: \"unix://%s/app.sock\"}]}]\n", addr, dir),
			"test.yaml:1: admin.address: admin: listen tcp " + addr + ": bind: address already in use (another process listens there"},
	} {
		cfg, err := config.Parse("test.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Start()
		if err == nil {
			s.Close()
			t.Fatalf("%s: started on a busy port", tc.name)
		}
		if !strings.HasPrefix(err.Error(), tc.want) || strings.Count(err.Error(), addr) != 1 {
			t.Errorf("%s: %q, want %q...", tc.name, err, tc.want)
		}
	}
}
