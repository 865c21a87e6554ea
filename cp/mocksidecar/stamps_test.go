package mocksidecar

import (
	"strconv"
	"testing"
	"time"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func stampedRoutes(t *testing.T, app string, clusters ...string) *discovery.Resource {
	t.Helper()
	vh := &route.VirtualHost{Name: "echo", Domains: []string{"echo"}}
	for i, c := range clusters {
		a := &route.RouteAction{ClusterSpecifier: &route.RouteAction_Cluster{Cluster: c}}
		if i == len(clusters)-1 && i > 0 { // the last one as a split
			a = &route.RouteAction{ClusterSpecifier: &route.RouteAction_WeightedClusters{WeightedClusters: &route.WeightedCluster{
				Clusters: []*route.WeightedCluster_ClusterWeight{{Name: "echo", Weight: wrapperspb.UInt32(90)}, {Name: c, Weight: wrapperspb.UInt32(10)}}}}}
		}
		vh.Routes = append(vh.Routes, &route.Route{Action: &route.Route_Route{Route: a}})
	}
	a, err := anypb.New(&route.RouteConfiguration{Name: app, VirtualHosts: []*route.VirtualHost{vh}})
	if err != nil {
		t.Fatal(err)
	}
	return &discovery.Resource{Name: app, Version: strconv.Itoa(len(clusters)), Resource: a}
}

func TestRouteStamp(t *testing.T) {
	for _, tc := range []struct {
		clusters []string
		want     int64
	}{
		{[]string{"echo"}, 0},
		{[]string{"echo.t123"}, 0},                 // not 19 digits
		{[]string{"echo.t17334800001234567x9"}, 0}, // not a number
		{[]string{"echo.t1733480000123456789"}, 1733480000123456789},
		{[]string{"echo.t1733480000123456789", "v2.t1733480000999999999"}, 1733480000999999999}, // in a split
	} {
		h, err := decode(tRoute, stampedRoutes(t, "web", tc.clusters...))
		if err != nil {
			t.Fatal(err)
		}
		if h.stamp != tc.want {
			t.Errorf("clusters %v: stamp %d, want %d", tc.clusters, h.stamp, tc.want)
		}
	}
}

// An ACKed route response records its stamp once: a resend of the same
// stamp (a reconnect) does not count again, a newer one does, and a
// sidecar without route_stamps records nothing.
func TestRouteStampsRecordedOncePerStamp(t *testing.T) {
	for _, on := range []bool{true, false} {
		s, err := Parse("s.yaml", []byte("sidecar: {app: web, route_stamps: "+strconv.FormatBool(on)+"}\nsteps: [{connect: {}}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		e := &engine{script: s, lat: map[string][]time.Duration{}}
		sc := newSidecar(e, 0, "m0", "web", "", "", true)
		stamp := time.Now().Add(-50 * time.Millisecond).UnixNano()
		name := "echo.t" + strconv.FormatInt(stamp, 10)
		for _, c := range []string{name, name, "echo.t" + strconv.FormatInt(stamp+1, 10), "echo"} {
			resp := &discovery.DeltaDiscoveryResponse{TypeUrl: resource.RouteType, Resources: []*discovery.Resource{stampedRoutes(t, "web", c)}}
			h, err := decode(tRoute, resp.Resources[0])
			if err != nil {
				t.Fatal(err)
			}
			sc.mu.Lock()
			sc.state[tRoute]["web"] = h
			sc.ackLocked(resp)
			sc.mu.Unlock()
		}
		want := 0
		if on {
			want = 2
		}
		if len(e.stampLat) != want || sc.counts[cStamps] != want {
			t.Fatalf("route_stamps %v: %d samples, %d counted; want %d", on, len(e.stampLat), sc.counts[cStamps], want)
		}
		if on && (e.stampAt[0] != stamp || e.stampAt[1] != stamp+1 || e.stampLat[0] < 50*time.Millisecond || e.stampLat[0] > time.Minute) {
			t.Fatalf("stamps %v, latencies %v: want %d then %d, the first at least 50ms", e.stampAt, e.stampLat, stamp, stamp+1)
		}
		if on {
			rep := e.report([]*sidecar{sc}, []bool{false}, time.Second)
			if got := rep.Samples[RouteStampAtLabel]; len(got) != 2 || len(rep.Samples[RouteStampLabel]) != 2 {
				t.Fatalf("report samples: %v", rep.Samples)
			}
		}
	}
}
