package grpclite

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/octomesh/octomesh/internal/rawpoll"
	"github.com/octomesh/octomesh/internal/uring"
)

// connGoroutines counts the goroutines that read a connection of this
// package (a connection's own; not the loop).
func connGoroutines() int {
	buf := make([]byte, 8<<20)
	n := runtime.Stack(buf, true)
	count := 0
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "grpclite.(*conn).run(") || strings.Contains(g, "grpclite.(*Server).serveConn(") {
			count++
		}
	}
	return count
}

func waitLooped(t *testing.T) {
	t.Helper()
	waitFor(t, "every connection handed to the loop (no connection goroutine left)", func() bool { return connGoroutines() == 0 })
}

// TestLoopTakesIdleConnections: once its stream's first message was
// handled, a plain connection's goroutine exits (many connections, no
// goroutine each), and messages, pushes from the server and keepalive
// pings still flow through the loop.
func TestLoopTakesIdleConnections(t *testing.T) {
	if os.Getenv("OCTOMESH_IO_URING") == "off" && getLoop().ring != nil {
		t.Fatal("OCTOMESH_IO_URING=off, and the loop reads through io_uring")
	}
	const n = 40
	h := startServer(t, Options{KeepaliveTime: 150 * time.Millisecond, KeepaliveTimeout: 5 * time.Second}, nil)
	before := loopStats.handedOver.Load()
	css := make([]grpc.ClientStream, n)
	for i := range n {
		cc := dial(t, h.addr)
		css[i] = openStream(t, context.Background(), cc)
		roundTrip(t, css[i], []byte(fmt.Sprintf("first %d", i)))
	}
	waitLooped(t)
	if got := loopStats.handedOver.Load() - before; got < n {
		t.Fatalf("%d connections handed to the loop, want at least %d", got, n)
	}
	// Messages both ways, all at once (the loop serves many ready
	// sockets in one batch), and a push from the server.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			for j := range 20 {
				msg := bytes.Repeat([]byte{byte(i), byte(j)}, 1+j*500)
				if err := css[i].SendMsg(&msg); err != nil {
					errs <- err
					return
				}
				var got []byte
				if err := css[i].RecvMsg(&got); err != nil || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("connection %d message %d: %d bytes, %v", i, j, len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range n {
		if err := h.stream(i).st.Send([]byte("push")); err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := css[i].RecvMsg(&got); err != nil || string(got) != "push" {
			t.Fatalf("push to %d: %q, %v", i, got, err)
		}
	}
	if g := connGoroutines(); g != 0 {
		t.Errorf("%d connection goroutines after the messages, want 0", g)
	}
	// The keepalive sweep pings the idle connections; gRPC-go answers
	// through the loop, so they live on.
	time.Sleep(time.Second)
	for i := range n {
		roundTrip(t, css[i], []byte("still here"))
		if h.stream(i).closed.Load() {
			t.Fatalf("stream %d closed by keepalive", i)
		}
	}
	h.srv.Close()
	for i := range n {
		waitFor(t, fmt.Sprintf("stream %d Closed after the server's Close", i), h.stream(i).closed.Load)
	}
	waitFor(t, "no connection left", func() bool { return h.srv.Conns() == 0 })
}

// rawStream is a hand-written client (rawClient) of stream 1.
type rawStream struct {
	t   *testing.T
	fr  *http2.Framer
	nc  net.Conn
	enc *hpack.Encoder
	hb  bytes.Buffer
}

func newRawStream(t *testing.T, h *harness) *rawStream {
	r := &rawStream{t: t}
	r.fr, r.nc = rawClient(t, h, false)
	r.enc = hpack.NewEncoder(&r.hb)
	return r
}

// headers is a stream's request headers, encoded with the connection's
// HPACK state (indexed: the server's decoder must keep its table).
func (r *rawStream) headers(extra ...[2]string) []byte {
	r.hb.Reset()
	for _, f := range append([][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", testPath}, {":authority", "x"}, {"content-type", "application/grpc"}, {"x-pad", strings.Repeat("p", 200)}}, extra...) {
		_ = r.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return append([]byte(nil), r.hb.Bytes()...)
}

// message is one gRPC message's bytes.
func message(p []byte) []byte {
	b := make([]byte, 5+len(p))
	binary.BigEndian.PutUint32(b[1:], uint32(len(p)))
	copy(b[5:], p)
	return b
}

// write writes b in pieces of size bytes, with a pause between them, so
// that the server reads frames in parts.
func (r *rawStream) write(b []byte, size int) {
	r.t.Helper()
	for len(b) > 0 {
		k := min(size, len(b))
		if _, err := r.nc.Write(b[:k]); err != nil {
			r.t.Fatal(err)
		}
		b = b[k:]
		time.Sleep(time.Millisecond)
	}
}

// frames encodes what fn writes.
func frames(fn func(fr *http2.Framer)) []byte {
	var b bytes.Buffer
	fn(http2.NewFramer(&b, nil))
	return b.Bytes()
}

// expect reads frames until a message on stream id, and checks it.
func (r *rawStream) expect(id uint32, want []byte) {
	r.t.Helper()
	var got []byte
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			r.t.Fatalf("waiting for %q on stream %d: %v", want, id, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = r.fr.WriteSettingsAck()
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				r.t.Fatalf("data on stream %d, want %d", f.StreamID, id)
			}
			got = append(got, f.Data()...)
			if len(got) >= 5 && len(got) == 5+int(binary.BigEndian.Uint32(got[1:])) {
				if !bytes.Equal(got[5:], want) {
					r.t.Fatalf("stream %d: got %q, want %q", id, got[5:], want)
				}
				return
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			r.t.Fatalf("waiting for %q on stream %d: %v", want, id, f)
		}
	}
}

// TestLoopPartialFrames: frames that reach the loop in pieces (a DATA
// frame byte by byte, a message across frames, several frames in one
// read) are whole before they are handled; a new stream's HEADERS with
// CONTINUATION frames, split too, gives the connection back to a
// goroutine with the HPACK state kept, and the connection returns to the
// loop after that stream's first message.
func TestLoopPartialFrames(t *testing.T) {
	h := startServer(t, Options{}, nil)
	r := newRawStream(t, h)
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.headers(), EndHeaders: true})
		_ = fr.WriteData(1, false, message([]byte("first")))
	}), 1<<20)
	r.expect(1, []byte("first"))
	waitLooped(t)
	c := h.stream(0).st.c
	checkOnlyLoopWatches(t, c)
	over, back := loopStats.handedOver.Load(), loopStats.handedBack.Load()

	// One DATA frame, a byte at a time.
	r.write(frames(func(fr *http2.Framer) { _ = fr.WriteData(1, false, message([]byte("byte by byte"))) }), 1)
	r.expect(1, []byte("byte by byte"))
	// A message across three frames, in pieces of 7 bytes, and a PING
	// in between.
	m := message(bytes.Repeat([]byte("split"), 100))
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteData(1, false, m[:3])
		_ = fr.WritePing(false, [8]byte{1})
		_ = fr.WriteData(1, false, m[3:200])
		_ = fr.WriteData(1, false, m[200:])
	}), 7)
	r.expect(1, bytes.Repeat([]byte("split"), 100))
	// A padded DATA frame (the framer reads it; plain ones are read
	// without it), and a plain one after it in the same write.
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteDataPadded(1, false, message([]byte("padded")), []byte{0, 0, 0})
		_ = fr.WriteData(1, false, message([]byte("plain")))
	}), 1<<20)
	r.expect(1, []byte("padded"))
	r.expect(1, []byte("plain"))
	// Several messages in one write.
	r.write(frames(func(fr *http2.Framer) {
		for i := range 5 {
			_ = fr.WriteData(1, false, message([]byte(fmt.Sprint("many ", i))))
		}
	}), 1<<20)
	for i := range 5 {
		r.expect(1, []byte(fmt.Sprint("many ", i)))
	}
	if g := connGoroutines(); g != 0 {
		t.Fatalf("%d connection goroutines while the loop reads partial frames, want 0", g)
	}
	if b := loopStats.handedBack.Load(); b != back {
		t.Fatalf("handed back %d times without a new stream", b-back)
	}

	// A new stream: HEADERS and two CONTINUATIONs, in pieces of 5 bytes,
	// then its first message.
	hdr := r.headers([2]string{"x-second", strings.Repeat("s", 100)})
	k := len(hdr) / 3
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hdr[:k]})
		_ = fr.WriteContinuation(3, false, hdr[k:2*k])
		_ = fr.WriteContinuation(3, true, hdr[2*k:])
		_ = fr.WriteData(3, false, message([]byte("second stream")))
	}), 5)
	r.expect(3, []byte("second stream"))
	if loopStats.handedBack.Load() == back {
		t.Fatal("a new stream's HEADERS did not give the connection back to a goroutine")
	}
	waitLooped(t)
	if loopStats.handedOver.Load() == over {
		t.Fatal("the connection did not return to the loop after the new stream's first message")
	}
	checkOnlyLoopWatches(t, c)
	// Both streams still work.
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteData(1, false, message([]byte("one")))
	}), 3)
	r.expect(1, []byte("one"))
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteData(3, false, message([]byte("three")))
	}), 3)
	r.expect(3, []byte("three"))
}

// blocking is a Handler whose first message waits for release when the
// stream's metadata asks (x-slow).
type blocking struct {
	st      *Stream
	slow    bool
	release chan struct{}
	first   atomic.Bool
	closed  atomic.Bool
}

func (b *blocking) Message(p []byte) error {
	if b.first.CompareAndSwap(false, true) && b.slow {
		<-b.release
	}
	return b.st.Send(append([]byte(nil), p...))
}

func (b *blocking) Closed() { b.closed.Store(true) }

// TestLoopSlowFirstMessage: a looped connection's new stream whose first
// message keeps its handler waiting (as the pilot's admission may) is
// served by a goroutine of the connection's, not the loop: every other
// connection, looped, is answered meanwhile, and so is the waiting
// connection's first stream once the wait is over.
func TestLoopSlowFirstMessage(t *testing.T) {
	release := make(chan struct{})
	var opened sync.Map
	o := Options{Path: testPath, Open: func(st *Stream) (Handler, error) {
		md, _ := metadata.FromIncomingContext(st.Context())
		b := &blocking{st: st, slow: len(md.Get("x-slow")) > 0, release: release}
		opened.Store(st, b)
		return b, nil
	}}
	s := NewServer(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
		s.Close()
	})
	const n = 8
	css := make([]grpc.ClientStream, n)
	ccs := make([]*grpc.ClientConn, n)
	for i := range n {
		ccs[i] = dial(t, ln.Addr().String())
		css[i] = openStream(t, context.Background(), ccs[i])
		roundTrip(t, css[i], []byte("hello"))
	}
	waitLooped(t)
	// Connection 0's second stream is slow to admit.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-slow", "1")
	slow := openStream(t, ctx, ccs[0])
	msg := []byte("admit me")
	if err := slow.SendMsg(&msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slow stream's handler waiting on its own goroutine", func() bool {
		buf := make([]byte, 8<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "grpclite.(*blocking).Message(")
	})
	if g := connGoroutines(); g != 1 {
		t.Fatalf("%d connection goroutines while one stream waits, want 1", g)
	}
	// Every other connection is answered meanwhile.
	for i := 1; i < n; i++ {
		roundTrip(t, css[i], []byte("not stalled"))
	}
	close(release)
	released = true
	var got []byte
	if err := slow.RecvMsg(&got); err != nil || string(got) != "admit me" {
		t.Fatalf("the slow stream: %q, %v", got, err)
	}
	roundTrip(t, css[0], []byte("after"))
	waitLooped(t)
}

// TestLoopDropsSilentPeer: the keepalive sweep pings a looped
// connection's peer; one that never answers is dropped (shut down, the
// loop sees it, its stream is told) and its socket closed.
func TestLoopDropsSilentPeer(t *testing.T) {
	h := startServer(t, Options{KeepaliveTime: 100 * time.Millisecond, KeepaliveTimeout: 200 * time.Millisecond}, nil)
	r := newRawStream(t, h)
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.headers(), EndHeaders: true})
		_ = fr.WriteData(1, false, message([]byte("first")))
	}), 1<<20)
	r.expect(1, []byte("first"))
	hangUps := loopStats.hangUps.Load()
	// The raw client now reads (so that the server's writes go out) but
	// answers nothing.
	go func() { _, _ = io.Copy(io.Discard, r.nc) }()
	waitFor(t, "the silent peer's stream Closed", h.stream(0).closed.Load)
	waitFor(t, "the loop hung up", func() bool { return loopStats.hangUps.Load() > hangUps })
	waitFor(t, "no connection left", func() bool { return h.srv.Conns() == 0 })
}

// TestLoopCloseAndReuse: looped connections ended every way at once (the
// client closes, the server ends the stream, the server drops the
// connection, a write fails) while new connections are accepted (taking
// the numbers of the closed sockets) and served: nothing read or closed
// under another connection (run with -race), every handler told.
func TestLoopCloseAndReuse(t *testing.T) {
	h := startServer(t, Options{}, nil)
	const rounds, n = 4, 12
	for round := range rounds {
		h.mu.Lock()
		base := len(h.streams)
		h.mu.Unlock()
		ccs := make([]*grpc.ClientConn, n)
		css := make([]grpc.ClientStream, n)
		mine := make([]*echo, n)
		for i := range n {
			ccs[i] = dial(t, h.addr)
			css[i] = openStream(t, context.Background(), ccs[i])
			roundTrip(t, css[i], []byte("hello"))
			mine[i] = h.stream(base + i)
		}
		waitLooped(t)
		var wg sync.WaitGroup
		for i := range n {
			e := mine[i]
			wg.Go(func() {
				switch i % 4 {
				case 0:
					_ = ccs[i].Close()
				case 1:
					e.st.End(nil)
				case 2:
					e.st.c.drop()
				case 3:
					for range 50 { // sends racing the close
						_ = e.st.Send([]byte("x"))
					}
					_ = ccs[i].Close()
				}
			})
			// New connections meanwhile.
			wg.Go(func() {
				cc := dial(t, h.addr)
				cs := openStream(t, context.Background(), cc)
				msg := []byte(fmt.Sprint("new ", round, i))
				if err := cs.SendMsg(&msg); err != nil {
					t.Error(err)
					return
				}
				var got []byte
				if err := cs.RecvMsg(&got); err != nil || !bytes.Equal(got, msg) {
					t.Errorf("a new connection: %q, %v", got, err)
				}
				_ = cc.Close()
			})
		}
		wg.Wait()
		for i := range n {
			if i%4 == 1 {
				continue // ended by the server: the connection lives on
			}
			waitFor(t, fmt.Sprintf("round %d stream %d Closed", round, i), mine[i].closed.Load)
		}
		for i := range n {
			_ = ccs[i].Close()
		}
		h.mu.Lock()
		all := append([]*echo(nil), h.streams...)
		h.mu.Unlock()
		for k, e := range all {
			waitFor(t, fmt.Sprintf("stream %d Closed", k), e.closed.Load)
		}
		waitFor(t, "no connection left", func() bool { return h.srv.Conns() == 0 })
	}
}

// TestLoopWithoutURing runs the loop's tests again in a child process
// with OCTOMESH_IO_URING=off: reads with read(2).
func TestLoopWithoutURing(t *testing.T) {
	if os.Getenv("OCTOMESH_IO_URING") == "off" {
		t.Skip("in the child")
	}
	if r := uring.New(); r == nil {
		t.Log("io_uring is unavailable here: the parent ran read(2) already")
	} else {
		_ = r.Close()
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLoop(TakesIdleConnections|PartialFrames|CloseAndReuse)$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "OCTOMESH_IO_URING=off")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("the loop's tests with OCTOMESH_IO_URING=off: %v\n%s", err, out)
	}
}

// TestLoopSlowReader: a looped connection whose peer reads nothing while
// the server sends it more than the socket takes: the writes that do not
// fit wait on a goroutine of their own, so the loop keeps answering the
// other connections (and this one's pings, queued behind); once the peer
// reads, every byte arrives in order. One that reads nothing for the
// write timeout is dropped.
func TestLoopSlowReader(t *testing.T) {
	h := startServer(t, Options{WriteTimeout: 2 * time.Second}, nil)
	other := openStream(t, context.Background(), dial(t, h.addr))
	roundTrip(t, other, []byte("hello"))
	r := newRawStream(t, h)
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
		_ = fr.WriteWindowUpdate(0, 1<<30)
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.headers(), EndHeaders: true})
		_ = fr.WriteData(1, false, message([]byte("first")))
	}), 1<<20)
	r.expect(1, []byte("first"))
	waitLooped(t)
	e := h.stream(1)
	chunk := bytes.Repeat([]byte("z"), 64<<10)
	// Until the socket takes no more and a write waits for the peer (a
	// few MiB on loopback).
	buf := make([]byte, 8<<20)
	waiting := func() bool {
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "grpclite.(*conn).finishWrite(")
	}
	chunks := 0
	for ; chunks < 1000 && !waiting(); chunks++ {
		start := time.Now()
		if err := e.st.Send(chunk); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Send waited %v for a peer that reads nothing", d)
		}
	}
	if !waiting() {
		t.Fatalf("no write waits for the peer after %d MiB", chunks/16)
	}
	r.write(frames(func(fr *http2.Framer) { _ = fr.WritePing(false, [8]byte{9}) }), 1<<20)
	for range 20 {
		roundTrip(t, other, []byte("not stalled"))
	}
	// The peer reads now: every message whole and in order.
	got := 0
	for got < chunks {
		var m []byte
		for len(m) < 5+len(chunk) {
			f, err := r.fr.ReadFrame()
			if err != nil {
				t.Fatalf("after %d messages: %v", got, err)
			}
			if d, ok := f.(*http2.DataFrame); ok {
				m = append(m, d.Data()...)
			}
		}
		if len(m) != 5+len(chunk) || !bytes.Equal(m[5:], chunk) {
			t.Fatalf("message %d: %d bytes, or not the ones sent", got, len(m))
		}
		got++
	}
	// Now a peer that never reads: dropped after the write timeout, or
	// once more than MaxQueued waits behind the write.
	for range 1000 {
		if e.st.Send(chunk) != nil {
			break
		}
	}
	waitFor(t, "the peer that reads nothing dropped", e.closed.Load)
	roundTrip(t, other, []byte("still served"))
}

// TestLoopLongInputThenNewStream: more input than one turn reads (frames
// the server ignores, which no flow control bounds), arriving while the
// loop reads, and then new streams: the connection waits behind the
// others between turns, goes back to a goroutine at each HEADERS, and the
// loop does not read it after (run with -race).
func TestLoopLongInputThenNewStream(t *testing.T) {
	h := startServer(t, Options{}, nil)
	r := newRawStream(t, h)
	r.write(frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.headers(), EndHeaders: true})
		_ = fr.WriteData(1, false, message([]byte("first")))
	}), 1<<20)
	r.expect(1, []byte("first"))
	junk := frames(func(fr *http2.Framer) {
		for range 4 {
			_ = fr.WriteRawFrame(0xfa, 0, 0, bytes.Repeat([]byte{1}, 16000))
		}
	})
	for k := range 6 {
		waitLooped(t)
		id := uint32(3 + 2*k)
		done := make(chan error, 1)
		go func() {
			for range 16 { // 1 MB, in 64 KB writes
				if _, err := r.nc.Write(junk); err != nil {
					done <- err
					return
				}
			}
			_, err := r.nc.Write(frames(func(fr *http2.Framer) {
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.headers(), EndHeaders: true})
				_ = fr.WriteData(id, false, message([]byte(fmt.Sprint("stream ", id))))
			}))
			done <- err
		}()
		r.expect(id, []byte(fmt.Sprint("stream ", id)))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestPlainData: the loop reads without the framer only whole DATA
// frames without padding on a stream; the framer judges the rest.
func TestPlainData(t *testing.T) {
	frame := func(write func(fr *http2.Framer)) []byte { return frames(write) }
	plain := frame(func(fr *http2.Framer) { _ = fr.WriteData(1, true, []byte("abc")) })
	for name, c := range map[string]struct {
		b    []byte
		want bool
	}{
		"plain":       {plain, true},
		"empty":       {frame(func(fr *http2.Framer) { _ = fr.WriteData(3, false, nil) }), true},
		"padded":      {frame(func(fr *http2.Framer) { _ = fr.WriteDataPadded(1, false, []byte("abc"), []byte{0}) }), false},
		"stream 0":    {append(append([]byte{}, plain[:5]...), append([]byte{0x80, 0, 0, 0}, plain[9:]...)...), false},
		"cut short":   {plain[:len(plain)-1], false},
		"header only": {plain[:frameHeaderLen], false},
		"ping":        {frame(func(fr *http2.Framer) { _ = fr.WritePing(false, [8]byte{}) }), false},
	} {
		if got := plainData(c.b); got != c.want {
			t.Errorf("%s: plainData %v, want %v", name, got, c.want)
		}
	}
}

// checkOnlyLoopWatches fails unless the loop's epoll instance is the only
// one of the process that watches c's socket: the runtime's poller, which
// watched it while c had a goroutine, no longer does (rawpoll.Detach).
func checkOnlyLoopWatches(t *testing.T, c *conn) {
	t.Helper()
	c.mu.Lock()
	eps, err := rawpoll.Watchers(c.fd)
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if want := getLoop().ep.FD; len(eps) != 1 || eps[0] != want {
		t.Fatalf("epoll instances watching the looped socket: %v, want only the loop's (%d)", eps, want)
	}
}
