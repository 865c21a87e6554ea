package upstream

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/lb"
	"github.com/octomesh/octomesh/proxy/transport"
)

// FuzzConnServeFrame feeds a connection's ServeFrame, where responses from
// an endpoint arrive, a script of frames: answers to the requests in
// flight, answers with arbitrary (never issued, late, negative) seqIDs,
// control frames, garbage; between them it forwards more requests and
// sweeps. The connection is a real one, to a Unix-socket peer in a temp dir
// that reads and drops what it gets; the test calls ServeFrame itself, as
// the poller would (the peer sends nothing). Whatever the frames: no
// panic; a request completes exactly once; a response completes only the
// request in flight whose seqID it carries, restored to the caller's
// seqIDs; and once every request has completed, nothing is counted in
// flight.
func FuzzConnServeFrame(f *testing.F) {
	// Script: the first byte is the number of requests forwarded at the
	// start (1 to 4); then operations, each an opcode byte and its
	// operands (see run).
	f.Add([]byte{2, opReply, 0, opReply, 1})
	f.Add([]byte{4, opReply, 3, opReply, 3, opSeq, 0, 0, 0, 4, opControl, 2, opReply, 0, opForward, 1, opSweep})
	f.Add([]byte{1, opSeq, 0x80, 0, 0, 4, opReply, 0})
	f.Add([]byte{3, opControl, 0, opControl, 1, opControl, 3, opReply, 1, opRaw, 3, 'G', 'E', 'T', opReply, 2})
	f.Add([]byte{2, opForward, 0, opSweep, opReply, 0, opReply, 1, opFixed, 4, 0, 0, 1, 2})
	f.Add(append([]byte{1, opFrame, 30}, call(7)[:30]...))

	dir, err := os.MkdirTemp("", "upf")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	addr := filepath.Join(dir, "peer.sock")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
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
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) == 0 {
			return
		}
		od := config.NewOutlierDetection()
		c, err := NewCluster(ClusterConfig{
			Name: "c", Balancer: bal, ConnsPerEndpoint: 1, MaxRequestsPerConn: 4, ConnectTimeout: time.Second,
			Transport: transport.Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second},
			Breaker:   config.NewCircuitBreaker(), Budget: config.NewRetryBudget(), Outlier: &od,
		}, []EndpointConfig{{Network: "unix", Address: addr, Weight: 1}}, &Stats{}, &transport.Stats{})
		if err != nil {
			t.Fatal(err)
		}
		h := &frameHarness{t: t, c: c, doneC: make(chan struct{}, len(script)+8)}
		for range 1 + int(script[0])%4 {
			h.forward(time.Hour)
		}
		cn := c.state.Load().endpoints[0].conns[0].Load()
		if cn == nil {
			c.Close()
			t.Fatal("no connection after forwarding")
		}
		h.run(cn, script[1:])
		c.Close()
		h.waitAll()
		if n := c.inflight.Load(); n != 0 {
			t.Fatalf("every request completed, yet the cluster counts %d in flight", n)
		}
		if n := cn.inflight.Load(); n != 0 {
			t.Fatalf("every request completed, yet the connection counts %d in flight", n)
		}
		if n := c.state.Load().endpoints[0].load.Inflight(); n != 0 {
			t.Fatalf("every request completed, yet the endpoint's load counts %d in flight", n)
		}
	})
}

// Operations of FuzzConnServeFrame's script.
const (
	opReply   = iota // k: a response to request k, with the seqID it was sent with
	opSeq            // 4 bytes: a response with this TTHeader and payload seqID
	opRaw            // n, n bytes: a frame of those bytes
	opFixed          // n, n bytes: the same with a TTHeader length prefix and magic
	opControl        // k: a control frame (health-ok, health-fail, proxy-restart, unknown)
	opForward        // b: another request, timing out at the next sweep when b is even
	opSweep          // Sweep
	opFrame          // n, n bytes: like opRaw, kept for seeds cut from whole frames
	numOps
)

// fuzzRequest is one request forwarded by the harness.
type fuzzRequest struct {
	id       int
	seq      int32 // the caller's seqID (payload seqID: seq+1)
	sent     int32 // the seqID it went upstream with; valid while inFlight
	inFlight bool
	done     int // completions
	how      string
}

// frameHarness forwards requests and records their completions; it is
// each request's Downstream.
type frameHarness struct {
	t          *testing.T
	c          *Cluster
	mu         sync.Mutex
	reqs       []*fuzzRequest
	serving    bool  // ServeFrame is handling a frame
	servingSeq int32 // its TTHeader seqID as it arrived
	errs       []string
	doneC      chan struct{}
}

type fuzzDown struct {
	h *frameHarness
	r *fuzzRequest
}

func (h *frameHarness) forward(timeout time.Duration) {
	h.mu.Lock()
	r := &fuzzRequest{id: len(h.reqs), seq: int32(1000 + len(h.reqs))}
	h.reqs = append(h.reqs, r)
	h.mu.Unlock()
	b, start, _ := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: r.seq})
	b = thrift.Binary.AppendMessageBegin(b, "M", thrift.CALL, r.seq+1)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	var hdr codec.Header
	if err := hdr.Decode(b); err != nil {
		h.t.Fatal(err)
	}
	h.c.Forward(&Request{Frame: b, Header: &hdr, Down: fuzzDown{h, r}, Timeout: timeout})
	h.mu.Lock()
	if r.done == 0 { // written, and in flight under the seqID it carries now
		r.inFlight, r.sent = true, int32(binary.BigEndian.Uint32(b[8:]))
	}
	h.mu.Unlock()
}

func (h *frameHarness) errorf(format string, args ...any) {
	h.errs = append(h.errs, fmt.Sprintf(format, args...))
}

func (d fuzzDown) Respond(frame []byte, hdr *codec.Header) {
	h, r := d.h, d.r
	h.mu.Lock()
	defer h.mu.Unlock()
	r.done++
	if r.done > 1 {
		h.errorf("request %d completed again by a response (before: %s)", r.id, r.how)
	}
	r.how = "response"
	switch {
	case !h.serving:
		h.errorf("request %d answered outside ServeFrame", r.id)
	case !r.inFlight:
		h.errorf("request %d answered while not in flight", r.id)
	case h.servingSeq != r.sent:
		h.errorf("request %d, sent as seqID %d, answered by a frame with seqID %d", r.id, r.sent, h.servingSeq)
	}
	var got codec.Header
	if err := got.Decode(frame); err != nil || got.SeqID != r.seq || got.PayloadSeqID != r.seq+1 {
		h.errorf("request %d's response: %v, seqIDs %d %d; want %d %d", r.id, err, got.SeqID, got.PayloadSeqID, r.seq, r.seq+1)
	}
	r.inFlight = false
	h.doneC <- struct{}{}
}

func (d fuzzDown) Fail(o Origin, f Failure) {
	h, r := d.h, d.r
	h.mu.Lock()
	defer h.mu.Unlock()
	r.done++
	if r.done > 1 {
		h.errorf("request %d failed (%v) after it completed (%s)", r.id, f.Kind, r.how)
	}
	r.how = "failure " + f.Kind.Error()
	if o.SeqID != r.seq || o.PayloadSeqID != r.seq+1 {
		h.errorf("request %d failed with origin seqIDs %d %d", r.id, o.SeqID, o.PayloadSeqID)
	}
	r.inFlight = false
	h.doneC <- struct{}{}
}

// run plays script against cn, stopping once cn is closed.
func (h *frameHarness) run(cn *conn, script []byte) {
	next := func() (byte, bool) {
		if len(script) == 0 {
			return 0, false
		}
		b := script[0]
		script = script[1:]
		return b, true
	}
	bytesOf := func() []byte {
		n, _ := next()
		n = min(n, byte(len(script)))
		b := script[:n]
		script = script[n:]
		return append([]byte(nil), b...)
	}
	for len(script) > 0 && cn.tc.Active() {
		op, _ := next()
		var frame []byte
		switch op % numOps {
		case opReply:
			k, _ := next()
			h.mu.Lock()
			r := h.reqs[int(k)%len(h.reqs)]
			sent := r.sent
			h.mu.Unlock()
			frame = reply(sent)
		case opSeq:
			var s [4]byte
			for i := range s {
				s[i], _ = next()
			}
			frame = reply(int32(binary.BigEndian.Uint32(s[:])))
		case opRaw, opFrame:
			frame = bytesOf()
		case opFixed:
			frame = bytesOf()
			if len(frame) >= 6 {
				binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
				binary.BigEndian.PutUint16(frame[4:], codec.Magic)
			}
		case opControl:
			k, _ := next()
			kinds := []string{codec.ControlHealthOK, codec.ControlHealthFail, codec.ControlProxyRestart, "later-kind"}
			frame = codec.AppendControlFrame(nil, kinds[int(k)%len(kinds)])
		case opForward:
			b, _ := next()
			timeout := time.Hour
			if b%2 == 0 {
				timeout = 0
			}
			h.forward(timeout)
			continue
		case opSweep:
			h.c.Sweep()
			continue
		}
		h.mu.Lock()
		h.serving, h.servingSeq = true, -1
		if len(frame) >= 12 {
			h.servingSeq = int32(binary.BigEndian.Uint32(frame[8:]))
		}
		h.mu.Unlock()
		cn.ServeFrame(frame)
		h.mu.Lock()
		h.serving = false
		h.mu.Unlock()
	}
}

// reply is an endpoint's answer to a call sent with seqID seq, as a Kitex
// server writes it (the payload seqID is the call's, which the sidecar set
// to seq too).
func reply(seq int32) []byte {
	b, start, _ := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: seq})
	b = thrift.Binary.AppendMessageBegin(b, "M", thrift.REPLY, seq)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	return b
}

// waitAll waits until every request has completed once, then fails the
// test on anything recorded.
func (h *frameHarness) waitAll() {
	deadline := time.After(5 * time.Second)
	for {
		h.mu.Lock()
		pending := 0
		for _, r := range h.reqs {
			if r.done == 0 {
				pending++
			}
		}
		errs := h.errs
		h.mu.Unlock()
		if len(errs) > 0 {
			h.t.Fatal(errs)
		}
		if pending == 0 {
			return
		}
		select {
		case <-h.doneC:
		case <-deadline:
			h.t.Fatalf("%d requests never completed", pending)
		}
	}
}
