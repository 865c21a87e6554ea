package xds

import (
	"strings"
	"testing"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The state's version names the versions it holds, whatever the order
// they came in.
func TestStateVersion(t *testing.T) {
	a, b := newState(nil, nil, nil), newState(nil, nil, nil)
	a.versions[kCluster]["echo"], a.versions[kCluster]["user"], a.versions[kRoute]["web"] = "1", "2", "3"
	b.versions[kRoute]["web"], b.versions[kCluster]["user"], b.versions[kCluster]["echo"] = "3", "2", "1"
	if a.version() != b.version() || !strings.HasPrefix(a.version(), "xds-") || len(a.version()) != len("xds-")+16 {
		t.Fatalf("%s %s", a.version(), b.version())
	}
	b.versions[kEndpoint]["echo"] = "1"
	if a.version() == b.version() {
		t.Fatal("another version held, the same name")
	}
}

func TestStatePutAndRemove(t *testing.T) {
	s := newState(nil, nil, nil)
	put := func(k int, name string, m proto.Message) error {
		a, err := anypb.New(m)
		if err != nil {
			t.Fatal(err)
		}
		return s.put(k, &discovery.Resource{Name: name, Version: "v1", Resource: a}, "web", nil)
	}
	for _, tc := range []struct {
		k    int
		name string
		m    proto.Message
		want string
	}{
		{kCluster, "user", edsCluster("echo"), `resource "user" holds cluster "echo"`},
		{kEndpoint, "user", assignment("echo"), `resource "user" holds the assignment of "echo"`},
		{kRoute, "other", &route.RouteConfiguration{Name: "other"}, `route configuration "other" was not subscribed to`},
		{kCluster, "echo", assignment("echo"), `resource "echo"`},
	} {
		if err := put(tc.k, tc.name, tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, want %q", err, tc.want)
		}
	}
	if err := s.put(kCluster, &discovery.Resource{Name: "echo"}, "web", nil); err == nil || !strings.Contains(err.Error(), "has no body") {
		t.Errorf("a resource without a body: %v", err)
	}
	if len(s.clusters)+len(s.endpoints)+len(s.versions[kCluster]) != 0 || s.rules != nil {
		t.Fatalf("refused resources were kept: %+v", s)
	}

	s.absent["echo"] = true
	if err := put(kCluster, "echo", edsCluster("echo")); err != nil || s.absent["echo"] || s.versions[kCluster]["echo"] != "v1" {
		t.Fatalf("%v %+v", err, s)
	}
	if err := put(kRoute, "web", &route.RouteConfiguration{Name: "web"}); err != nil || s.rules == nil || len(s.rules) != 0 {
		t.Fatalf("an empty route configuration: %v %#v", err, s.rules)
	}
	c := s.clone()
	s.remove(kCluster, "echo", true)
	s.remove(kRoute, "web", true)
	if _, ok := s.clusters["echo"]; ok || !s.absent["echo"] || s.versions[kCluster]["echo"] != "" || s.rules != nil {
		t.Fatalf("after removal %+v", s)
	}
	if _, ok := c.clusters["echo"]; !ok || c.absent["echo"] || c.versions[kCluster]["echo"] != "v1" {
		t.Fatalf("the clone changed with the original: %+v", c)
	}
	s.remove(kCluster, "user", false)
	if s.absent["user"] {
		t.Error("a service not subscribed to marked absent")
	}
}
