package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
)

// restartConfig is a sidecar with an app-facing (Unix) and a peer-facing
// (TCP) listener to the backend, an admin endpoint and hot restart on;
// extra is added to its listeners.
func restartConfig(t *testing.T, dir, backend, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("hr.yaml", []byte(fmt.Sprintf(`
admin: {address: "127.0.0.1:0"}
hot_restart: {socket: "%s/hr.sock", drain_time: 2m, ready_timeout: 30s}
listeners:
  - {name: outbound, address: "unix://%s/out.sock", routes: [{service: echo, cluster: app}]}
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: app}]}
%s
clusters:
  - {name: app, request_timeout: 30s, endpoints: [{address: "unix://%s"}]}
`, dir, dir, extra, backend)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestHotRestartInProcess: an old and a new Server in this process, the
// new one taking over through the hand-over socket. It gets every listening
// socket (the same Unix path, the same TCP port, the same admin address),
// new connections reach it, the old one answers its app's next call with
// "restarting" and tells its peers with ProxyRestart, counts no failed
// hand-over, and exits once its connections are gone, long before its
// drain time.
func TestHotRestartInProcess(t *testing.T) {
	dir := sockDir(t)
	be := newBackend(t, dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	old, err := New(restartConfig(t, dir, be.addr, ""), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldReady := old.Ready()
	app := dial(t, filepath.Join(dir, "out.sock"))
	if r := call(t, app, request("echo", "Echo", 1, thrift.CALL, []byte("before"))); r.meshError != "" || r.body != "before" {
		t.Fatalf("before the restart: %+v", r)
	}
	peer, err := net.Dial("tcp", old.ListenerAddr("inbound"))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if r := call(t, peer, request("echo", "Echo", 2, thrift.CALL, []byte("peer"))); r.meshError != "" || r.body != "peer" {
		t.Fatalf("peer before the restart: %+v", r)
	}

	// The bad successor first: it takes the sockets, fails to start (a
	// listener it cannot bind), and gives up; the old one serves on.
	badCfg := restartConfig(t, dir, be.addr, fmt.Sprintf(`  - {name: broken, address: "unix://%s/no/such/dir/x.sock", routes: [{cluster: app}]}`, dir))
	bad, err := New(badCfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.TakeOver(); err == nil {
		bad.Close()
		t.Fatal("a successor that cannot bind its listener took over")
	}
	bad.Close()
	if err := eventually(func() bool { return statValue(old, "hotrestart.failures") == 1 }); err != nil {
		t.Fatalf("hotrestart.failures = %d after a failed hand-over, want 1", statValue(old, "hotrestart.failures"))
	}
	if r := call(t, app, request("echo", "Echo", 3, thrift.CALL, []byte("still"))); r.meshError != "" || r.body != "still" {
		t.Fatalf("after the failed hand-over: %+v", r)
	}
	select {
	case <-old.Done():
		t.Fatal("the old server stopped after a failed hand-over")
	default:
	}

	next, err := New(restartConfig(t, dir, be.addr, ""), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.TakeOver(); err != nil {
		t.Fatalf("take over: %v", err)
	}
	defer next.Close()
	// The same sockets: the Unix path, the TCP port, the admin address.
	nextReady := next.Ready()
	for name, addr := range oldReady.Listeners {
		if nextReady.Listeners[name] != addr {
			t.Errorf("listener %s: %s after the restart, %s before", name, nextReady.Listeners[name], addr)
		}
	}
	if nextReady.Admin != oldReady.Admin {
		t.Errorf("admin %s after the restart, %s before", nextReady.Admin, oldReady.Admin)
	}

	// The old one drains once told the new one serves (in the background).
	if err := eventually(func() bool {
		for _, l := range old.listeners {
			if l.appFacing && !l.dl.Restarting.Load() {
				return false
			}
		}
		return old.draining.Load()
	}); err != nil {
		t.Fatal("the old server does not drain after the hand-over")
	}
	// The app's next call on its connection is answered "restarting" (the
	// sdk retries on a new connection) ...
	if r := call(t, app, request("echo", "Echo", 4, thrift.CALL, []byte("late"))); r.meshError != codec.ErrorRestarting {
		t.Fatalf("a call to the old server after the hand-over: %+v; want %s", r, codec.ErrorRestarting)
	}
	// ... and its peer is told to move with a ProxyRestart frame.
	_ = peer.SetReadDeadline(time.Now().Add(30 * time.Second))
	frame, err := readFrame(peer, make([]byte, 4096))
	if err != nil {
		t.Fatalf("the peer got no ProxyRestart: %v", err)
	}
	var h codec.Header
	if err := h.Decode(frame); err != nil || h.Payload != codec.PayloadNone || string(h.StrInfo(frame, codec.KeyControl)) != codec.ControlProxyRestart {
		t.Fatalf("the peer got %q (%v), want a ProxyRestart control frame", frame, err)
	}
	// New connections reach the new server.
	fresh := dial(t, filepath.Join(dir, "out.sock"))
	if r := call(t, fresh, request("echo", "Echo", 5, thrift.CALL, []byte("after"))); r.meshError != "" || r.body != "after" {
		t.Fatalf("a new connection after the hand-over: %+v", r)
	}
	if n := statValue(next, "downstream.requests"); n != 1 {
		t.Errorf("the new server handled %d requests, want 1", n)
	}
	// The old server closes its end of the admin socket in the background
	// while it drains; a connection it accepted just before may end
	// unanswered (seen once in CI: EOF). Such a try is made again, on a new
	// connection, after a pause.
	admin := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var resp *http.Response
	for try := 0; ; try++ {
		if resp, err = admin.Get("http://" + nextReady.Admin + "/stats"); err == nil {
			break
		}
		if try == 4 {
			t.Fatalf("admin after the restart, 5 tries: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "downstream.requests 1\n") {
		t.Errorf("the admin endpoint does not answer for the new server:\n%s", body)
	}
	for name, want := range map[string]uint64{"hotrestart.failures": 1, "hotrestart.restart_answers": 1, "hotrestart.proxy_restarts_sent": 1, "downstream.requests": 4} {
		if got := statValue(old, name); got != want {
			t.Errorf("old server: %s = %d, want %d", name, got, want)
		}
	}
	// Its connections gone, the old server exits, long before its 2m drain.
	app.Close()
	peer.Close()
	select {
	case <-old.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the old server did not exit once its connections were gone")
	}
	// The new one owns the socket paths now: it still serves them.
	if _, err := os.Stat(filepath.Join(dir, "hr.sock")); err != nil {
		t.Errorf("the hand-over socket is gone after the old server exited: %v", err)
	}
	again := dial(t, filepath.Join(dir, "out.sock"))
	if r := call(t, again, request("echo", "Echo", 6, thrift.CALL, []byte("again"))); r.meshError != "" || r.body != "again" {
		t.Fatalf("after the old server exited: %+v", r)
	}
}
