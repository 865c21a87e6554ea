package mocksidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/pilot"
)

var transports = []string{TransportLean, TransportGRPC}

// standalonePilot starts a pilot with its embedded etcd, serving every
// app; stop (once) closes it.
func standalonePilot(t *testing.T) (p *pilot.Pilot, stop func()) {
	t.Helper()
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: t.TempDir(),
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	stop = sync.OnceFunc(p.Close)
	t.Cleanup(stop)
	return p, stop
}

// openOn opens a stream to xds on a transport, as a sidecar of app does.
func openOn(t *testing.T, ctx context.Context, transport, xds, app string) adsStream {
	t.Helper()
	s := &sidecar{app: app, appHeader: true, lean: transport == TransportLean}
	st, err := s.open(ctx, target{xds: xds})
	if err != nil {
		t.Fatalf("%s: open: %v", transport, err)
	}
	t.Cleanup(func() {
		if ls, ok := st.(*leanStream); ok {
			ls.Close()
		}
		if s.conn != nil {
			_ = s.conn.Close()
		}
	})
	return st
}

func subscribeReq(id, app, typeURL string, names ...string) *discovery.DeltaDiscoveryRequest {
	return &discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: id, Cluster: app}, TypeUrl: typeURL, ResourceNamesSubscribe: names}
}

// recvWithin is Recv with a deadline: a hang fails the test.
func recvWithin(t *testing.T, st adsStream, d time.Duration) (*discovery.DeltaDiscoveryResponse, error) {
	t.Helper()
	type res struct {
		r   *discovery.DeltaDiscoveryResponse
		err error
	}
	ch := make(chan res, 1)
	go func() { r, err := st.Recv(); ch <- res{r, err} }()
	select {
	case x := <-ch:
		return x.r, x.err
	case <-time.After(d):
		t.Fatalf("no response or end within %s", d)
		return nil, nil
	}
}

// bigInstance is an instance whose metadata makes its endpoint about 64
// KiB: three of them are a response of three 64 KiB windows.
func bigInstance(n int) registry.Instance {
	md := map[string]string{}
	for k := range 64 {
		md[fmt.Sprintf("k%02d", k)] = strings.Repeat(string(rune('a'+n)), 1000)
	}
	return registry.Instance{Service: "big", App: "big", Address: fmt.Sprintf("127.0.9.%d:8000", n+1), Weight: 1, Metadata: md}
}

// TestLeanLargeResponses: responses larger than the 64 KiB receive
// window arrive whole (the client returns the window as it reads), are
// ACKed, and a push after them arrives too, on both transports alike.
func TestLeanLargeResponses(t *testing.T) {
	p, _ := standalonePilot(t)
	reg, err := registry.NewClient(p.Addrs().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for n := range 3 {
		if _, _, err := reg.Register(ctx, bigInstance(n), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for i, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			st := openOn(t, ctx, tr, p.Addrs().XDS, "client")
			if err := st.Send(subscribeReq("mock-"+tr, "client", typeURLs[tEndpoint], "big")); err != nil {
				t.Fatal(err)
			}
			// Wait for all three (the registrations may arrive in pieces).
			deadline := time.Now().Add(30 * time.Second)
			want := 3 + i // and one more from each earlier transport's push
			for {
				r, err := recvWithin(t, st, 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()}); err != nil {
					t.Fatal(err)
				}
				if len(r.GetResources()) == 0 {
					continue
				}
				h, err := decode(tEndpoint, r.GetResources()[0])
				if err != nil {
					t.Fatal(err)
				}
				if len(h.endpoints) == want {
					if size := proto.Size(r); size < 3*60<<10 {
						t.Fatalf("the response is %d bytes; the test wants more than three windows", size)
					}
					if got, _ := h.meta("k07"); len(got) != 1000 {
						t.Fatalf("metadata k07 is %d bytes, want 1000", len(got))
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d endpoints, want %d", len(h.endpoints), want)
				}
			}
			// A push after the large responses: a fourth instance.
			if _, _, err := reg.Register(ctx, bigInstance(3+i), time.Minute); err != nil {
				t.Fatal(err)
			}
			for {
				r, err := recvWithin(t, st, 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.GetResources()) == 0 {
					continue
				}
				h, err := decode(tEndpoint, r.GetResources()[0])
				if err != nil {
					t.Fatal(err)
				}
				if len(h.endpoints) == 4+i {
					break
				}
			}
		})
	}
}

// TestLeanStatus: a stream the pilot ends with a status (a request
// without a type URL) reads as the same status on both transports.
func TestLeanStatus(t *testing.T) {
	p, _ := standalonePilot(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			st := openOn(t, ctx, tr, p.Addrs().XDS, "client")
			if err := st.Send(subscribeReq("mock-"+tr, "client", "", "x")); err != nil {
				t.Fatal(err)
			}
			_, err := recvWithin(t, st, 30*time.Second)
			s, ok := grpcstatus.FromError(err)
			if !ok || s.Code() != codes.InvalidArgument || !strings.Contains(s.Message(), "type URL is required") {
				t.Fatalf("got %v, want InvalidArgument: type URL is required", err)
			}
		})
	}
}

// TestLeanPilotDies: a pilot that stops (its connections cut) while a
// stream is open ends the stream with an error the sidecar reads as a
// lost pilot (Unavailable): it then reconnects.
func TestLeanPilotDies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			p, stop := standalonePilot(t)
			st := openOn(t, ctx, tr, p.Addrs().XDS, "client")
			if err := st.Send(subscribeReq("mock-"+tr, "client", typeURLs[tRoute], "client")); err != nil {
				t.Fatal(err)
			}
			if _, err := recvWithin(t, st, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			stop()
			_, err := recvWithin(t, st, 30*time.Second)
			// What the connection loop reads as a lost pilot: an error,
			// neither a redirect nor Aborted. Unavailable (the
			// connection closed), or at times Unknown "EOF": the pilot's
			// handler, its stream cut, returned io.EOF, and gRPC's
			// server wrote that as the status before it closed the
			// connection; both transports read it alike.
			if _, redirect := redirectOf(err); err == nil || redirect {
				t.Fatalf("got %v, want a lost pilot", err)
			}
			if c := grpcstatus.Code(err); c != codes.Unavailable && c != codes.Unknown {
				t.Fatalf("got %v (%v), want Unavailable (or Unknown)", c, err)
			}
			if err := st.Send(subscribeReq("mock-"+tr, "client", typeURLs[tCluster], "x")); err == nil {
				t.Fatal("a send on a broken stream succeeded")
			}
			// Nothing listens now: opening again fails with Unavailable.
			s := &sidecar{app: "client", lean: tr == TransportLean}
			st2, err := s.open(ctx, target{xds: p.Addrs().XDS})
			if err == nil {
				_, err = recvWithin(t, st2, 30*time.Second)
				if s.conn != nil {
					_ = s.conn.Close()
				}
			}
			if c := grpcstatus.Code(err); c != codes.Unavailable {
				t.Fatalf("connecting to a dead pilot: got %v (%v), want Unavailable", c, err)
			}
		})
	}
}

// redirector is an ADS server that redirects every stream (as a pilot
// that does not serve the app), after one empty response.
type redirector struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
}

func (redirector) DeltaAggregatedResources(stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	if err := stream.Send(&discovery.DeltaDiscoveryResponse{TypeUrl: req.GetTypeUrl(), Nonce: "1"}); err != nil {
		return err
	}
	if _, err := stream.Recv(); err != nil { // the ACK
		return err
	}
	return meta.Redirect("p1", "client", meta.PilotInfo{ID: "p2", XDS: "tcp://127.0.0.1:15012"})
}

// TestLeanRedirect: a redirect's status and details (trailers) read the
// same on both transports.
func TestLeanRedirect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(srv, redirector{})
	go srv.Serve(ln)
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			st := openOn(t, ctx, tr, ln.Addr().String(), "client")
			if err := st.Send(subscribeReq("mock", "client", typeURLs[tRoute], "client")); err != nil {
				t.Fatal(err)
			}
			r, err := recvWithin(t, st, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()}); err != nil {
				t.Fatal(err)
			}
			_, err = recvWithin(t, st, 30*time.Second)
			to, ok := redirectOf(err)
			if !ok || to.id != "p2" || to.xds != "tcp://127.0.0.1:15012" {
				t.Fatalf("got %v: redirect %+v %v", err, to, ok)
			}
			if errors.Is(err, io.EOF) {
				t.Fatal("EOF")
			}
		})
	}
}

func TestDecodeGRPCMessage(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a%20b": "a b", "100%25": "100%", "%E2%82%AC": "€", "bad%zz": "bad%zz", "end%2": "end%2"} {
		if got := decodeGRPCMessage(in); got != want {
			t.Errorf("decodeGRPCMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnknownTransport(t *testing.T) {
	_, err := Run(context.Background(), &Script{}, Options{Count: 1, Pilot: "127.0.0.1:1", Transport: "h3"})
	if err == nil || !strings.Contains(err.Error(), `transport "h3"`) {
		t.Fatalf("got %v, want an error naming the transport", err)
	}
}

// BenchmarkPush: one endpoint change pushed by an in-process pilot to
// OCTOMESH_BENCH_SIDECARS (default 500) simulated sidecars, each decoding
// and ACKing it, per transport. ns/op is one push to all. With
// OCTOMESH_BENCH_PROFILE=FILE it writes a CPU profile of the pushes only
// (not the connects), in which the simulated sidecars' goroutines (and
// those they start: gRPC-go's) carry the label side=mock:
//
//	go tool pprof -tagfocus side=mock -top FILE   # the sidecars' CPU
func BenchmarkPush(b *testing.B) {
	n := 500
	if v := os.Getenv("OCTOMESH_BENCH_SIDECARS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, tr := range transports {
		b.Run("transport="+tr, func(b *testing.B) {
			p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: b.TempDir(),
				Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			reg, err := registry.NewClient(p.Addrs().HTTP)
			if err != nil {
				b.Fatal(err)
			}
			defer reg.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			in := registry.Instance{Service: "common", App: "common", Address: "127.0.3.1:30000", Weight: 1}
			lease, _, err := reg.Register(ctx, in, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			script, err := Parse("bench.yaml", []byte(`
sidecar: {app: "app-${i % 60}"}
steps:
  - connect: {}
  - subscribe: {names: [common]}
  - expect: {name: common, present: true, timeout: 60s}
  - control: {action: hold}
`))
			if err != nil {
				b.Fatal(err)
			}
			release := make(chan struct{})
			done := make(chan error, 1)
			go pprof.Do(ctx, pprof.Labels("side", "mock"), func(ctx context.Context) {
				rep, err := Run(ctx, script, Options{Pilot: p.Addrs().XDS, Count: n, Ramp: 2000, Transport: tr, Log: slog.New(slog.DiscardHandler),
					Controls: map[string]Control{"hold": func(ctx context.Context, _ map[string]string) (map[string]string, error) {
						select {
						case <-release:
						case <-ctx.Done():
						}
						return nil, nil
					}}})
				if err == nil && !rep.OK() {
					err = errors.New("a sidecar failed")
				}
				done <- err
			})
			acked := func() int {
				resp, err := http.Get("http://" + strings.TrimPrefix(p.Addrs().HTTP, "tcp://") + "/stats")
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				for _, line := range strings.Split(string(body), "\n") {
					if f := strings.Fields(line); len(f) == 2 && f[0] == "pilot.acks" {
						v, _ := strconv.Atoi(f[1])
						return v
					}
				}
				return 0
			}
			waitAcks := func(want int) {
				deadline := time.Now().Add(2 * time.Minute)
				for acked() < want {
					if time.Now().After(deadline) {
						b.Fatalf("%d ACKs, want %d", acked(), want)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
			// Every sidecar holds common (its ACKs settle).
			prev := -1
			for cur := acked(); cur != prev || cur < n; cur = acked() {
				prev = cur
				time.Sleep(500 * time.Millisecond)
			}
			if f := os.Getenv("OCTOMESH_BENCH_PROFILE"); f != "" {
				out, err := os.Create(f)
				if err != nil {
					b.Fatal(err)
				}
				defer out.Close()
				if err := pprof.StartCPUProfile(out); err != nil {
					b.Fatal(err)
				}
				defer pprof.StopCPUProfile()
			}
			b.ResetTimer()
			for i := range b.N {
				base := acked()
				in.Weight = uint32(2 + i%2)
				if err := reg.Update(ctx, lease, in); err != nil {
					b.Fatal(err)
				}
				waitAcks(base + n)
			}
			b.StopTimer()
			close(release)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestLeanLargeRequest: a request larger than the pilot's 64 KiB
// receive window goes out in pieces as the pilot returns the window, on
// both transports alike.
func TestLeanLargeRequest(t *testing.T) {
	p, _ := standalonePilot(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	versions := map[string]string{} // held versions: cheap for the pilot, unlike subscriptions
	for i := range 40 {
		versions[fmt.Sprintf("svc-%02d", i)] = strings.Repeat("v", 4000)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			st := openOn(t, ctx, tr, p.Addrs().XDS, "client")
			req := subscribeReq("mock-"+tr, "client", typeURLs[tCluster], "svc-00")
			req.InitialResourceVersions = versions
			if size := proto.Size(req); size < 2*64<<10 {
				t.Fatalf("the request is %d bytes; the test wants more than two windows", size)
			}
			if err := st.Send(req); err != nil {
				t.Fatal(err)
			}
			// A second request after it: the pilot read the first whole.
			if err := st.Send(subscribeReq("", "", typeURLs[tRoute], "client")); err != nil {
				t.Fatal(err)
			}
			for {
				r, err := recvWithin(t, st, 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if r.GetTypeUrl() == typeURLs[tRoute] {
					break
				}
			}
		})
	}
}

// TestSourceAddrIsOwnPerSidecar: each simulated sidecar dials a loopback
// pilot from an address of its own (no .0 or .255), and other
// destinations from any address.
func TestSourceAddrIsOwnPerSidecar(t *testing.T) {
	seen := map[string]int{}
	for i := range 60000 {
		a := sourceAddr(i, "tcp", "127.0.0.1:7000")
		ta, ok := a.(*net.TCPAddr)
		if !ok || !ta.IP.IsLoopback() || ta.Port != 0 {
			t.Fatalf("sidecar %d: source %v, want a loopback address, any port", i, a)
		}
		if last := ta.IP.To4()[3]; last == 0 || last == 255 {
			t.Fatalf("sidecar %d: source %v", i, ta.IP)
		}
		if j, dup := seen[ta.IP.String()]; dup {
			t.Fatalf("sidecars %d and %d share %v", j, i, ta.IP)
		}
		seen[ta.IP.String()] = i
	}
	for _, c := range [][2]string{{"tcp", "10.0.0.1:7000"}, {"tcp", "[::1]:7000"}, {"unix", "/tmp/x.sock"}} {
		if a := sourceAddr(1, c[0], c[1]); a != nil {
			t.Errorf("%s %s: source %v, want none", c[0], c[1], a)
		}
	}
}

// endedStream is a stream whose Send fails with err.
type endedStream struct{ err error }

func (s endedStream) Send(*discovery.DeltaDiscoveryRequest) error { return s.err }
func (s endedStream) Recv() (*discovery.DeltaDiscoveryResponse, error) {
	return nil, s.err
}

// A step that sends on a stream which has just ended (its reader has yet to
// report why, and the session loop to open the next) does not fail: the
// next stream sends what the step recorded. Any other error is the step's.
func TestSendOnEndedStream(t *testing.T) {
	s := &sidecar{}
	s.stream = endedStream{io.EOF}
	if err := s.send(&discovery.DeltaDiscoveryRequest{}); err != nil {
		t.Fatalf("send on an ended stream: %v, want nil", err)
	}
	broken := errors.New("broken")
	s.stream = endedStream{broken}
	if err := s.send(&discovery.DeltaDiscoveryRequest{}); !errors.Is(err, broken) {
		t.Fatalf("send failing otherwise: %v, want %v", err, broken)
	}
}
