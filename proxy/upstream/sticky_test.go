package upstream

import (
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/transport"
)

// connPeer is a Unix-socket endpoint that tells the test on which of its
// connections (in the order accepted) each frame arrived.
type connPeer struct {
	addr   string
	frames chan connFrame
}

type connFrame struct {
	conn  int
	c     net.Conn
	frame []byte
}

func newConnPeer(t *testing.T, addr string) *connPeer {
	p := &connPeer{addr: addr, frames: make(chan connFrame, 100)}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
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
					p.frames <- connFrame{conn: i, c: c, frame: f}
				}
			}()
		}
	}()
	return p
}

func (p *connPeer) next(t *testing.T) connFrame {
	t.Helper()
	select {
	case f := <-p.frames:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame reached the endpoint in 5s")
		return connFrame{}
	}
}

// forwarder is a transport handler that forwards every frame it gets to
// the cluster from the poller's batch, as the sidecar's downstream does.
type forwarder struct {
	t    *testing.T
	c    *Cluster
	down Downstream
}

func (f *forwarder) ServeFrame(frame []byte) {
	h := new(codec.Header)
	if err := h.Decode(frame); err != nil {
		f.t.Error(err)
		return
	}
	if !f.c.TryForward(&Request{Frame: frame, Header: h, Down: f.down, Timeout: 5 * time.Second}) {
		f.t.Error("TryForward handed a request back with the endpoint's connections open")
	}
}
func (f *forwarder) Closed(error) {}

// TestABatchsRequestsShareAConnection: requests that one poller batch
// forwards to an endpoint go out on one of its connections (the first
// picked, while within stickySlack of the least loaded), so that they
// leave in one write and the peer reads them with one wake-up, instead of
// alternating between the connections.
func TestABatchsRequestsShareAConnection(t *testing.T) {
	dir := shortDir(t)
	p := newConnPeer(t, filepath.Join(dir, "p.sock"))
	c, _ := newTestClusterWith(t, func(cfg *ClusterConfig) {
		cfg.ConnsPerEndpoint, cfg.MaxRequestsPerConn = 2, 64
		cfg.Transport.CoalesceWrites = true
	}, p.addr)
	rec := newRecorder()

	// Two requests open both connections (the second pick fills the
	// empty slot); their answers leave nothing in flight.
	for seq := int32(1); seq <= 2; seq++ {
		forward(t, c, rec, seq, 5*time.Second)
		f := p.next(t)
		replyTo(t, f.c, f.frame)
		rec.wait(t)
	}
	ep := c.state.Load().endpoints[0]
	deadline := time.Now().Add(5 * time.Second)
	for ep.conns[1].Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the endpoint's second connection did not open in 5s")
		}
		time.Sleep(time.Millisecond)
	}

	l, err := transport.Listen("unix", filepath.Join(dir, "in.sock"),
		transport.Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second},
		&transport.Stats{}, func(*transport.Conn) transport.Handler { return &forwarder{t: t, c: c, down: rec} })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	in, err := net.Dial("unix", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	const n = 4 // within stickySlack
	var batch []byte
	for seq := int32(10); seq < 10+n; seq++ {
		batch = append(batch, call(seq)...)
	}
	if _, err := in.Write(batch); err != nil { // one write: one read, one batch
		t.Fatal(err)
	}
	per := map[int]int{}
	for range n {
		f := p.next(t)
		per[f.conn]++
		replyTo(t, f.c, f.frame)
	}
	for range n {
		rec.wait(t)
	}
	if len(per) != 1 {
		t.Fatalf("the batch's %d requests went out on %d connections (%v), want one", n, len(per), per)
	}
}
