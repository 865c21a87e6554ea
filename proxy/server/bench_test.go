package server

import (
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
)

// echoInPlace is an allocation-free backend for benchmarks: it turns each
// call into its own reply in place (message type REPLY, TTHeader seqID set
// to the payload seqID, as Kitex answers) and writes it back.
func echoInPlace(b *testing.B, path string) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				var h codec.Header
				for {
					f, err := readFrame(c, buf)
					if err != nil {
						return
					}
					if err := h.Decode(f); err != nil {
						return
					}
					f[h.PayloadStart()+3] = codec.MessageReply
					binary.BigEndian.PutUint32(f[8:], uint32(h.PayloadSeqID))
					if _, err := c.Write(f); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// BenchmarkForward measures the whole request path of one sidecar
// (outbound Unix listener -> cluster -> Unix backend) with callers on
// persistent connections, one request in flight each. Client and backend
// allocate nothing, so allocs/op is the sidecar's.
func BenchmarkForward(b *testing.B) { benchmarkForward(b, "", "") }

// governedRoute and governedCluster configure every governance policy on
// the benchmark's path, none of which triggers: the route's own timeout
// (added to each call, which carries none), a retry policy (so each call
// is a call with a copy of its frame), a rate limit far above the rate,
// faults at 0%, a tag route ahead of the plain one; a circuit breaker far
// above the concurrency, a retry budget and outlier detection. A mirror at
// 0% is not built at all, so it is left out.
const (
	governedRoute   = `, timeout: 2s, retry: {attempts: 2, per_try_timeout: 1s}, rate_limit: {requests_per_second: 10000000, per_caller: true}, fault: {abort: {percent: 0}, delay: {percent: 0, duration: 1ms}}`
	governedCluster = `, circuit_breaker: {max_requests: 100000, max_pending: 1000, max_retries: 100}, retry_budget: {percent: 20}, outlier_detection: {interval: 1s, failure_percent: 50, latency_factor: 10}`
)

// BenchmarkForwardGoverned is BenchmarkForward with every policy
// configured (governedRoute, governedCluster): compare the two with
// benchstat after renaming one (docs/performance.md).
func BenchmarkForwardGoverned(b *testing.B) { benchmarkForward(b, governedRoute, governedCluster) }

func benchmarkForward(b *testing.B, route, cluster string) {
	for _, size := range []int{128, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			dir := sockDir(b)
			app := filepath.Join(dir, "app.sock")
			echoInPlace(b, app)
			out := filepath.Join(dir, "out.sock")
			sidecar(b, fmt.Sprintf(`
listeners: [{name: outbound, address: "unix://%s", routes: [{service: echo, tags: {lane: canary}, cluster: app}, {service: echo, cluster: app%s}]}]
clusters: [{name: app, connections_per_endpoint: 2, endpoints: [{address: "unix://%s"}]%s}]
`, out, route, app, cluster))
			var seq atomic.Int32
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("unix", out)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				id := seq.Add(1)
				req := request("echo", "Echo", id, thrift.CALL, make([]byte, size))
				buf := make([]byte, len(req)+1024)
				for pb.Next() {
					if _, err := c.Write(req); err != nil {
						b.Error(err)
						return
					}
					resp, err := readFrame(c, buf)
					if err != nil {
						b.Error(err)
						return
					}
					if int32(binary.BigEndian.Uint32(resp[8:])) != id {
						b.Errorf("response seq %d, want %d", binary.BigEndian.Uint32(resp[8:]), id)
						return
					}
				}
			})
		})
	}
}
