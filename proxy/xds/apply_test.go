package xds

import (
	"strings"
	"testing"

	"github.com/octomesh/octomesh/config"
)

func TestApplyOrderAndWarming(t *testing.T) {
	ft := &fakeTarget{}
	c := newTestClient(t, ft)
	if err := c.Subscribe("echo"); err != nil {
		t.Fatal(err)
	}
	// A cluster without its assignment is warming: nothing to apply yet.
	if err := c.handle(response(typeURLs[kCluster], nil, edsCluster("echo"))); err != nil {
		t.Fatal(err)
	}
	if got := ft.takeCalls(); got != "clusters local-app | outbound local/*>local-app" {
		t.Fatalf("calls %q", got)
	}
	if err := c.handle(response(typeURLs[kEndpoint], nil, assignment("echo", lbEndpoint("10.0.0.1", 7000)))); err != nil {
		t.Fatal(err)
	}
	if got := ft.takeCalls(); got != "clusters local-app,echo | outbound local/*>local-app,echo/*>echo" {
		t.Fatalf("calls %q", got)
	}
	if !c.Await("echo") {
		t.Fatal("echo has a route but Await says no")
	}
	if ft.version == "" || !strings.HasPrefix(ft.version, "xds-") {
		t.Errorf("config version %q", ft.version)
	}
	// Removal: routes first, then the cluster.
	if err := c.handle(response(typeURLs[kCluster], []string{"echo"})); err != nil {
		t.Fatal(err)
	}
	if got := ft.takeCalls(); got != "clusters local-app,echo | outbound local/*>local-app | clusters local-app" {
		t.Fatalf("calls %q", got)
	}
	if c.Await("echo") {
		t.Fatal("Await after the pilot said echo is gone")
	}
}

// desired: the cluster set and routes the target should hold, from the
// state alone.
func TestDesired(t *testing.T) {
	c := newTestClient(t, &fakeTarget{})
	echo, user, v2 := config.NewCluster("echo"), config.NewCluster("user"), config.NewCluster("echo-v2")
	eps := []config.Endpoint{config.NewEndpoint("10.0.0.1:7000")}
	rule := func(service, method string, clusters ...string) config.Route {
		r := config.NewRoute(clusters[0])
		r.Service, r.Method = service, method
		if len(clusters) > 1 {
			r.Cluster = ""
			for _, name := range clusters {
				r.Split = append(r.Split, config.WeightedCluster{Cluster: name, Weight: 1})
			}
		}
		return r
	}
	for _, tc := range []struct {
		name         string
		clusters     []config.Cluster
		endpoints    []string // clusters with endpoints
		rules        []config.Route
		subs         []string
		wantClusters string
		wantRoutes   string
	}{
		{name: "a cluster without its endpoints is warming", clusters: []config.Cluster{echo}, subs: []string{"echo"},
			wantClusters: "local-app", wantRoutes: "local/*>local-app"},
		{name: "a subscribed service gets a route of its own", clusters: []config.Cluster{echo, user}, endpoints: []string{"echo", "user"}, subs: []string{"echo"},
			wantClusters: "local-app,echo,user", wantRoutes: "local/*>local-app,echo/*>echo"},
		{name: "a rule replaces the service's own route", clusters: []config.Cluster{echo, v2}, endpoints: []string{"echo", "echo-v2"},
			rules: []config.Route{rule("echo", "Slow", "echo-v2")}, subs: []string{"echo"},
			wantClusters: "local-app,echo,echo-v2", wantRoutes: "local/*>local-app,echo/Slow>echo-v2"},
		{name: "a rule waits for every cluster it names", clusters: []config.Cluster{echo, v2}, endpoints: []string{"echo"},
			rules: []config.Route{rule("echo", "*", "echo", "echo-v2")}, subs: []string{"echo"},
			wantClusters: "local-app,echo", wantRoutes: "local/*>local-app"},
		{name: "a static route wins over a rule of the same match", clusters: []config.Cluster{echo}, endpoints: []string{"echo"},
			rules: []config.Route{rule("local", "*", "echo")}, subs: []string{"echo"},
			wantClusters: "local-app,echo", wantRoutes: "local/*>local-app,echo/*>echo"},
		{name: "a static cluster shadows the pilot's", clusters: []config.Cluster{config.NewCluster("local-app")}, endpoints: []string{"local-app"},
			wantClusters: "local-app", wantRoutes: "local/*>local-app"},
	} {
		s := newState(c.opts.StaticClusters, c.opts.StaticRoutes, nil)
		for _, cc := range tc.clusters {
			s.clusters[cc.Name] = cc
		}
		for _, name := range tc.endpoints {
			s.endpoints[name] = eps
		}
		s.rules = tc.rules
		subs := map[string]bool{}
		for _, name := range tc.subs {
			subs[name] = true
		}
		clusters, routes := c.desired(&s, subs)
		var cn, rn []string
		for _, cc := range clusters {
			cn = append(cn, cc.Name)
		}
		for _, r := range routes {
			rn = append(rn, r.Service+"/"+r.Method+">"+strings.Join(r.Clusters(), "+"))
		}
		if got := strings.Join(cn, ","); got != tc.wantClusters {
			t.Errorf("%s: clusters %s, want %s", tc.name, got, tc.wantClusters)
		}
		if got := strings.Join(rn, ","); got != tc.wantRoutes {
			t.Errorf("%s: routes %s, want %s", tc.name, got, tc.wantRoutes)
		}
	}
}
