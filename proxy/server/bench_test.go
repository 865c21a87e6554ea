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
func BenchmarkForward(b *testing.B) {
	for _, size := range []int{128, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			dir := sockDir(b)
			app := filepath.Join(dir, "app.sock")
			echoInPlace(b, app)
			out := filepath.Join(dir, "out.sock")
			sidecar(b, fmt.Sprintf(`
listeners: [{name: outbound, address: "unix://%s", routes: [{service: echo, cluster: app}]}]
clusters: [{name: app, connections_per_endpoint: 2, endpoints: [{address: "unix://%s"}]}]
`, out, app))
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
