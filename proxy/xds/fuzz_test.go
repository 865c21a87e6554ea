package xds

import (
	"reflect"
	"testing"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/pilot"
)

// The xDS resources a pilot sends are bytes from the network: the fuzz
// targets below unmarshal arbitrary bytes into the Envoy type the client
// would (state.put), and translate. Translation must never panic, and what
// it accepts must be a config the sidecar validates, translate the same
// after another trip over the wire, and (for the policies the pilot
// encodes) read back the same from the pilot's own encoding of it.

func addProto(f *testing.F, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

// wireAgain marshals m and unmarshals it into a new message of its type.
func wireAgain[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("an accepted resource does not marshal: %v", err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatalf("an accepted resource does not unmarshal again: %v", err)
	}
	return out
}

func FuzzTranslateCluster(f *testing.F) {
	addProto(f, edsCluster("echo"))
	for _, p := range policyClusters() {
		c, err := pilot.BuildCluster("echo", &p)
		if err != nil {
			f.Fatal(err)
		}
		addProto(f, c)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m cluster.Cluster
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		cc, err := translateCluster(&m)
		if err != nil {
			return
		}
		if fe := cc.Check(); fe != nil {
			t.Fatalf("translated cluster %q fails Check: %v", cc.Name, fe)
		}
		if err := config.CheckName(cc.Name); err != nil || len(cc.Endpoints) != 0 {
			t.Fatalf("translated cluster %q: name %v, %d endpoints", cc.Name, err, len(cc.Endpoints))
		}
		switch cc.Balancer {
		case "round_robin", "p2c_peak_ewma", "ring_hash", "maglev":
		default:
			t.Fatalf("balancer %q", cc.Balancer)
		}
		again, err := translateCluster(wireAgain(t, &m))
		if err != nil || !reflect.DeepEqual(again, cc) {
			t.Fatalf("over the wire again: %+v, %v; first %+v", again, err, cc)
		}
		// The pilot's encoding of the policies the sidecar read reads
		// back the same.
		p := registry.ServicePolicy{CircuitBreaker: cc.CircuitBreaker, RetryBudget: cc.RetryBudget, OutlierDetection: cc.OutlierDetection}
		pc, err := pilot.BuildCluster(cc.Name, &p)
		if err != nil {
			t.Fatalf("the pilot cannot encode the policies %+v the sidecar accepted: %v", p, err)
		}
		back, err := translateCluster(wireAgain(t, pc))
		if err != nil {
			t.Fatalf("the pilot's encoding of %+v is refused: %v", p, err)
		}
		if !reflect.DeepEqual(back.CircuitBreaker, cc.CircuitBreaker) || !reflect.DeepEqual(back.RetryBudget, cc.RetryBudget) ||
			!reflect.DeepEqual(back.OutlierDetection, cc.OutlierDetection) {
			t.Fatalf("the pilot's encoding reads back as\n %+v %+v %+v\nnot\n %+v %+v %+v", back.CircuitBreaker, back.RetryBudget, back.OutlierDetection,
				cc.CircuitBreaker, cc.RetryBudget, cc.OutlierDetection)
		}
	})
}

func FuzzTranslateEndpoints(f *testing.F) {
	addProto(f, assignment("echo", lbEndpoint("10.0.0.1", 7001), lbEndpoint("10.0.0.2", 7001), lbEndpoint("::1", 65535)))
	addProto(f, assignment("echo"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m endpoint.ClusterLoadAssignment
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		eps, err := translateEndpoints(&m)
		if err != nil {
			return
		}
		cc := config.NewCluster("c")
		cc.Endpoints = eps
		if fe := cc.Check(); fe != nil {
			t.Fatalf("translated endpoints fail Check: %v", fe)
		}
		for _, e := range eps {
			if _, _, err := config.ParseAddress(e.Address); err != nil {
				t.Fatalf("endpoint %q: %v", e.Address, err)
			}
		}
		again, err := translateEndpoints(wireAgain(t, &m))
		if err != nil || !reflect.DeepEqual(again, eps) {
			t.Fatalf("over the wire again: %+v, %v; first %+v", again, err, eps)
		}
	})
}

func FuzzTranslateRoutes(f *testing.F) {
	rc, err := pilot.BuildRouteConfiguration("web", policyRoutes())
	if err != nil {
		f.Fatal(err)
	}
	addProto(f, rc)
	addProto(f, &route.RouteConfiguration{Name: "web", VirtualHosts: []*route.VirtualHost{routeTo("echo", "Get", "echo"), routeTo("*", "*", "fallback")}})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m route.RouteConfiguration
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		routes, err := translateRoutes(&m)
		if err != nil {
			return
		}
		clusters := map[string]bool{}
		for i := range routes {
			for _, c := range routes[i].Clusters() {
				clusters[c] = true
			}
		}
		if fe := config.CheckRoutes(routes, clusters); fe != nil {
			t.Fatalf("translated routes fail CheckRoutes: %v", fe)
		}
		for i := range routes {
			r := &routes[i]
			if r.Service != "*" && config.CheckName(r.Service) != nil || r.Method != "*" && config.CheckName(r.Method) != nil {
				t.Fatalf("route service %q method %q", r.Service, r.Method)
			}
			for c := range clusters {
				if err := config.CheckName(c); err != nil {
					t.Fatalf("cluster name: %v", err)
				}
			}
		}
		again, err := translateRoutes(wireAgain(t, &m))
		if err != nil || !reflect.DeepEqual(byMatch(again), byMatch(routes)) {
			t.Fatalf("over the wire again: %v; %d routes, first %d", err, len(again), len(routes))
		}
		// The pilot's encoding of what the sidecar read reads back the same.
		pc, err := pilot.BuildRouteConfiguration("web", routes)
		if err != nil {
			t.Fatalf("the pilot cannot encode the routes the sidecar accepted: %v", err)
		}
		back, err := translateRoutes(wireAgain(t, pc))
		if err != nil {
			t.Fatalf("the pilot's encoding of accepted routes is refused: %v", err)
		}
		want, got := byMatch(routes), byMatch(back)
		if len(got) != len(want) {
			t.Fatalf("%d routes back from the pilot's encoding, want %d", len(got), len(want))
		}
		for k, w := range want {
			if g := got[k]; !reflect.DeepEqual(g, w) {
				t.Fatalf("route %s/%s from the pilot's encoding:\n got  %s\n want %s", w.Service, w.Method, describe(g), describe(w))
			}
		}
	})
}

func FuzzTranslateAuthorization(f *testing.F) {
	for _, p := range authzForms() {
		l, err := pilot.BuildListener("echo", &registry.ServicePolicy{Authorization: []config.AuthzPolicy{p}})
		if err != nil {
			f.Fatal(err)
		}
		addProto(f, l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m listener.Listener
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		ps, err := translateAuthorization("echo", &m)
		if err != nil {
			return
		}
		if fe := config.CheckAuthorization(ps); fe != nil || len(ps) > 1 {
			t.Fatalf("translated rule sets %+v fail CheckAuthorization: %v", ps, fe)
		}
		again, err := translateAuthorization("echo", wireAgain(t, &m))
		if err != nil || !reflect.DeepEqual(again, ps) {
			t.Fatalf("over the wire again: %+v, %v; first %+v", again, err, ps)
		}
		// The pilot's encoding of what the sidecar read reads back the same.
		pl, err := pilot.BuildListener("echo", &registry.ServicePolicy{Authorization: ps})
		if err != nil {
			t.Fatalf("the pilot cannot encode the rule sets %+v the sidecar accepted: %v", ps, err)
		}
		back, err := translateAuthorization("echo", wireAgain(t, pl))
		if err != nil || !reflect.DeepEqual(back, ps) {
			t.Fatalf("the pilot's encoding reads back as %+v (%v), not %+v", back, err, ps)
		}
	})
}
