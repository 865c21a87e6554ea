package pilot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/octomesh/octomesh/api/registry"
)

// The helper process of BenchmarkSessionMemory: the clients, in a process
// of their own so that their memory is not counted as the pilot's.
const (
	envClientsAddr  = "OCTOMESH_SESSION_CLIENTS_ADDR"
	envClientsCount = "OCTOMESH_SESSION_CLIENTS_COUNT"
)

// BenchmarkSessionMemory measures what one idle delta ADS session costs the
// pilot: N sidecars, each on its own TCP connection over real gRPC on
// loopback (a minimal client in a child process), subscribe to one
// service's endpoints and ACK the response; then the pilot's heap and
// goroutine stacks are read (runtime.MemStats, after a GC) and divided by
// N. server=lean is the pilot on its lean transport (LeanServer, as Start
// has it by default), server=pilot on gRPC-go with the pilot's options
// (XDSServerOptions). Metrics: heap-B/session (live heap), stack-B/session,
// total-B/session (the two), goroutines/session, and rss-B/session (the
// process's resident set, which also counts memory the runtime holds but
// does not use).
//
//	flock /tmp/octomesh-heavy.lock go test -run - -bench SessionMemory -benchtime 1x ./cp/pilot
//
// OCTOMESH_BENCH_SESSIONS sets N (default 2000; the goal is stated at
// 15,000); OCTOMESH_BENCH_HEAPPROFILE=file writes the heap profile, taken
// while the sessions are open, to file (`go tool pprof
// -sample_index=inuse_space -top`), sampled every 4 KiB allocated;
// OCTOMESH_BENCH_PUSHES sets the number of pushes timed (default 5) and
// OCTOMESH_BENCH_CPUPROFILE=file writes the CPU profile of those pushes.
func BenchmarkSessionMemory(b *testing.B) {
	n := 2000
	if os.Getenv("OCTOMESH_BENCH_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 4096
	}
	if v := os.Getenv("OCTOMESH_BENCH_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("OCTOMESH_BENCH_SESSIONS=%q: want a positive number of sessions", v)
		}
	}
	// The pilot on its lean transport (internal/grpclite: one goroutine
	// per connection), and on gRPC-go's.
	b.Run(fmt.Sprintf("server=lean/sessions=%d", n), func(b *testing.B) {
		for range b.N {
			benchmarkSessionMemory(b, n, TransportLean, nil)
		}
	})
	b.Run(fmt.Sprintf("server=pilot/sessions=%d", n), func(b *testing.B) {
		for range b.N {
			benchmarkSessionMemory(b, n, TransportGRPC, nil)
		}
	})
	// The floor under gRPC: a handler that answers once and then only
	// reads, on the same gRPC server options: what a session costs with
	// one goroutine per stream and no state.
	b.Run(fmt.Sprintf("server=floor/sessions=%d", n), func(b *testing.B) {
		for range b.N {
			benchmarkSessionMemory(b, n, TransportGRPC, &floorADS{})
		}
	})
	// The same with a second goroutine per stream that reads requests
	// while the handler waits for them or for something to send, as a
	// server that can end a stream on its own (a redirect) needs.
	b.Run(fmt.Sprintf("server=floor2/sessions=%d", n), func(b *testing.B) {
		for range b.N {
			benchmarkSessionMemory(b, n, TransportGRPC, &floorADS{reader: true})
		}
	})
}

// floorADS is the least a delta ADS server can be: one goroutine per
// stream, which answers the first request with an empty response and then
// reads ACKs.
type floorADS struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
	sessions, acks atomic.Int64
	reader         bool // a goroutine reads, the handler waits on channels
}

func (f *floorADS) DeltaAggregatedResources(stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	f.sessions.Add(1)
	defer f.sessions.Add(-1)
	req, err := stream.Recv()
	if err != nil {
		return nil
	}
	if err := stream.Send(&discovery.DeltaDiscoveryResponse{TypeUrl: req.GetTypeUrl(), Nonce: "1"}); err != nil {
		return err
	}
	if !f.reader {
		for {
			if _, err := stream.Recv(); err != nil {
				return nil
			}
			f.acks.Add(1)
		}
	}
	reqs, end := make(chan *discovery.DeltaDiscoveryRequest), make(chan error)
	go func() {
		defer close(reqs)
		for {
			r, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case reqs <- r:
			case <-stream.Context().Done():
				return
			}
		}
	}()
	for {
		select {
		case _, ok := <-reqs:
			if !ok {
				return nil
			}
			f.acks.Add(1)
		case err := <-end:
			return err
		}
	}
}

func benchmarkSessionMemory(b *testing.B, n int, transport string, floor *floorADS) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := newFakeSource()
	src.setService("echo", registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.1:7000", Weight: 1},
		registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.2:7000", Weight: 1})
	srv := NewServer(ctx, src, quietLog)
	g := grpc.NewServer(XDSServerOptions()...)
	sessions, acks := srv.Stats.Sessions.Load, func() int64 { return int64(srv.Stats.Acks.Load()) }
	if floor != nil {
		discovery.RegisterAggregatedDiscoveryServiceServer(g, floor)
		sessions, acks = floor.sessions.Load, floor.acks.Load
	} else {
		srv.Register(g)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if transport == TransportLean {
		lean := srv.LeanServer(nil)
		go func() { _ = lean.Serve(ln) }()
		go func() { _ = g.Serve(lean.Fallback()) }()
		defer lean.Close()
	} else {
		go func() { _ = g.Serve(ln) }()
	}
	defer g.Stop()

	before, rssBefore, goBefore := memNow()

	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	child := exec.Command(exe, "-test.run=^TestSessionClients$", "-test.count=1")
	child.Env = append(os.Environ(), envClientsAddr+"="+ln.Addr().String(), envClientsCount+"="+strconv.Itoa(n))
	child.Stderr = os.Stderr // its stdout (PASS) would break the benchmark lines
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close() // the clients end when their stdin does
		_ = child.Wait()
	}()

	deadline := time.Now().Add(5 * time.Minute)
	for acks() < int64(n) || sessions() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("after 5 minutes %d of %d sessions open, %d ACKs", sessions(), n, acks())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the last ACKs' buffers returned
	after, rssAfter, goAfter := memNow()
	if prefix := os.Getenv("OCTOMESH_BENCH_HEAPPROFILE"); prefix != "" {
		f, err := os.Create(prefix)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
	if floor == nil {
		measurePushCPU(b, n, src, acks)
	}
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	stack := float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n)
	b.ReportMetric(heap, "heap-B/session")
	b.ReportMetric(stack, "stack-B/session")
	b.ReportMetric(heap+stack, "total-B/session")
	b.ReportMetric(float64(goAfter-goBefore)/float64(n), "goroutines/session")
	b.ReportMetric(float64(rssAfter-rssBefore)/float64(n), "rss-B/session")
}

// measurePushCPU changes echo's endpoints a few times, each after every
// session ACKed the last, and reports the pilot process's CPU (user and
// system, getrusage) per session and push, from the change to the last
// ACK, and the wall time of a push to all sessions.
func measurePushCPU(b *testing.B, n int, src *fakeSource, acks func() int64) {
	pushes := 5
	if v := os.Getenv("OCTOMESH_BENCH_PUSHES"); v != "" {
		var err error
		if pushes, err = strconv.Atoi(v); err != nil || pushes < 1 {
			b.Fatalf("OCTOMESH_BENCH_PUSHES=%q: want a positive number of pushes", v)
		}
	}
	if file := os.Getenv("OCTOMESH_BENCH_CPUPROFILE"); file != "" {
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	var ru0, ru1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		b.Fatal(err)
	}
	t0, base := time.Now(), acks()
	deadline := t0.Add(5 * time.Minute)
	for i := range pushes {
		src.setService("echo", registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.1:7000", Weight: uint32(i + 2)},
			registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.2:7000", Weight: 1})
		for acks() < base+int64(n*(i+1)) {
			if time.Now().After(deadline) {
				b.Fatalf("push %d: %d of %d ACKs after 5 minutes", i, acks()-base-int64(n*i), n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	wall := time.Since(t0)
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1); err != nil {
		b.Fatal(err)
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*pushes), "push-cpu-us/session")
	b.ReportMetric(float64(wall.Milliseconds())/float64(pushes), "push-ms")
}

// memNow reads the heap and stacks after a GC, the resident set (bytes)
// and the number of goroutines.
func memNow() (runtime.MemStats, int64, int) {
	for range 6 { // each GC halves the stacks of goroutines that use less than a quarter of theirs
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m, rssBytes(), runtime.NumGoroutine()
}

// rssBytes is the process's resident set from /proc (0 elsewhere).
func rssBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestSessionClients is BenchmarkSessionMemory's child process, not a
// test: it opens the sessions and keeps them until its stdin ends.
func TestSessionClients(t *testing.T) {
	addr := os.Getenv(envClientsAddr)
	if addr == "" {
		t.Skip("the helper process of BenchmarkSessionMemory")
	}
	n, err := strconv.Atoi(os.Getenv(envClientsCount))
	if err != nil {
		t.Fatalf("%s: %v", envClientsCount, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		wg    sync.WaitGroup
		next  = make(chan int)
		errMu sync.Mutex
		first error
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := openSessionClient(ctx, addr, i); err != nil {
					errMu.Lock()
					first = cmpErr(first, err)
					errMu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// openSessionClient opens one session on its own connection, subscribes to
// echo's endpoints and ACKs every response, until ctx ends.
func openSessionClient(ctx context.Context, addr string, i int) error {
	// Static windows, as the sidecar (proxy/xds) and the mock sidecars
	// dial the pilot: no bandwidth-estimating ping after each push.
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		return err
	}
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(cc).DeltaAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("session %d: %w", i, err)
	}
	err = stream.Send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: fmt.Sprintf("sidecar-%d", i), Cluster: "web"},
		TypeUrl: typeURLs[kindEndpoint], ResourceNamesSubscribe: []string{"echo"}})
	if err != nil {
		return fmt.Errorf("session %d: %w", i, err)
	}
	r, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("session %d: %w", i, err)
	}
	if err := stream.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()}); err != nil {
		return fmt.Errorf("session %d: %w", i, err)
	}
	go func() {
		defer cc.Close()
		for {
			r, err := stream.Recv()
			if err != nil {
				return
			}
			if stream.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()}) != nil {
				return
			}
		}
	}()
	return nil
}
