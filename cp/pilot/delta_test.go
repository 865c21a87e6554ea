package pilot

import (
	"context"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestPushIsOneResponseEncodedOnceOverGRPC: over real gRPC, on either
// transport of the xDS port (with the pilot's server options, its codec),
// one endpoint change reaches every subscribed session as the same
// response (one nonce), which decodes to the new assignment; ACKs of it
// are counted, and an idle stream that the pilot ends returns the pilot's
// error at once.
func TestPushIsOneResponseEncodedOnceOverGRPC(t *testing.T) {
	for _, transport := range []string{TransportLean, TransportGRPC} {
		t.Run(transport, func(t *testing.T) { testPushOverGRPC(t, transport) })
	}
}

// echoOverGRPC serves a test server, whose registry has service echo
// with one instance, over transport, and dials it with gRPC-go; ctx ends
// with the test, a minute at most.
func echoOverGRPC(t *testing.T, transport string) (*Server, *fakeSource, discovery.AggregatedDiscoveryServiceClient, context.Context) {
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	addr := serveXDS(t, srv, transport, nil)
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return srv, src, discovery.NewAggregatedDiscoveryServiceClient(conn), ctx
}

func testPushOverGRPC(t *testing.T, transport string) {
	srv, src, ads, ctx := echoOverGRPC(t, transport)

	const n = 3
	var streams []discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	for i := range n {
		s, err := ads.DeltaAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: "web-" + string(rune('a'+i)), Cluster: "web"},
			TypeUrl: typeURLs[kindEndpoint], ResourceNamesSubscribe: []string{"echo"}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if w := weights(assignment(t, r)); w != "10.0.0.1:7000=1/HEALTHY" {
			t.Fatalf("first response: %s", w)
		}
		if err := s.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce}); err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	eventually(t, "the first responses ACKed", func() bool { return srv.Stats.Acks.Load() == n })

	if srv.Stats.LastPushAck.Load() != 0 {
		t.Fatal("last push ACK set before any push")
	}
	changed := time.Now()
	src.setService("echo", inst("10.0.0.1:7000", 7))
	nonce := ""
	for i, s := range streams {
		r, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if w := weights(assignment(t, r)); w != "10.0.0.1:7000=7/HEALTHY" {
			t.Fatalf("session %d: pushed %s", i, w)
		}
		if i > 0 && r.Nonce != nonce {
			t.Fatalf("session %d got nonce %q, session 0 %q: want one response for all", i, r.Nonce, nonce)
		}
		nonce = r.Nonce
		if err := s.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the push ACKed by all", func() bool { return srv.Stats.Acks.Load() == 2*n })
	if pa := srv.Stats.PushAcked.Snapshot(); pa.Count() != n {
		got := pa.Count()
		t.Errorf("push_acked counted %d, want %d", got, n)
	}
	if last := time.Unix(0, srv.Stats.LastPushAck.Load()); last.Before(changed) || last.After(time.Now()) {
		t.Errorf("last push ACK at %v; want between the change (%v) and now", last, changed)
	}
	if lp := srv.LastPush(); lp.Acked != n || time.UnixMicro(lp.ChangedUnixUS).Before(changed.Truncate(time.Microsecond)) || lp.Quantile(1) <= 0 {
		t.Errorf("last push %+v: want %d ACKs of a change after %v", lp, n, changed)
	}

	// The pilot ends an idle stream (all ACKed): the handler, not waiting
	// on the client, returns the error.
	for _, s := range srv.sessions.Sessions() {
		srv.sessions.mu.RLock()
		sess := srv.sessions.sessions[s.ID]
		srv.sessions.mu.RUnlock()
		sess.end(status.Error(codes.FailedPrecondition, "moved"))
	}
	for i, s := range streams {
		if _, err := s.Recv(); status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("session %d: want the pilot's FailedPrecondition, got %v", i, err)
		}
	}
	eventually(t, "the sessions closed", func() bool { return srv.Stats.Sessions.Load() == 0 && srv.Subscribers("echo") == 0 })
}

// TestXDSCodecSendsTheBytesEncodedOnce: the codec sends a shared response
// as its bytes, and anything else as gRPC's proto codec does.
func TestXDSCodecSendsTheBytesEncodedOnce(t *testing.T) {
	resp := &discovery.DeltaDiscoveryResponse{Nonce: "7", TypeUrl: typeURLs[kindEndpoint], RemovedResources: []string{"echo"}}
	wire, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []any{&sharedResponse{DeltaDiscoveryResponse: resp, wire: wire}, &sharedResponse{DeltaDiscoveryResponse: resp}, resp} {
		b, err := xdsCodec{}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var got discovery.DeltaDiscoveryResponse
		if err := (xdsCodec{}).Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&got, resp) {
			t.Fatalf("%T: decoded %v, want %v", m, &got, resp)
		}
	}
	b, _ := xdsCodec{}.Marshal(&sharedResponse{DeltaDiscoveryResponse: resp, wire: wire})
	if len(b) != 1 || &b[0].ReadOnlyData()[0] != &wire[0] {
		t.Fatal("a shared response's bytes were copied or re-encoded")
	}
}

// TestPushDoesNotWaitOnAStuckClient: a session that leaves a response
// unanswered and stops reading does not hold up a push to the others.
func TestPushDoesNotWaitOnAStuckClient(t *testing.T) {
	defer func(v int) { inlineSendLimit = v }(inlineSendLimit)
	inlineSendLimit = 1 // any unanswered response counts
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	var stuck []*client
	for i := range 4 {
		c := newClient(t, srv, "stuck-"+string(rune('a'+i)), "web")
		c.subscribe(kindCluster, "echo")
		c.subscribe(kindEndpoint, "echo")
		c.recvKind(kindCluster) // left unanswered
		c.ack(c.recvKind(kindEndpoint))
		for range cap(c.s.out) { // its stream is full: a Send blocks
			c.s.out <- &discovery.DeltaDiscoveryResponse{}
		}
		stuck = append(stuck, c)
	}
	good := newClient(t, srv, "good", "web")
	good.subscribe(kindEndpoint, "echo")
	good.ack(good.recvKind(kindEndpoint))
	eventually(t, "every first response ACKed", func() bool { return srv.Stats.Acks.Load() == 5 })

	src.setService("echo", inst("10.0.0.1:7000", 9))
	if w := weights(assignment(t, good.recvKind(kindEndpoint))); w != "10.0.0.1:7000=9/HEALTHY" {
		t.Fatalf("pushed %s", w)
	}
	// The stuck ones get it once they read again.
	for _, c := range stuck {
		for range cap(c.s.out) {
			<-c.s.out
		}
		if w := weights(assignment(t, c.recvKind(kindEndpoint))); w != "10.0.0.1:7000=9/HEALTHY" {
			t.Fatalf("pushed %s", w)
		}
	}
}

// TestAckBringsWhatChangedMeanwhile: a change made while a session has
// not answered its last response comes with its ACK; an ACK when nothing
// was missed sends nothing but lets the next change be pushed (deltaAck
// opens the kind without a diff). Both transports: the lean one takes
// ACKs through decodeAck.
func TestAckBringsWhatChangedMeanwhile(t *testing.T) {
	for _, transport := range []string{TransportLean, TransportGRPC} {
		t.Run(transport, func(t *testing.T) { testAckBringsWhatChangedMeanwhile(t, transport) })
	}
}

func testAckBringsWhatChangedMeanwhile(t *testing.T, transport string) {
	srv, src, ads, ctx := echoOverGRPC(t, transport)
	s, err := ads.DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: "web-a", Cluster: "web"},
		TypeUrl: typeURLs[kindEndpoint], ResourceNamesSubscribe: []string{"echo"}}); err != nil {
		t.Fatal(err)
	}
	want := func(w string) *discovery.DeltaDiscoveryResponse {
		t.Helper()
		r, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := weights(assignment(t, r)); got != w {
			t.Fatalf("got %s, want %s", got, w)
		}
		return r
	}
	ack := func(r *discovery.DeltaDiscoveryResponse) {
		t.Helper()
		if err := s.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce}); err != nil {
			t.Fatal(err)
		}
	}
	current := func() bool { // the session's endpoint kind, as pushOne left it
		for _, sess := range srv.sessions.Sessions() {
			srv.sessions.mu.RLock()
			x := srv.sessions.sessions[sess.ID]
			srv.sessions.mu.RUnlock()
			x.mu.Lock()
			defer x.mu.Unlock()
			return x.dk[kindEndpoint].current
		}
		return true
	}

	r := want("10.0.0.1:7000=1/HEALTHY") // left unanswered
	src.setService("echo", inst("10.0.0.1:7000", 2))
	eventually(t, "the push found the session not open", func() bool { return !current() })
	ack(r)
	r = want("10.0.0.1:7000=2/HEALTHY") // brought by the ACK
	ack(r)
	eventually(t, "the ACKs counted", func() bool { return srv.Stats.Acks.Load() == 2 })

	src.setService("echo", inst("10.0.0.1:7000", 3)) // pushed: the kind is open
	r = want("10.0.0.1:7000=3/HEALTHY")
	if !current() {
		t.Fatal("a push to an open session marked it as having missed a change")
	}
	ack(r) // nothing missed: no diff, the kind opens
	eventually(t, "the ACKs counted", func() bool { return srv.Stats.Acks.Load() == 3 })
	src.setService("echo", inst("10.0.0.1:7000", 4))
	want("10.0.0.1:7000=4/HEALTHY")
}
