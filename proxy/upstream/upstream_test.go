package upstream

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/lb"
	"github.com/octomesh/octomesh/proxy/transport"
)

// recorder is a Downstream that records completions.
type recorder struct {
	mu       sync.Mutex
	replies  []int32 // TTHeader seqIDs of responses
	failures []Failure
	done     chan struct{}
}

func newRecorder() *recorder { return &recorder{done: make(chan struct{}, 100)} }

func (r *recorder) Respond(frame []byte, _ *codec.Header) {
	r.mu.Lock()
	r.replies = append(r.replies, int32(binary.BigEndian.Uint32(frame[8:])))
	r.mu.Unlock()
	r.done <- struct{}{}
}

func (r *recorder) Fail(_ Origin, f Failure) {
	r.mu.Lock()
	r.failures = append(r.failures, f)
	r.mu.Unlock()
	r.done <- struct{}{}
}

func (r *recorder) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("request not completed")
	}
}

// peer is a Unix-socket endpoint that hands each received frame to the
// test, which answers (or not) through reply.
type peer struct {
	addr   string
	frames chan []byte
	conns  chan net.Conn
}

func newPeer(t *testing.T, dir, name string) *peer {
	p := &peer{addr: filepath.Join(dir, name), frames: make(chan []byte, 100), conns: make(chan net.Conn, 10)}
	ln, err := net.Listen("unix", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns <- c
			go func() {
				for {
					hdr := make([]byte, 4)
					if _, err := io.ReadFull(c, hdr); err != nil {
						return
					}
					f := make([]byte, 4+binary.BigEndian.Uint32(hdr))
					copy(f, hdr)
					if _, err := io.ReadFull(c, f[4:]); err != nil {
						return
					}
					p.frames <- f
				}
			}()
		}
	}()
	return p
}

// replyTo answers frame the way a Kitex server does: same frame, seqID
// from the payload.
func replyTo(t *testing.T, c net.Conn, frame []byte) {
	var h codec.Header
	if err := h.Decode(frame); err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(frame[8:], uint32(h.PayloadSeqID))
	frame[h.PayloadStart()+3] = codec.MessageReply
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
}

func call(seq int32) []byte {
	b, start, _ := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: seq})
	b = thrift.Binary.AppendMessageBegin(b, "M", thrift.CALL, seq)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	return b
}

func forward(t *testing.T, c *Cluster, down Downstream, seq int32, timeout time.Duration) {
	t.Helper()
	f := call(seq)
	var h codec.Header
	if err := h.Decode(f); err != nil {
		t.Fatal(err)
	}
	c.Forward(&Request{Frame: f, Header: &h, Down: down, Timeout: timeout})
}

func newTestCluster(t *testing.T, eps ...string) (*Cluster, *Stats) {
	t.Helper()
	return newTestClusterWith(t, func(*ClusterConfig) {}, eps...)
}

// newTestClusterWith is newTestCluster with its configuration changed by
// set first.
func newTestClusterWith(t *testing.T, set func(*ClusterConfig), eps ...string) (*Cluster, *Stats) {
	t.Helper()
	bal, err := lb.Get("round_robin")
	if err != nil {
		t.Fatal(err)
	}
	stats := &Stats{}
	var cfgs []EndpointConfig
	for _, a := range eps {
		cfgs = append(cfgs, EndpointConfig{Network: "unix", Address: a, Weight: 1})
	}
	cfg := ClusterConfig{
		Name: "c", Balancer: bal, ConnsPerEndpoint: 1, MaxRequestsPerConn: 4, ConnectTimeout: time.Second,
		Transport: transport.Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second},
	}
	set(&cfg)
	c, err := NewCluster(cfg, cfgs, stats, &transport.Stats{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, stats
}

func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "up")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestLateResponseIsDroppedAndSlotReused(t *testing.T) {
	p := newPeer(t, shortDir(t), "p.sock")
	c, stats := newTestCluster(t, p.addr)
	rec := newRecorder()
	forward(t, c, rec, 41, 20*time.Millisecond)
	first := <-p.frames
	conn := <-p.conns
	time.Sleep(30 * time.Millisecond) // past the deadline
	c.Sweep()
	rec.wait(t)
	if len(rec.failures) != 1 || !errors.Is(rec.failures[0].Kind, ErrTimeout) {
		t.Fatalf("failures %+v", rec.failures)
	}
	// The slot is free again; a new request takes it with a new generation.
	forward(t, c, rec, 42, time.Second)
	second := <-p.frames
	if binary.BigEndian.Uint32(first[8:]) == binary.BigEndian.Uint32(second[8:]) {
		t.Fatal("reused slot sent the same seqID")
	}
	replyTo(t, conn, first) // late: must be dropped
	replyTo(t, conn, second)
	rec.wait(t)
	if len(rec.replies) != 1 || rec.replies[0] != 42 {
		t.Fatalf("replies %v, want only 42", rec.replies)
	}
	if stats.LateResponses.Load() != 1 || stats.Timeouts.Load() != 1 {
		t.Errorf("late %d timeouts %d", stats.LateResponses.Load(), stats.Timeouts.Load())
	}
	// The cluster's own count: the timed-out request, not the answered one.
	if c.Failures() != 1 || c.ErrorResponses() != 0 {
		t.Errorf("cluster failures %d, error responses %d; want 1, 0", c.Failures(), c.ErrorResponses())
	}
}

func TestFailoverPastDeadEndpoint(t *testing.T) {
	dir := shortDir(t)
	p := newPeer(t, dir, "live.sock")
	c, stats := newTestCluster(t, filepath.Join(dir, "dead.sock"), p.addr)
	rec := newRecorder()
	var conn net.Conn
	// Round robin picks the dead endpoint for every other request; each
	// must still reach the live one.
	for i := int32(1); i <= 4; i++ {
		forward(t, c, rec, i, time.Second)
		f := <-p.frames
		if conn == nil {
			conn = <-p.conns
		}
		replyTo(t, conn, f)
		rec.wait(t)
	}
	if len(rec.replies) != 4 || len(rec.failures) != 0 {
		t.Fatalf("replies %v failures %+v", rec.replies, rec.failures)
	}
	if stats.DialFails.Load() < 1 {
		t.Errorf("the dead endpoint was never dialled")
	}
}

func TestUnreachableWhenAllEndpointsDead(t *testing.T) {
	dir := shortDir(t)
	c, _ := newTestCluster(t, filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock"))
	rec := newRecorder()
	forward(t, c, rec, 1, time.Second)
	rec.wait(t)
	if len(rec.failures) != 1 || !errors.Is(rec.failures[0].Kind, ErrUnreachable) || rec.failures[0].Cause == nil {
		t.Fatalf("failures %+v", rec.failures)
	}
	msg := string(rec.failures[0].AppendMessage(nil))
	if want := "octomesh: upstream unreachable: cluster c endpoint " + dir; len(msg) < len(want) || msg[:len(want)] != want {
		t.Errorf("message %q", msg)
	}
}

func TestUpdateKeepsConnectionsAndDrainsRemoved(t *testing.T) {
	dir := shortDir(t)
	a, b := newPeer(t, dir, "a.sock"), newPeer(t, dir, "b.sock")
	c, stats := newTestCluster(t, a.addr)
	rec := newRecorder()
	forward(t, c, rec, 1, time.Second)
	inflight := <-a.frames
	connA := <-a.conns

	// Replace a by b while a request is in flight on a.
	if err := c.Update([]EndpointConfig{{Network: "unix", Address: b.addr, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	forward(t, c, rec, 2, time.Second)
	replyTo(t, <-b.conns, <-b.frames)
	rec.wait(t)
	c.Sweep()
	if stats.ConnsOpen.Load() != 2 {
		t.Fatalf("%d connections open; the draining endpoint must keep its own", stats.ConnsOpen.Load())
	}
	replyTo(t, connA, inflight) // the in-flight request still completes
	rec.wait(t)
	if len(rec.replies) != 2 {
		t.Fatalf("replies %v", rec.replies)
	}
	c.Sweep() // a has drained: closed now
	deadline := time.Now().Add(5 * time.Second)
	for stats.ConnsOpen.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the close callback runs on netpoll's goroutine
	}
	if n := stats.ConnsOpen.Load(); n != 1 {
		t.Fatalf("%d connections open after drain, want 1", n)
	}
	// Re-adding b keeps its connection: no new dial.
	dialed := stats.ConnsOpen.Load()
	if err := c.Update([]EndpointConfig{{Network: "unix", Address: b.addr, Weight: 2}}); err != nil {
		t.Fatal(err)
	}
	if stats.ConnsOpen.Load() != dialed {
		t.Errorf("update of a kept endpoint changed connections")
	}
	if err := c.Update([]EndpointConfig{{Network: "unix", Address: b.addr}, {Network: "unix", Address: b.addr}}); err == nil {
		t.Error("duplicate endpoints accepted")
	}
}

func TestProxyRestartMovesNewRequestsAndDrainsTheOldConnection(t *testing.T) {
	p := newPeer(t, shortDir(t), "p.sock")
	c, stats := newTestCluster(t, p.addr)
	rec := newRecorder()
	forward(t, c, rec, 1, 5*time.Second)
	inflight := <-p.frames
	old := <-p.conns

	// The peer is being replaced: it tells us, with request 1 in flight.
	if _, err := old.Write(codec.AppendControlFrame(nil, codec.ControlProxyRestart)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for stats.ProxyRestarts.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if stats.ProxyRestarts.Load() != 1 {
		t.Fatal("ProxyRestart not seen")
	}
	forward(t, c, rec, 2, 5*time.Second)
	var fresh net.Conn
	select {
	case fresh = <-p.conns:
	case <-time.After(5 * time.Second):
		t.Fatal("a request after ProxyRestart did not open a new connection")
	}
	replyTo(t, fresh, <-p.frames)
	rec.wait(t)
	replyTo(t, old, inflight) // the request in flight on the old one completes
	rec.wait(t)
	if len(rec.replies) != 2 || len(rec.failures) != 0 {
		t.Fatalf("replies %v failures %+v", rec.replies, rec.failures)
	}
	// With nothing left in flight, the old connection is closed.
	old.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := old.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("old connection still open after draining: %v", err)
	}
}

// TestTryForwardNeverDials: on the poller, a request whose pick has no
// connection yet is handed back (the dial starts in the background) with
// the pick recorded; Forward then sends it to that endpoint, though round
// robin's turn has moved on. Once every endpoint is connected, TryForward
// sends at once.
func TestTryForwardNeverDials(t *testing.T) {
	dir := shortDir(t)
	peers := map[string]*peer{}
	for _, name := range []string{"p1.sock", "p2.sock"} {
		p := newPeer(t, dir, name)
		peers[p.addr] = p
	}
	c, stats := newTestCluster(t, filepath.Join(dir, "p1.sock"), filepath.Join(dir, "p2.sock"))
	rec := newRecorder()
	request := func(seq int32) *Request {
		f := call(seq)
		h := new(codec.Header)
		if err := h.Decode(f); err != nil {
			t.Fatal(err)
		}
		return &Request{Frame: f, Header: h, Down: rec, Timeout: time.Second}
	}
	for seq := int32(1); seq <= 2; seq++ { // each endpoint's first turn
		r := request(seq)
		if c.TryForward(r) {
			t.Fatalf("request %d: TryForward sent to an endpoint without a connection", seq)
		}
		if r.Picked == nil {
			t.Fatalf("request %d: TryForward did not record its pick", seq)
		}
		c.Forward(r)
		select {
		case <-peers[r.Picked.address].frames:
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d did not reach the endpoint TryForward picked (%s)", seq, r.Picked.address)
		}
	}
	if n := stats.Requests.Load(); n != 2 {
		t.Fatalf("requests counted: %d, want 2 (each once)", n)
	}
	for seq := int32(3); seq < 7; seq++ {
		if !c.TryForward(request(seq)) {
			t.Fatalf("request %d: TryForward handed back with every endpoint connected", seq)
		}
	}
}

// TestUpdateWithNothingChangedKeepsTheBalancer: the control plane resends
// a cluster unchanged (a registration rewritten with a new lease); the
// round robin must go on where it was, not start again at the first
// endpoint.
func TestUpdateWithNothingChangedKeepsTheBalancer(t *testing.T) {
	dir := shortDir(t)
	a, b := newPeer(t, dir, "a.sock"), newPeer(t, dir, "b.sock")
	c, _ := newTestCluster(t, a.addr, b.addr)
	same := func(meta string) []EndpointConfig {
		return []EndpointConfig{
			{Network: "unix", Address: a.addr, Weight: 1, Metadata: map[string]string{"v": meta}},
			{Network: "unix", Address: b.addr, Weight: 1},
		}
	}
	if err := c.Update(same("1")); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	got := map[*peer]int{}
	for seq := int32(1); seq <= 4; seq++ {
		forward(t, c, rec, seq, time.Second)
		select {
		case <-a.frames:
			got[a]++
		case <-b.frames:
			got[b]++
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d reached no endpoint", seq)
		}
		before := c.state.Load()
		if err := c.Update(same("1")); err != nil {
			t.Fatal(err)
		}
		if c.state.Load() != before {
			t.Fatal("an update that changed nothing rebuilt the cluster's state")
		}
	}
	if got[a] != 2 || got[b] != 2 {
		t.Fatalf("round robin over 2 endpoints with unchanged updates between requests: a %d, b %d", got[a], got[b])
	}
	before := c.state.Load()
	if err := c.Update(same("2")); err != nil {
		t.Fatal(err)
	}
	if c.state.Load() == before {
		t.Fatal("changed metadata did not rebuild the balancer")
	}
}

// An endpoint the scanners marked down (Unhealthy) gets no request while
// another is healthy; when every endpoint is marked, they are all used
// (panic mode) rather than none.
func TestUnhealthyEndpointIsPassedOver(t *testing.T) {
	dir := shortDir(t)
	a, b := newPeer(t, dir, "a.sock"), newPeer(t, dir, "b.sock")
	rec := newRecorder()
	var c *Cluster
	send := func(down ...bool) map[*peer]int {
		// A cluster of its own each time: the peers do not answer, so a
		// connection's request slots (4) fill up.
		c, _ = newTestCluster(t, a.addr, b.addr)
		eps := []EndpointConfig{
			{Network: "unix", Address: a.addr, Weight: 1, Unhealthy: down[0]},
			{Network: "unix", Address: b.addr, Weight: 1, Unhealthy: down[1]},
		}
		if err := c.Update(eps); err != nil {
			t.Fatal(err)
		}
		got := map[*peer]int{}
		for seq := int32(1); seq <= 4; seq++ {
			forward(t, c, rec, seq, time.Second)
			select {
			case <-a.frames:
				got[a]++
			case <-b.frames:
				got[b]++
			case <-time.After(5 * time.Second):
				t.Fatalf("request %d reached no endpoint", seq)
			}
		}
		return got
	}
	if got := send(true, false); got[a] != 0 || got[b] != 4 {
		t.Fatalf("a marked down: a %d, b %d; want all on b", got[a], got[b])
	}
	if got := send(true, true); got[a] == 0 || got[b] == 0 {
		t.Fatalf("both marked down (panic mode): a %d, b %d; want both used", got[a], got[b])
	}
	if st := c.Endpoints(); !st[0].Unhealthy || !st[1].Unhealthy {
		t.Fatalf("status %+v: want both unhealthy", st)
	}
}
