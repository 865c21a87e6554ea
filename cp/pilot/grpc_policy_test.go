package pilot_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// flakyServer fails the first try of every UnaryCall (a call is named by
// its payload) with UNAVAILABLE and answers the next; EmptyCall always
// answers. It counts the tries of each call and the EmptyCalls it saw.
type flakyServer struct {
	testgrpc.UnimplementedTestServiceServer
	mu      sync.Mutex
	tries   map[string]int
	empties atomic.Int64
}

func (s *flakyServer) UnaryCall(_ context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	id := string(req.GetPayload().GetBody())
	s.mu.Lock()
	s.tries[id]++
	n := s.tries[id]
	s.mu.Unlock()
	if n == 1 {
		return nil, status.Error(codes.Unavailable, "first try fails")
	}
	return &testgrpc.SimpleResponse{ServerId: "flaky"}, nil
}

func (s *flakyServer) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	s.empties.Add(1)
	return &testgrpc.Empty{}, nil
}

func (s *flakyServer) triesOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries[id]
}

// until polls cond (which may log why it is not met yet) until it holds,
// for at most 30s: the pilot's push and grpc-go's update are quick, but the
// machine may be busy.
func until(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s (last: %s)", what, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProxylessGRPCHonoursRetriesAndFaults: rules set through the
// registry API (PUT /v1/policies/{service}: the service's own rules, which
// the pilot puts in the service's Listener) are obeyed by grpc-go's xDS
// client: a retry policy retries a call whose first try is UNAVAILABLE,
// and without it the call fails; an abort fault answers UNAVAILABLE
// without reaching the server, for all calls, for a share of them measured
// over many calls, or only for marked calls; a delay fault holds calls back.
func TestProxylessGRPCHonoursRetriesAndFaults(t *testing.T) {
	p, api := startPilotForGRPC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	srv := &flakyServer{tries: map[string]int{}}
	ln := listenTCP(t)
	g := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(g, srv)
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	if _, _, err := api.Register(ctx, registry.Instance{Service: "flaky", App: "flaky", Address: ln.Addr().String(), Weight: 1}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	retry := registry.RouteRule{Method: "UnaryCall", Retry: &config.Retry{Attempts: 3}}
	// The service's rule set travels in the same Listener as RBAC filters,
	// marked optional: a gRPC client (RBAC is for servers) must still
	// accept the listener and follow its routes.
	authz := []config.AuthzPolicy{{Name: "flaky-callers", Service: "flaky", Rules: []config.AuthzRule{
		{Action: config.ActionDeny, From: []string{"batch"}, Methods: []string{"UnaryCall"}},
		{Action: config.ActionAllow, From: []string{"*"}}}}}
	if err := api.PutPolicy(ctx, "flaky", registry.ServicePolicy{Routes: []registry.RouteRule{retry}, Authorization: authz}); err != nil {
		t.Fatal(err)
	}
	client := testgrpc.NewTestServiceClient(dialXDS(t, p, "flaky", "grpc-policy-1"))

	var calls atomic.Int64
	unary := func() (string, error) {
		id := fmt.Sprint("call-", calls.Add(1))
		_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte(id)}}, grpc.WaitForReady(true))
		return id, err
	}

	// Retry: every call succeeds on its second try.
	until(t, "a call succeeds with a retry", func() (bool, string) {
		id, err := unary()
		return err == nil && srv.triesOf(id) == 2, fmt.Sprintf("%v after %d tries", err, srv.triesOf(id))
	})
	for range 20 {
		id, err := unary()
		if err != nil || srv.triesOf(id) != 2 {
			t.Fatalf("with the retry rule: %v after %d tries; want success on the second", err, srv.triesOf(id))
		}
	}

	// Without the rule the first try's UNAVAILABLE is the answer.
	if err := api.DeletePolicy(ctx, "flaky"); err != nil {
		t.Fatal(err)
	}
	until(t, "calls fail once the retry rule is gone", func() (bool, string) {
		id, err := unary()
		return status.Code(err) == codes.Unavailable && srv.triesOf(id) == 1, fmt.Sprintf("%v after %d tries", err, srv.triesOf(id))
	})
	for range 20 {
		id, err := unary()
		if status.Code(err) != codes.Unavailable || srv.triesOf(id) != 1 {
			t.Fatalf("without the retry rule: %v after %d tries; want UNAVAILABLE after one", err, srv.triesOf(id))
		}
	}

	empty := func(ctx context.Context, marked bool) error {
		if marked {
			ctx = metadata.AppendToOutgoingContext(ctx, "om-test", "1")
		}
		_, err := client.EmptyCall(ctx, &testgrpc.Empty{}, grpc.WaitForReady(true))
		return err
	}
	injected := func(err error) bool {
		return status.Code(err) == codes.Unavailable && strings.Contains(status.Convert(err).Message(), "fault injection")
	}
	setFault := func(f *config.Fault) {
		t.Helper()
		rule := registry.RouteRule{Method: "EmptyCall", Fault: f}
		if err := api.PutPolicy(ctx, "flaky", registry.ServicePolicy{Routes: []registry.RouteRule{rule}}); err != nil {
			t.Fatal(err)
		}
	}

	// Abort, all calls: UNAVAILABLE, and the server never sees them.
	setFault(&config.Fault{Abort: &config.FaultAbort{Percent: 100}})
	until(t, "calls are aborted", func() (bool, string) {
		err := empty(ctx, false)
		return injected(err), fmt.Sprint(err)
	})
	before := srv.empties.Load()
	for range 20 {
		if err := empty(ctx, false); !injected(err) {
			t.Fatalf("with a 100%% abort: %v", err)
		}
	}
	if n := srv.empties.Load() - before; n != 0 {
		t.Fatalf("%d aborted calls reached the server", n)
	}

	// Abort, marked calls only (the fault's headers: gRPC metadata).
	setFault(&config.Fault{Abort: &config.FaultAbort{Percent: 100}, Headers: map[string]string{"om-test": "1"}})
	until(t, "unmarked calls pass", func() (bool, string) {
		err := empty(ctx, false)
		return err == nil, fmt.Sprint(err)
	})
	for range 10 {
		if err := empty(ctx, true); !injected(err) {
			t.Fatalf("a marked call: %v; want it aborted", err)
		}
		if err := empty(ctx, false); err != nil {
			t.Fatalf("an unmarked call: %v; want it through", err)
		}
	}

	// Abort, a share: measured over many calls. With 25% of 4000 calls the
	// standard deviation is 0.7 points: 3 points off is over 4 of them.
	setFault(&config.Fault{Abort: &config.FaultAbort{Percent: 25}})
	until(t, "the 25% abort applies", func() (bool, string) {
		err := empty(ctx, true) // the marked-only rule would abort it
		return err == nil, fmt.Sprint(err)
	})
	const n = 4000
	aborted := 0
	for range n {
		switch err := empty(ctx, false); {
		case err == nil:
		case injected(err):
			aborted++
		default:
			t.Fatal(err)
		}
	}
	if share := 100 * float64(aborted) / n; math.Abs(share-25) > 3 {
		t.Fatalf("%.1f%% of %d calls aborted; want 25%% within 3 points", share, n)
	} else {
		t.Logf("25%% abort: %.1f%% of %d calls aborted", share, n)
	}

	// Delay: every call is held back 300ms (no upper bound: the machine may
	// be busy); a call with a shorter deadline runs out waiting.
	const delay = 300 * time.Millisecond
	setFault(&config.Fault{Delay: &config.FaultDelay{Percent: 100, Duration: config.Duration(delay)}})
	timed := func() (time.Duration, error) {
		start := time.Now()
		err := empty(ctx, false)
		return time.Since(start), err
	}
	until(t, "calls are delayed", func() (bool, string) {
		d, err := timed()
		return err == nil && d >= delay, fmt.Sprintf("%v in %v", err, d)
	})
	for range 3 {
		if d, err := timed(); err != nil || d < delay {
			t.Fatalf("with a %v delay: %v in %v", delay, err, d)
		}
	}
	before = srv.empties.Load()
	short, cancelShort := context.WithTimeout(ctx, delay/3)
	err := empty(short, false)
	cancelShort()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("a call with a %v deadline: %v; want DEADLINE_EXCEEDED while delayed", delay/3, err)
	}
	if n := srv.empties.Load() - before; n != 0 {
		t.Fatalf("a call that ran out during its delay reached the server")
	}
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
