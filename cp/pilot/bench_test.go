package pilot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"

	"github.com/octomesh/octomesh/api/registry"
)

// simStream is a simulated sidecar on an in-process delta stream, with no
// goroutine of its own: Send (the pilot's stream goroutine) notes when a
// response arrives and queues its ACK, Recv hands the pilot the queue.
type simStream struct {
	grpc.ServerStream
	ctx    context.Context
	in     chan *discovery.DeltaDiscoveryRequest
	onRecv func(*discovery.DeltaDiscoveryResponse)
}

func (s *simStream) Context() context.Context { return s.ctx }

func (s *simStream) Send(r *discovery.DeltaDiscoveryResponse) error {
	s.onRecv(r)
	s.in <- &discovery.DeltaDiscoveryRequest{TypeUrl: r.TypeUrl, ResponseNonce: r.Nonce}
	return nil
}

func (s *simStream) Recv() (*discovery.DeltaDiscoveryRequest, error) {
	select {
	case r := <-s.in:
		return r, nil
	case <-s.ctx.Done():
		return nil, io.EOF
	}
}

// BenchmarkPush measures how long one endpoint change takes to reach every
// session subscribed to it (ns/op: the change until the last session has
// it; p50-ns, p99-ns: per session), what it allocates in the whole pilot
// (B/op, allocs/op), and what a session costs while idle (heap-B/session,
// stack-B/session: goroutines). The change enters at the Data Cache's
// Source, so etcd is not measured.
//
//	go test -run - -bench Push -benchtime 20x ./cp/pilot
func BenchmarkPush(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) { benchmarkPush(b, n) })
	}
}

func benchmarkPush(b *testing.B, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := newFakeSource()
	instance := registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.1:7000", Weight: 1}
	src.setService("echo", instance, registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.2:7000", Weight: 1})
	srv := NewServer(ctx, src, quietLog)

	var (
		want     atomic.Pointer[string] // the version being pushed
		start    atomic.Int64           // when it was published (UnixNano)
		got      atomic.Int64           // sessions that have it
		all      = make(chan struct{}, 1)
		lat      = make([]int64, 0, n*max(b.N, 1))
		latCh    = make(chan int64, n)
		firstAll = make(chan struct{})
		firsts   atomic.Int64
	)
	onRecv := func(r *discovery.DeltaDiscoveryResponse) {
		if len(r.Resources) == 0 {
			return
		}
		v := r.Resources[0].Version
		if w := want.Load(); w == nil {
			if firsts.Add(1) == int64(n) {
				close(firstAll)
			}
			return
		} else if v != *w {
			return
		}
		latCh <- time.Now().UnixNano() - start.Load()
		if got.Add(1) == int64(n) {
			all <- struct{}{}
		}
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		s := &simStream{ctx: ctx, in: make(chan *discovery.DeltaDiscoveryRequest, 4), onRecv: onRecv}
		s.in <- &discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: fmt.Sprintf("sidecar-%d", i), Cluster: "web"},
			TypeUrl: typeURLs[kindEndpoint], ResourceNamesSubscribe: []string{"echo"}}
		go func() { _ = srv.DeltaAggregatedResources(s) }()
	}
	select {
	case <-firstAll:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d sessions got their first response", firsts.Load(), n)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heapPer := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	stackPer := float64(after.StackInuse-before.StackInuse) / float64(n)

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		instance.Weight = uint32(i + 2)
		b.StopTimer()
		// The version the change will have, to recognise it on arrival.
		e, _ := encode("echo", buildAssignment("echo", []registry.Instance{instance, {Service: "echo", App: "echo", Address: "10.0.0.2:7000", Weight: 1}}, nil))
		want.Store(&e.version)
		got.Store(0)
		b.StartTimer()
		start.Store(time.Now().UnixNano())
		src.setService("echo", instance, registry.Instance{Service: "echo", App: "echo", Address: "10.0.0.2:7000", Weight: 1})
		for range n {
			lat = append(lat, <-latCh)
		}
		<-all
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
		b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
	}
	b.ReportMetric(heapPer, "heap-B/session")
	b.ReportMetric(stackPer, "stack-B/session")
	if pushed := srv.Stats.Pushes.Load(); pushed < uint64(n*(b.N+1)) {
		b.Errorf("%d responses for %d sessions and %d changes", pushed, n, b.N)
	}
}

var quietLog = slog.New(slog.DiscardHandler)
