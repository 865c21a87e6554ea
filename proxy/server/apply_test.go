package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/config"
)

func clusterTo(name string, addrs ...string) config.Cluster {
	c := config.NewCluster(name)
	for _, a := range addrs {
		c.Endpoints = append(c.Endpoints, config.NewEndpoint("unix://"+a))
	}
	return c
}

func TestApplyClustersAndRoutesAtRuntime(t *testing.T) {
	s, be1, out := oneHop(t, "")
	be2 := newBackend(t, sockDir(t))
	conn := dial(t, out)
	send := func(seq int32) reply { return call(t, conn, request("echo", "Echo", seq, thrift.CALL, []byte("x"))) }
	accepted := func(b *backend) int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.conns)
	}
	send(1) // dials the first connection
	send(2) // and the next pick fills the second slot in the background
	if err := eventually(func() bool { return accepted(be1) == 2 }); err != nil {
		t.Fatalf("sidecar opened %d connections to be1, want the 2 configured", accepted(be1))
	}
	app := func(addrs ...string) config.Cluster {
		c := clusterTo("app", addrs...)
		c.RequestTimeout = config.Duration(2 * time.Second) // as oneHop configured it
		return c
	}

	// Endpoints only: the cluster object and its connections to be1 stay.
	if err := s.ApplyClusters([]config.Cluster{app(be1.addr, be2.addr)}); err != nil {
		t.Fatal(err)
	}
	for i := int32(3); i < 13; i++ {
		send(i)
	}
	if be2.calls.Load() == 0 || be1.calls.Load() < 2 {
		t.Fatalf("after adding be2: be1 %d be2 %d calls", be1.calls.Load(), be2.calls.Load())
	}
	if n := accepted(be1); n != 2 {
		t.Errorf("be1 has accepted %d connections; an endpoints-only change must keep the 2 it had", n)
	}
	if n := s.built.Load(); n != 0 {
		t.Errorf("%d clusters and endpoints counted as built after an endpoints-only change, want 0 (memory.go releases after %d)", n, releaseAfterBuilt)
	}

	// A new cluster and a route to it.
	be3 := newBackend(t, sockDir(t))
	if err := s.ApplyClusters([]config.Cluster{app(be1.addr, be2.addr), clusterTo("other", be3.addr)}); err != nil {
		t.Fatal(err)
	}
	r := config.NewRoute("other")
	r.Service = "other"
	if err := s.ApplyRoutes("outbound", []config.Route{{Service: "echo", Method: "*", Cluster: "app"}, r}); err != nil {
		t.Fatal(err)
	}
	if got := call(t, conn, request("other", "M", 50, thrift.CALL, []byte("y"))); got.body != "y" || be3.calls.Load() != 1 {
		t.Fatalf("route to new cluster: %+v, be3 calls %d", got, be3.calls.Load())
	}
	if names := fmt.Sprint(s.ClusterNames()); names != "[app other]" {
		t.Errorf("clusters %s", names)
	}
	if n := s.built.Load(); n != 2 {
		t.Errorf("%d clusters and endpoints counted as built, want 2 (cluster other and its endpoint)", n)
	}
}

func TestApplyRejectsBadChangesAndKeepsServing(t *testing.T) {
	s, be, out := oneHop(t, "")
	conn := dial(t, out)
	bad := clusterTo("app", be.addr)
	bad.Balancer = "fastest"
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"unknown balancer", s.ApplyClusters([]config.Cluster{bad}), `cluster "app": balancer: lb: unknown balancer "fastest"`},
		{"removing a used cluster", s.ApplyClusters(nil), `cluster "app" is still used by listener outbound`},
		{"twice", s.ApplyClusters([]config.Cluster{clusterTo("app", be.addr), clusterTo("app", be.addr)}), `cluster "app" given twice`},
		{"route to unknown cluster", s.ApplyRoutes("outbound", []config.Route{config.NewRoute("nope")}), `listener outbound: routes[0].cluster: unknown cluster "nope" (known: app)`},
		{"unknown listener", s.ApplyRoutes("inbound", []config.Route{config.NewRoute("app")}), `no listener "inbound"`},
	}
	for _, tc := range cases {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if r := call(t, conn, request("echo", "Echo", 1, thrift.CALL, []byte("still"))); r.body != "still" {
		t.Fatalf("after rejected changes: %+v", r)
	}
}

func TestRebuiltClusterDrainsTheOldOne(t *testing.T) {
	s, be, out := oneHop(t, "")
	release := make(chan struct{})
	be.hold = func(body []byte) (time.Duration, bool) {
		if string(body) == "slow" {
			<-release
		}
		return 0, false
	}
	slow := dial(t, out)
	if _, err := slow.Write(request("echo", "Echo", 7, thrift.CALL, []byte("slow"))); err != nil {
		t.Fatal(err)
	}
	if err := eventually(func() bool { return be.calls.Load() == 1 }); err != nil {
		t.Fatal("request never reached the backend")
	}
	changed := clusterTo("app", be.addr)
	changed.Balancer = "p2c_peak_ewma" // a settings change rebuilds the cluster
	if err := s.ApplyClusters([]config.Cluster{changed}); err != nil {
		t.Fatal(err)
	}
	fresh := dial(t, out)
	if r := call(t, fresh, request("echo", "Echo", 8, thrift.CALL, []byte("new"))); r.body != "new" {
		t.Fatalf("on the rebuilt cluster: %+v", r)
	}
	close(release)
	f, err := readFrame(slow, make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	if r := parseReply(t, f); r.body != "slow" || r.seq != 7 {
		t.Fatalf("request in flight on the old cluster: %+v", r)
	}
	s.applyMu.Lock()
	n := len(s.retiring)
	s.applyMu.Unlock()
	if err := eventually(func() bool {
		s.applyMu.Lock()
		defer s.applyMu.Unlock()
		return len(s.retiring) == 0
	}); err != nil {
		t.Fatalf("old cluster not closed after draining (%d retiring before)", n)
	}
}
