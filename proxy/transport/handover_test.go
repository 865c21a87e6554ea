package transport

import (
	"encoding/binary"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// tagHandler answers every frame with one byte: its tag.
type tagHandler struct {
	c   *Conn
	tag byte
}

func (h *tagHandler) ServeFrame([]byte) { _ = h.c.WriteFrame(frameOf(nil, int32(h.tag), 0)) }
func (h *tagHandler) Closed(error)      {}

func listenTagged(t *testing.T, tag byte, listen func(func(*Conn) Handler) (*Listener, error)) *Listener {
	t.Helper()
	l, err := listen(func(c *Conn) Handler { return &tagHandler{c: c, tag: tag} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// ask sends a frame on c and returns the tag of the listener that answered.
func ask(t *testing.T, c net.Conn) byte {
	t.Helper()
	if _, err := c.Write(frameOf(t, 1, 8)); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, len(frameOf(t, 0, 0)))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return resp[11] // low byte of the seqID
}

var opts = Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second}

func TestHandOverKeepsOldConnectionsAndMovesNewOnes(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "h.sock")
			}
			old := listenTagged(t, 1, func(h func(*Conn) Handler) (*Listener, error) { return Listen(network, addr, opts, &Stats{}, h) })
			before, err := net.Dial(network, old.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer before.Close()
			if ask(t, before) != 1 {
				t.Fatal("old listener did not answer")
			}

			f, err := old.File()
			if err != nil {
				t.Fatal(err)
			}
			next := listenTagged(t, 2, func(h func(*Conn) Handler) (*Listener, error) { return ListenFile(f, opts, &Stats{}, h) })
			f.Close()
			old.StopAccepting(true)

			for i := 0; i < 5; i++ {
				after, err := net.Dial(network, next.Addr())
				if err != nil {
					t.Fatal(err)
				}
				if got := ask(t, after); got != 2 {
					t.Fatalf("a new connection was served by listener %d, want the new one", got)
				}
				after.Close()
			}
			if ask(t, before) != 1 {
				t.Fatal("the old connection stopped being served")
			}
			old.Close() // closes its connections; the socket stays for next
			if c, err := net.Dial(network, next.Addr()); err != nil {
				t.Fatalf("after the old listener closed: %v", err)
			} else {
				c.Close()
			}
		})
	}
}

func TestStopAcceptingRefusesNewConnections(t *testing.T) {
	l := listenTagged(t, 1, func(h func(*Conn) Handler) (*Listener, error) {
		return Listen("unix", filepath.Join(t.TempDir(), "s.sock"), opts, &Stats{}, h)
	})
	kept, err := net.Dial("unix", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	ask(t, kept)
	l.StopAccepting(false)
	if c, err := net.Dial("unix", l.Addr()); err == nil {
		c.Close()
		t.Fatal("dial succeeded after StopAccepting")
	}
	if ask(t, kept) != 1 {
		t.Fatal("open connection dropped by StopAccepting")
	}
}

// TestAcceptedConnectionsDoNotLeakIntoChildren: a program started while a
// connection is open must not inherit it, or closing it here would not
// close it for the peer.
func TestAcceptedConnectionsDoNotLeakIntoChildren(t *testing.T) {
	l := listenTagged(t, 1, func(h func(*Conn) Handler) (*Listener, error) {
		return Listen("unix", filepath.Join(t.TempDir(), "c.sock"), opts, &Stats{}, h)
	})
	c, err := net.Dial("unix", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask(t, c) // accepted and served
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	l.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the listener closed the connection the peer read %v, want EOF (a child holds it?)", err)
	}
}

// TestCoalescedWritesArriveWholeAndInOrder: concurrent writers on a
// coalescing connection, fast enough to make it hot, with small (copied,
// combined) and large (zero-copy, flushed at once) frames mixed.
func TestCoalescedWritesArriveWholeAndInOrder(t *testing.T) {
	type seen struct {
		mu   sync.Mutex
		last map[int32]int32 // writer -> last sequence number
		n    int
	}
	got := &seen{last: map[int32]int32{}}
	done := make(chan struct{})
	headerLen := len(frameOf(t, 0, 0))
	const writers, perWriter = 8, 500
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		hdr := make([]byte, 4)
		for got.n < writers*perWriter {
			if _, err := io.ReadFull(c, hdr); err != nil {
				t.Errorf("after %d frames: %v", got.n, err)
				return
			}
			f := make([]byte, 4+binary.BigEndian.Uint32(hdr))
			copy(f, hdr)
			if _, err := io.ReadFull(c, f[4:]); err != nil {
				t.Error(err)
				return
			}
			seq := int32(binary.BigEndian.Uint32(f[8:]))
			w, i := seq/perWriter, seq%perWriter
			for _, b := range f[headerLen:] { // the whole body is filled with w
				if b != byte(w) {
					t.Errorf("frame %d of writer %d corrupted", i, w)
					return
				}
			}
			got.mu.Lock()
			if last, ok := got.last[w]; (ok && i != last+1) || (!ok && i != 0) {
				t.Errorf("writer %d: frame %d after %d", w, i, got.last[w])
			}
			got.last[w] = i
			got.n++
			got.mu.Unlock()
		}
		close(done)
	}()
	o := opts
	o.CoalesceWrites = true
	c, err := Dial("tcp", ln.Addr().String(), time.Second, o, &Stats{}, func(*Conn) Handler { return &collect{fn: func([]byte) {}} })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for w := int32(0); w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int32(0); i < perWriter; i++ {
				size := 64
				if i%50 == 7 {
					size = 8 << 10 // over the copy threshold
				}
				f := frameOf(t, w*perWriter+i, size)
				for k := len(f) - size; k < len(f); k++ {
					f[k] = byte(w)
				}
				if err := c.WriteFrame(f); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("only %d of %d frames arrived", got.n, writers*perWriter)
	}
}

// holdHandler keeps each frame while the test closes the connection from
// outside, then checks the frame is intact.
type holdHandler struct {
	in, closed chan struct{}
	want       []byte
	bad        chan string
	gone       chan error // the connection closed (Closed's reason)
}

func (h *holdHandler) ServeFrame(frame []byte) {
	h.in <- struct{}{}
	<-h.closed // the connection is closed while we hold the frame
	if string(frame) != string(h.want) {
		h.bad <- "frame changed under its handler after Close"
	}
}
func (h *holdHandler) Closed(reason error) { h.gone <- reason }

// TestCloseWhileAHandlerHoldsAFrame: closing a dialled connection from
// another goroutine (a failed write, a drained upstream connection) while
// its reader is inside ServeFrame must not free the frame, nor crash the
// reader's Release afterwards.
func TestCloseWhileAHandlerHoldsAFrame(t *testing.T) {
	l := listenTagged(t, 1, func(h func(*Conn) Handler) (*Listener, error) {
		return Listen("tcp", "127.0.0.1:0", opts, &Stats{}, h)
	})
	want := frameOf(t, 1, 0) // the tagged echo
	for i := 0; i < 50; i++ {
		h := &holdHandler{in: make(chan struct{}), closed: make(chan struct{}), want: want, bad: make(chan string, 1), gone: make(chan error, 1)}
		c, err := Dial("tcp", l.Addr(), time.Second, opts, &Stats{}, func(*Conn) Handler { return h })
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFrame(frameOf(t, 1, 8)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.in:
		case err := <-h.gone:
			t.Fatalf("iteration %d: the connection closed before the echo arrived: %v", i, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("iteration %d: no echo after 10s", i)
		}
		c.Close()
		close(h.closed)
		select {
		case msg := <-h.bad:
			t.Fatal(msg)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// closeInServe closes its connection from inside ServeFrame, as a drained
// upstream connection does after its last response, then dials another
// at once from a goroutine (as the endpoint does: Dial waits for the
// poller), which may reuse netpoll's freed state.
type closeInServe struct {
	c    *Conn
	addr string
	next chan *Conn
	done chan struct{}
}

func (h *closeInServe) ServeFrame([]byte) {
	h.c.Close()
	go func() {
		n, err := Dial("tcp", h.addr, time.Second, opts, &Stats{}, func(*Conn) Handler { return &collect{fn: func([]byte) {}} })
		if err == nil {
			h.next <- n
		}
	}()
}
func (h *closeInServe) Closed(error) { close(h.done) }

func TestCloseFromInsideServeFrame(t *testing.T) {
	l := listenTagged(t, 1, func(h func(*Conn) Handler) (*Listener, error) {
		return Listen("tcp", "127.0.0.1:0", opts, &Stats{}, h)
	})
	for i := 0; i < 200; i++ {
		h := &closeInServe{addr: l.Addr(), next: make(chan *Conn, 1), done: make(chan struct{})}
		c, err := Dial("tcp", l.Addr(), time.Second, opts, &Stats{}, func(c *Conn) Handler { h.c = c; return h })
		if err != nil {
			t.Fatal(err)
		}
		// Two frames back to back: the second may already be buffered
		// when the first one's handler closes.
		if err := c.WriteFrame(append(frameOf(t, 1, 8), frameOf(t, 2, 8)...)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Fatal("connection not closed")
		}
		select {
		case n := <-h.next:
			defer n.Close()
		case <-time.After(5 * time.Second):
		}
	}
}
