package server

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
)

func TestForwardRestoresEachCallersSeqIDs(t *testing.T) {
	s, be, out := oneHop(t, "")
	// 20 callers, all using the same seqIDs, as separate client processes
	// would: each must get its own responses back, with its own seqIDs.
	var wg sync.WaitGroup
	for c := 0; c < 20; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := dial(t, out)
			for i := 1; i <= 50; i++ {
				body := fmt.Sprintf("caller %d request %d", c, i)
				r := call(t, conn, request("echo", "Echo", int32(i), thrift.CALL, []byte(body)))
				if r.meshError != "" || r.body != body || r.seq != int32(i) || r.payloadSeq != int32(i) {
					t.Errorf("caller %d request %d got %+v", c, i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	if be.calls.Load() != 1000 || statValue(s, "upstream.responses") != 1000 {
		t.Errorf("backend saw %d calls, %d responses counted", be.calls.Load(), statValue(s, "upstream.responses"))
	}
	if n := statValue(s, "upstream.connections_open"); n < 1 || n > 2 {
		t.Errorf("%d upstream connections for 20 callers, want the 1-2 configured", n)
	}
}

func TestPipelinedRequestsOnOneConnection(t *testing.T) {
	_, _, out := oneHop(t, "")
	conn := dial(t, out)
	var frames []byte
	for i := 0; i < 100; i++ {
		frames = append(frames, request("echo", "Echo", int32(i), thrift.CALL, []byte(fmt.Sprint(i)))...)
	}
	if _, err := conn.Write(frames); err != nil {
		t.Fatal(err)
	}
	seen := map[int32]bool{}
	buf := make([]byte, 4096)
	for i := 0; i < 100; i++ {
		f, err := readFrame(conn, buf)
		if err != nil {
			t.Fatal(err)
		}
		r := parseReply(t, f)
		if r.body != fmt.Sprint(r.seq) || seen[r.seq] {
			t.Fatalf("reply %+v (duplicate: %v)", r, seen[r.seq])
		}
		seen[r.seq] = true
	}
}

func TestTwoSidecarsOverTCP(t *testing.T) {
	dir := sockDir(t)
	be := newBackend(t, dir)
	b := sidecar(t, fmt.Sprintf(`
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local-app}]}
clusters:
  - {name: local-app, endpoints: [{address: "unix://%s"}]}
`, be.addr))
	out := filepath.Join(dir, "a.sock")
	sidecar(t, fmt.Sprintf(`
listeners:
  - {name: outbound, address: "unix://%s", routes: [{service: echo, cluster: echo}]}
clusters:
  - {name: echo, endpoints: [{address: "%s"}]}
`, out, b.ListenerAddr("inbound")))
	conn := dial(t, out)
	for i := int32(1); i <= 100; i++ {
		r := call(t, conn, request("echo", "Echo", i, thrift.CALL, []byte("x")))
		if r.meshError != "" || r.seq != i || r.payloadSeq != i || r.body != "x" {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
}

func TestErrorResponses(t *testing.T) {
	dir := sockDir(t)
	be := newBackend(t, dir)
	be.hold = func(body []byte) (time.Duration, bool) { return 0, string(body) == "never" }
	extra := sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes:
      - {service: echo, cluster: app}
      - {service: dead, cluster: dead}
clusters:
  - {name: app, request_timeout: 150ms, endpoints: [{address: "unix://%s"}]}
  - {name: dead, connect_timeout: 200ms, endpoints: [{address: "unix://%s/none.sock"}]}
`, filepath.Join(dir, "x.sock"), be.addr, dir))
	conn := dial(t, filepath.Join(dir, "x.sock"))

	cases := []struct {
		name, service, body, kind, msg string
	}{
		{"no route", "other", "b", "no_route", `octomesh: no route: listener outbound has no route for service "other" method "Echo"`},
		{"no to-service", "", "b", "no_route", "transmeta.ClientTTHeaderHandler"},
		{"unreachable", "dead", "b", "unreachable", "octomesh: upstream unreachable: cluster dead endpoint " + dir + "/none.sock: dial unix"},
		{"timeout", "echo", "never", "timeout", "octomesh: upstream timeout: cluster app endpoint " + be.addr},
	}
	for i, tc := range cases {
		start := time.Now()
		r := call(t, conn, request(tc.service, "Echo", int32(100+i), thrift.CALL, []byte(tc.body)))
		if r.meshError != tc.kind || !strings.Contains(r.body, tc.msg) || r.seq != int32(100+i) || r.payloadSeq != int32(100+i) {
			t.Errorf("%s: got %+v\nwant kind %s and message containing %q", tc.name, r, tc.kind, tc.msg)
		}
		if tc.kind == "timeout" {
			// Not before the request timeout; how long after it depends on
			// the machine (upstream.timeouts, below, says it was the timeout).
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("timeout answered after %v, before the 150ms request timeout", d)
			}
		}
	}
	if n := statValue(extra, "upstream.timeouts"); n != 1 {
		t.Errorf("upstream.timeouts = %d", n)
	}
	if n := statValue(extra, "downstream.no_route"); n != 2 {
		t.Errorf("downstream.no_route = %d", n)
	}
	// The connection is still usable after all that.
	if r := call(t, conn, request("echo", "Echo", 7, thrift.CALL, []byte("ok"))); r.body != "ok" {
		t.Errorf("after errors: %+v", r)
	}
}

func TestOverloadPerConnection(t *testing.T) {
	dir := sockDir(t)
	be := newBackend(t, dir)
	release := make(chan struct{})
	be.hold = func(body []byte) (time.Duration, bool) {
		if string(body) == "stall" {
			<-release
		}
		return 0, false
	}
	out := filepath.Join(dir, "o.sock")
	s := sidecar(t, fmt.Sprintf(`
limits: {max_inflight_per_connection: 2}
listeners: [{name: outbound, address: "unix://%s", routes: [{service: echo, cluster: app}]}]
clusters: [{name: app, connections_per_endpoint: 1, endpoints: [{address: "unix://%s"}]}]
`, out, be.addr))
	conn := dial(t, out)
	// Two stalled requests fill the connection's budget; the third is
	// refused at once with the limit named.
	for i := int32(1); i <= 3; i++ {
		if _, err := conn.Write(request("echo", "Echo", i, thrift.CALL, []byte("stall"))); err != nil {
			t.Fatal(err)
		}
	}
	f, err := readFrame(conn, make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	r := parseReply(t, f)
	if r.seq != 3 || r.meshError != "overloaded" || !strings.Contains(r.body, "limits.max_inflight_per_connection=2") {
		t.Fatalf("third request: %+v", r)
	}
	close(release)
	got := map[int32]string{}
	for i := 0; i < 2; i++ {
		f, err := readFrame(conn, make([]byte, 4096))
		if err != nil {
			t.Fatal(err)
		}
		r := parseReply(t, f)
		got[r.seq] = r.body
	}
	if got[1] != "stall" || got[2] != "stall" {
		t.Errorf("stalled requests answered %v", got)
	}
	if statValue(s, "downstream.overloaded_conn") != 1 || statValue(s, "downstream.inflight") != 0 {
		t.Errorf("overloaded_conn %d inflight %d", statValue(s, "downstream.overloaded_conn"), statValue(s, "downstream.inflight"))
	}
}

func TestUpstreamConnectionLostFailsInflight(t *testing.T) {
	s, be, out := oneHop(t, "")
	stalled := make(chan struct{}, 1)
	be.hold = func(body []byte) (time.Duration, bool) {
		if string(body) == "drop" {
			stalled <- struct{}{}
			return 0, true
		}
		return 0, false
	}
	conn := dial(t, out)
	// Both connections to the endpoint (connections_per_endpoint defaults
	// to 2) are open before the drop, so none is dialled behind it.
	if r := call(t, conn, request("echo", "Echo", 4, thrift.CALL, []byte("warm"))); r.body != "warm" {
		t.Fatalf("warm-up: %+v", r)
	}
	if err := eventually(func() bool { return statValue(s, "upstream.connections_open") == 2 }); err != nil {
		t.Fatalf("connections open: %d", statValue(s, "upstream.connections_open"))
	}
	if _, err := conn.Write(request("echo", "Echo", 5, thrift.CALL, []byte("drop"))); err != nil {
		t.Fatal(err)
	}
	<-stalled
	be.dropConns()
	f, err := readFrame(conn, make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	if r := parseReply(t, f); r.meshError != "connection_lost" || r.seq != 5 {
		t.Fatalf("got %+v", r)
	}
	// The next request redials, once the sidecar has seen both connections
	// close: one picked before its close is seen would also be lost.
	if err := eventually(func() bool { return statValue(s, "upstream.connections_open") == 0 }); err != nil {
		t.Fatalf("connections open after the drop: %d", statValue(s, "upstream.connections_open"))
	}
	if r := call(t, conn, request("echo", "Echo", 6, thrift.CALL, []byte("again"))); r.body != "again" {
		t.Fatalf("after reconnect: %+v", r)
	}
	if statValue(s, "upstream.connection_lost") != 1 {
		t.Errorf("connection_lost = %d", statValue(s, "upstream.connection_lost"))
	}
}

func TestOnewayIsForwardedWithoutReply(t *testing.T) {
	_, be, out := oneHop(t, "")
	conn := dial(t, out)
	if _, err := conn.Write(request("echo", "Fire", 1, thrift.ONEWAY, []byte("x"))); err != nil {
		t.Fatal(err)
	}
	// A call after the oneway gets its own reply, not anything for the oneway.
	if r := call(t, conn, request("echo", "Echo", 2, thrift.CALL, []byte("y"))); r.seq != 2 || r.body != "y" {
		t.Fatalf("got %+v", r)
	}
	if err := eventually(func() bool { return be.calls.Load() == 2 }); err != nil {
		t.Fatalf("backend saw %d calls", be.calls.Load())
	}
}

func TestBadFramesCloseOnlyTheirConnection(t *testing.T) {
	s, _, out := oneHop(t, "")
	good := dial(t, out)
	reply := request("echo", "Echo", 1, thrift.REPLY, nil)
	for _, bad := range [][]byte{[]byte("garbage!garbage!"), reply} {
		c := dial(t, out)
		if _, err := c.Write(bad); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("read %d bytes from a connection that sent garbage", n)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("connection not closed")
		}
	}
	if r := call(t, good, request("echo", "Echo", 3, thrift.CALL, []byte("ok"))); r.body != "ok" {
		t.Fatalf("good connection: %+v", r)
	}
	if statValue(s, "transport.protocol_errors.not_ttheader") != 1 || statValue(s, "transport.protocol_errors.bad_payload") != 1 {
		var b strings.Builder
		s.WriteStats(&b)
		t.Errorf("counters:\n%s", b.String())
	}
}
