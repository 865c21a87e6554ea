package upstream

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/lb"
	"github.com/octomesh/octomesh/proxy/transport"
)

// TestMalformedResponsesAreDroppedAndCounted: a response no request in
// flight was sent with (a seqID never issued, one with the sign bit set,
// one answered already) is dropped and counted as late, completes nothing,
// and the requests in flight still complete, each once, with their own
// seqIDs; a frame that is no TTHeader frame closes the connection, and
// its requests fail as connection lost, each once.
func TestMalformedResponsesAreDroppedAndCounted(t *testing.T) {
	dir := t.TempDir()
	addr := filepath.Join(dir, "peer.sock")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	bal, err := lb.Get("round_robin")
	if err != nil {
		t.Fatal(err)
	}
	// sent is the seqID request k went upstream with.
	sent := func(h *frameHarness, k int) int32 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.reqs[k].sent
	}
	for _, tc := range []struct {
		name string
		bad  func(h *frameHarness) []byte
		// late: counted as a late response; lost: the connection closed.
		late, lost bool
	}{
		{"a seqID never issued", func(*frameHarness) []byte { return reply(0x1234567) }, true, false},
		{"a seqID of another generation of a slot in flight", func(h *frameHarness) []byte {
			cn := h.c.state.Load().endpoints[0].conns[0].Load()
			return reply(sent(h, 0) + int32(1)<<cn.idxBits)
		}, true, false},
		{"the sign bit set on a seqID in flight", func(h *frameHarness) []byte { return reply(sent(h, 1) | -1<<31) }, true, false},
		{"a negative seqID", func(*frameHarness) []byte { return reply(-1) }, true, false},
		{"not a TTHeader frame", func(*frameHarness) []byte { return []byte("GET / HTTP/1.1\r\n\r\n") }, false, true},
		{"a truncated frame", func(h *frameHarness) []byte { return reply(sent(h, 0))[:10] }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			od := config.NewOutlierDetection()
			st := &Stats{}
			c, err := NewCluster(ClusterConfig{
				Name: "c", Balancer: bal, ConnsPerEndpoint: 1, MaxRequestsPerConn: 8, ConnectTimeout: 10 * time.Second,
				Transport: transport.Options{MaxFrameSize: 1 << 20, FrameTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second},
				Breaker:   config.NewCircuitBreaker(), Budget: config.NewRetryBudget(), Outlier: &od,
			}, []EndpointConfig{{Network: "unix", Address: addr, Weight: 1}}, st, &transport.Stats{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h := &frameHarness{t: t, c: c, doneC: make(chan struct{}, 16)}
			const n = 3
			for range n {
				h.forward(time.Hour)
			}
			cn := c.state.Load().endpoints[0].conns[0].Load()
			if cn == nil {
				t.Fatal("no connection after forwarding")
			}
			serve := func(frame []byte) {
				h.mu.Lock()
				h.serving, h.servingSeq = true, -1
				if len(frame) >= 12 {
					h.servingSeq = int32(uint32(frame[8])<<24 | uint32(frame[9])<<16 | uint32(frame[10])<<8 | uint32(frame[11]))
				}
				h.mu.Unlock()
				cn.ServeFrame(frame)
				h.mu.Lock()
				h.serving = false
				h.mu.Unlock()
			}
			serve(tc.bad(h))
			h.mu.Lock()
			for _, r := range h.reqs {
				if r.done != 0 && !tc.lost {
					t.Errorf("request %d completed (%s) by a frame that answers no request", r.id, r.how)
				}
			}
			h.mu.Unlock()
			if got := st.LateResponses.Load(); tc.late != (got == 1) || got > 1 {
				t.Errorf("late responses %d, want %v", got, tc.late)
			}
			if !tc.lost {
				if !cn.tc.Active() {
					t.Fatal("the connection closed over a response it could drop")
				}
				for k := range n {
					serve(reply(sent(h, k)))
				}
				serve(reply(sent(h, 0))) // once more: answered already
				h.waitAll()
				if got := st.Responses.Load(); got != n {
					t.Errorf("responses %d, want %d", got, n)
				}
				if got := st.LateResponses.Load(); got != 2 {
					t.Errorf("late responses %d after a repeated answer, want 2", got)
				}
				h.mu.Lock()
				for _, r := range h.reqs {
					if r.how != "response" {
						t.Errorf("request %d: %s, want its response", r.id, r.how)
					}
				}
				h.mu.Unlock()
			} else {
				h.waitAll()
				if got := st.ConnLost.Load(); got != n {
					t.Errorf("connection lost for %d requests, want %d", got, n)
				}
				if got := st.Responses.Load(); got != 0 {
					t.Errorf("responses %d from a frame that is none", got)
				}
			}
			if got := c.inflight.Load(); got != 0 {
				t.Errorf("%d in flight after every request completed", got)
			}
		})
	}
}
