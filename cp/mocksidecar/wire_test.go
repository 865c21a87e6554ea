package mocksidecar

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func testLbEndpoint(host string, port uint32, weight uint32, health core.HealthStatus, md map[string]any) *endpoint.LbEndpoint {
	e := &endpoint.LbEndpoint{
		HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Address: &core.Address{Address: &core.Address_SocketAddress{
			SocketAddress: &core.SocketAddress{Address: host, PortSpecifier: &core.SocketAddress_PortValue{PortValue: port}}}}}},
		HealthStatus: health,
	}
	if weight > 0 {
		e.LoadBalancingWeight = wrapperspb.UInt32(weight)
	}
	if md != nil {
		st, err := structpb.NewStruct(md)
		if err != nil {
			panic(err)
		}
		e.Metadata = &core.Metadata{FilterMetadata: map[string]*structpb.Struct{"octomesh": st,
			"other": {Fields: map[string]*structpb.Value{"x": structpb.NewStringValue("y")}}}}
	}
	return e
}

// claBodies are endpoint resource bodies: what the pilot sends, and the
// corners of the fields decode reads (oneofs, merges, repeats).
func claBodies(t testing.TB) [][]byte {
	must := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pilotLike := &endpoint.ClusterLoadAssignment{ClusterName: "common", Endpoints: []*endpoint.LocalityLbEndpoints{
		{Locality: &core.Locality{Zone: "z1"}, LbEndpoints: []*endpoint.LbEndpoint{
			testLbEndpoint("127.0.3.1", 30000, 2, core.HealthStatus_HEALTHY, map[string]any{"changed_at": "1765000000000000000", "n": 3.0}),
			testLbEndpoint("127.0.3.2", 30000, 5, core.HealthStatus_DRAINING, map[string]any{"changed_at": "1765000000000000009"}),
		}},
		{Priority: 1, LbEndpoints: []*endpoint.LbEndpoint{
			testLbEndpoint("::1", 8080, 0, core.HealthStatus_UNHEALTHY, nil),
			testLbEndpoint("127.0.3.1", 30000, 7, core.HealthStatus(42), map[string]any{"changed_at": "0"}), // a repeated address: the last wins
		}},
	}}
	named := &endpoint.ClusterLoadAssignment{Endpoints: []*endpoint.LocalityLbEndpoints{{LbEndpoints: []*endpoint.LbEndpoint{
		{HostIdentifier: &endpoint.LbEndpoint_EndpointName{EndpointName: "named"}},
		{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Hostname: "h", Address: &core.Address{Address: &core.Address_Pipe{Pipe: &core.Pipe{Path: "/p"}}}}}},
		{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Address: &core.Address{Address: &core.Address_SocketAddress{
			SocketAddress: &core.SocketAddress{Address: "10.0.0.1", PortSpecifier: &core.SocketAddress_NamedPort{NamedPort: "http"}}}}}}},
	}}}}
	a := must(pilotLike)
	// Fields repeated: the second endpoint list's singular fields merge
	// into the first (one LbEndpoint written in two pieces).
	e1 := must(&endpoint.LbEndpoint{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Address: &core.Address{Address: &core.Address_SocketAddress{
		SocketAddress: &core.SocketAddress{Address: "10.0.0.2", PortSpecifier: &core.SocketAddress_PortValue{PortValue: 1}}}}}}, LoadBalancingWeight: wrapperspb.UInt32(3)})
	e2 := must(&endpoint.LbEndpoint{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Address: &core.Address{Address: &core.Address_SocketAddress{
		SocketAddress: &core.SocketAddress{PortSpecifier: &core.SocketAddress_PortValue{PortValue: 2}}}}}}, HealthStatus: core.HealthStatus_DEGRADED,
		Metadata: &core.Metadata{FilterMetadata: map[string]*structpb.Struct{"octomesh": {Fields: map[string]*structpb.Value{"k": structpb.NewStringValue("v")}}}}})
	e3 := must(&endpoint.LbEndpoint{HostIdentifier: &endpoint.LbEndpoint_EndpointName{EndpointName: "n"}})
	loc := func(eps ...[]byte) []byte {
		var l []byte
		for _, e := range eps {
			l = append(l, 0x12) // lb_endpoints, bytes
			l = appendLen(l, e)
		}
		return append(append([]byte{0x12}, appendLen(nil, l)...), must(&endpoint.ClusterLoadAssignment{ClusterName: "x"})...)
	}
	return [][]byte{a, must(named), loc(append(slices.Clone(e1), e2...)), loc(append(slices.Clone(e1), e3...)), loc(append(slices.Clone(e3), e1...)), {}}
}

func appendLen(b, v []byte) []byte {
	for n := uint64(len(v)); ; n >>= 7 {
		if n < 0x80 {
			b = append(b, byte(n))
			break
		}
		b = append(b, byte(n)|0x80)
	}
	return append(b, v...)
}

func endpointResource(body []byte) *discovery.Resource {
	return &discovery.Resource{Name: "common", Version: "v1", Resource: &anypb.Any{TypeUrl: typeURLs[tEndpoint], Value: body}}
}

// sameHeld compares what expect reads of two helds.
func sameHeld(a, b *held) bool {
	sorted := func(md []keyValue) []keyValue {
		md = slices.Clone(md)
		slices.SortFunc(md, func(x, y keyValue) int { return strings.Compare(x.key, y.key) })
		return md
	}
	return a.version == b.version && a.exists == b.exists && slices.Equal(a.endpoints, b.endpoints) &&
		slices.Equal(a.eps, b.eps) && slices.Equal(sorted(a.md), sorted(b.md))
}

// TestDecodeEndpointsMatchesFull: the protowire reading of endpoint
// bodies gives what unmarshalling them into Envoy's types gives.
func TestDecodeEndpointsMatchesFull(t *testing.T) {
	for i, body := range claBodies(t) {
		r := endpointResource(body)
		want, err := decodeFull(tEndpoint, r)
		if err != nil {
			t.Fatalf("body %d: decodeFull: %v", i, err)
		}
		got, err := decode(tEndpoint, r)
		if err != nil {
			t.Fatalf("body %d: decode: %v", i, err)
		}
		if !sameHeld(got, want) {
			t.Errorf("body %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	// What the pilot-like body holds, spelt out.
	h, _ := decode(tEndpoint, endpointResource(claBodies(t)[0]))
	if w, _ := h.weight("127.0.3.1:30000"); w != 7 {
		t.Errorf("weight %d, want 7 (the last of the address)", w)
	}
	if s, _ := h.healthOf("127.0.3.2:30000"); s != "draining" {
		t.Errorf("health %q, want draining", s)
	}
	if v, _ := h.meta("changed_at"); v != "1765000000000000009" {
		t.Errorf("changed_at %q, want the greatest", v)
	}
	if _, ok := h.meta("n"); !ok {
		t.Error("a number's key is missing (its value reads as \"\")")
	}
	if !slices.Equal(h.endpoints, []string{"127.0.3.1:30000", "127.0.3.1:30000", "127.0.3.2:30000", "[::1]:8080"}) {
		t.Errorf("endpoints %v", h.endpoints)
	}
}

// TestDecodeEndpointsRejects: a malformed body, or one of another type,
// is an error naming the resource, as unmarshalling it is.
func TestDecodeEndpointsRejects(t *testing.T) {
	good := claBodies(t)[0]
	for name, r := range map[string]*discovery.Resource{
		"truncated":   endpointResource(good[:len(good)-3]),
		"bad length":  endpointResource([]byte{0x12, 0x7f, 0x0a}),
		"bad tag":     endpointResource([]byte{0x00}),
		"bad utf-8":   endpointResource([]byte{0x12, 0x0c, 0x12, 0x0a, 0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe}),
		"wrong type":  {Name: "common", Resource: &anypb.Any{TypeUrl: typeURLs[tCluster], Value: good}},
		"no body":     {Name: "common"},
		"end group":   endpointResource([]byte{0x0c}),
		"open group":  endpointResource([]byte{0x0b, 0x08, 0x01}),
		"big varint":  endpointResource([]byte{0x12, 0x0a, 0x12, 0x08, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
		"short fixed": endpointResource([]byte{0x0d, 0x01}),
	} {
		_, errFull := decodeFull(tEndpoint, r)
		_, err := decode(tEndpoint, r)
		if err == nil || !strings.Contains(err.Error(), `"common"`) {
			t.Errorf("%s: decode: %v, want an error naming the resource", name, err)
		}
		if errFull == nil {
			t.Errorf("%s: decodeFull accepts it: the case is wrong", name)
		}
	}
}

func FuzzDecodeEndpoints(f *testing.F) {
	for _, b := range claBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := endpointResource(body)
		want, errFull := decodeFull(tEndpoint, r)
		got, err := decode(tEndpoint, r)
		if errFull != nil {
			return // decode checks less of what it does not read
		}
		if err != nil {
			t.Fatalf("decode: %v; proto.Unmarshal accepts it", err)
		}
		if !sameHeld(got, want) {
			t.Fatalf("\n got %+v\nwant %+v", got, want)
		}
	})
}

func responses(t testing.TB) [][]byte {
	var out [][]byte
	for _, r := range []*discovery.DeltaDiscoveryResponse{
		{SystemVersionInfo: "7", Nonce: "7", TypeUrl: typeURLs[tEndpoint], Resources: []*discovery.Resource{endpointResource(claBodies(t)[0]),
			{Name: "b", Version: "2", Aliases: []string{"x"}, Resource: &anypb.Any{TypeUrl: typeURLs[tEndpoint]}}}, RemovedResources: []string{"gone", "also"}},
		{Nonce: "8", TypeUrl: typeURLs[tRoute]},
		// Fields the fast path leaves to proto.Unmarshal.
		{Nonce: "9", ControlPlane: &core.ControlPlane{Identifier: "p1"}, Resources: []*discovery.Resource{{Name: "c", Ttl: nil,
			ResourceName: &discovery.ResourceName{Name: "c"}}}},
		{},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestDecodeResponseMatchesProto: the envelope read with protowire is
// what proto.Unmarshal reads, malformed ones rejected alike.
func TestDecodeResponseMatchesProto(t *testing.T) {
	rs := responses(t)
	for i, b := range rs {
		want := &discovery.DeltaDiscoveryResponse{}
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeResponse(b)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("response %d: got %v (%v), want %v", i, got, err, want)
		}
	}
	if _, ok := fastResponse(rs[0]); !ok {
		t.Error("the pilot's kind of response left the fast path")
	}
	for name, b := range map[string][]byte{
		"truncated": rs[0][:len(rs[0])-1],
		"bad utf-8": {0x2a, 0x02, 0xff, 0xfe}, // nonce
		"bad tag":   {0x00},
	} {
		if _, err := decodeResponse(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	for _, b := range responses(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := &discovery.DeltaDiscoveryResponse{}
		errFull := proto.Unmarshal(b, want)
		got, err := decodeResponse(b)
		if (err == nil) != (errFull == nil) {
			t.Fatalf("decodeResponse: %v; proto.Unmarshal: %v", err, errFull)
		}
		if err == nil && !proto.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

// badBody is an ADS server whose first response carries a malformed
// endpoint resource.
type badBody struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
	acks chan *discovery.DeltaDiscoveryRequest
}

func (s badBody) DeltaAggregatedResources(stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		if req.GetResponseNonce() != "" {
			s.acks <- req
			if req.GetResponseNonce() == "n1" { // then a good one
				if err := stream.Send(&discovery.DeltaDiscoveryResponse{Nonce: "n2", TypeUrl: typeURLs[tEndpoint], Resources: []*discovery.Resource{
					{Name: "good", Version: "1", Resource: &anypb.Any{TypeUrl: typeURLs[tEndpoint], Value: claBodies(nil)[0]}},
				}}); err != nil {
					return err
				}
			}
			continue
		}
		if req.GetTypeUrl() != typeURLs[tEndpoint] {
			continue
		}
		r := &discovery.DeltaDiscoveryResponse{Nonce: "n1", TypeUrl: typeURLs[tEndpoint], Resources: []*discovery.Resource{
			endpointResource([]byte{0x12, 0x7f, 0x0a}), // a length past the end
		}}
		r.Resources[0].Name = "bad"
		if err := stream.Send(r); err != nil {
			return err
		}
	}
}

// TestMalformedBodyReported: a simulated sidecar reports a resource it
// cannot read (step "receive"), and answers the response as before (the
// server sends the next one on that answer).
func TestMalformedBodyReported(t *testing.T) {
	script, err := Parse("bad.yaml", []byte(`
sidecar: {app: web}
steps:
  - subscribe: {names: [bad, good]}
  - connect: {timeout: 30s}
  - expect: {name: good, weights: {"127.0.3.2:30000": 5}, timeout: 30s}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := grpc.NewServer()
			acks := make(chan *discovery.DeltaDiscoveryRequest, 16)
			discovery.RegisterAggregatedDiscoveryServiceServer(srv, badBody{acks: acks})
			go srv.Serve(ln)
			defer srv.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := Run(ctx, script, Options{Pilot: ln.Addr().String(), Count: 1, Transport: tr, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, st := range rep.Steps {
				if st.Step == "receive" && st.Failures == 1 && len(st.Errors) == 1 && strings.Contains(st.Errors[0], `resource "bad"`) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no receive failure naming the resource: %+v", rep.Steps)
			}
			if rep.Failed != 0 {
				t.Fatalf("%d sidecars failed their steps", rep.Failed)
			}
			select {
			case a := <-acks:
				if a.GetResponseNonce() != "n1" || a.GetErrorDetail() != nil {
					t.Fatalf("answer %v, want the ACK of n1", a)
				}
			case <-ctx.Done():
				t.Fatal("no answer")
			}
		})
	}
}

// TestDecodedShared: a body decoded once is not decoded again for the next
// sidecar, which gets its own held, equal to a fresh decoding; a resource
// with another name, version or type URL is not taken for it.
func TestDecodedShared(t *testing.T) {
	r := endpointResource(claBodies(t)[0])
	r.Name = "shared-test"
	first, err := decode(tEndpoint, r)
	if err != nil {
		t.Fatal(err)
	}
	second, err := decode(tEndpoint, r)
	if err != nil {
		t.Fatal(err)
	}
	if first == second || !sameHeld(first, second) {
		t.Fatalf("second decoding: same pointer %v, equal %v; want a copy, equal", first == second, sameHeld(first, second))
	}
	second.at = time.Unix(1, 0)
	if !first.at.IsZero() {
		t.Fatal("a sidecar's held changed another's")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = decode(tEndpoint, r) }); n > 1 {
		t.Errorf("a shared decoding allocates %v times, want 1 (the copy)", n)
	}
	other := proto.Clone(r).(*discovery.Resource)
	other.Version = "another"
	if h, err := decode(tEndpoint, other); err != nil || h.version != "another" {
		t.Fatalf("another version: %v, %v", h, err)
	}
	bad := proto.Clone(r).(*discovery.Resource)
	bad.Resource.TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	if _, err := decode(tEndpoint, bad); err == nil {
		t.Fatal("a body under another type URL was taken from the cache")
	}
}

// TestResponseCacheSharesDecodings: the same bytes decode once (the
// result is shared), other bytes are decoded anew, and a bad message is
// refused as decodeResponse refuses it, not kept.
func TestResponseCacheSharesDecodings(t *testing.T) {
	rs := responses(t)
	var c responseCache
	first, err := c.decode(slices.Clone(rs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.decode(slices.Clone(rs[0])); again != first {
		t.Error("the same bytes were decoded again")
	}
	for i, b := range rs {
		want := &discovery.DeltaDiscoveryResponse{}
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatal(err)
		}
		got, err := c.decode(b)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("response %d: got %v (%v), want %v", i, got, err, want)
		}
	}
	if _, err := c.decode(rs[0][:len(rs[0])-1]); err == nil {
		t.Error("a truncated response was accepted")
	}
	// Ten others later, the first is decoded anew (the cache holds 8).
	for i := range 10 {
		b, _ := proto.Marshal(&discovery.DeltaDiscoveryResponse{Nonce: strings.Repeat("n", i+1)})
		if _, err := c.decode(b); err != nil {
			t.Fatal(err)
		}
	}
	if again, err := c.decode(rs[0]); err != nil || again == first || !proto.Equal(again, first) {
		t.Errorf("after the cache moved on: %v (%v), shared %v", again, err, again == first)
	}
}

// TestAppendRequestMatchesProto: an ACK written by hand has
// proto.Marshal's bytes and size; other requests are marshalled.
func TestAppendRequestMatchesProto(t *testing.T) {
	for i, r := range []*discovery.DeltaDiscoveryRequest{
		{TypeUrl: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", ResponseNonce: "12345"},
		{ResponseNonce: "7"},
		{TypeUrl: "t"},
		{},
		{TypeUrl: strings.Repeat("x", 300), ResponseNonce: strings.Repeat("y", 200)},
		{TypeUrl: "t", ResponseNonce: "1", ResourceNamesSubscribe: []string{"a"}},
		{TypeUrl: "t", ResponseNonce: "1", Node: &core.Node{Id: "n"}},
	} {
		want, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRequest([]byte{9}, r)
		if err != nil || string(got) != "\x09"+string(want) {
			t.Errorf("request %d: got %x (%v), want 09%x", i, got, err, want)
		}
		if n := requestSize(r); n != len(want) {
			t.Errorf("request %d: size %d, want %d", i, n, len(want))
		}
	}
	if _, err := appendRequest(nil, &discovery.DeltaDiscoveryRequest{ResponseNonce: "\xff"}); err == nil {
		t.Error("a nonce that is not UTF-8 was encoded")
	}
}
