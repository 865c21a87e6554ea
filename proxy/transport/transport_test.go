package transport

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/ttheader"
)

// echoHandler writes every frame back on the connection it came from.
type echoHandler struct {
	c      *Conn
	closed chan error
}

func (h *echoHandler) ServeFrame(frame []byte) { _ = h.c.WriteFrame(frame) }
func (h *echoHandler) Closed(reason error)     { h.closed <- reason }

func frameOf(t testing.TB, seq int32, payload int) []byte {
	b, err := ttheader.EncodeToBytes(context.Background(), ttheader.EncodeParam{SeqID: seq})
	if err != nil {
		panic(err)
	}
	b = append(b, make([]byte, payload)...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func startEcho(t *testing.T, network string) (*Listener, *Stats, chan error) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "l.sock")
	}
	stats := &Stats{}
	closed := make(chan error, 16)
	opts := Options{MaxFrameSize: 64 << 10, FrameTimeout: 200 * time.Millisecond, WriteTimeout: time.Second}
	l, err := Listen(network, addr, opts, stats, func(c *Conn) Handler { return &echoHandler{c: c, closed: closed} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, stats, closed
}

// dialEcho starts an echo listener and connects to it.
func dialEcho(t *testing.T, network string) (*Stats, net.Conn) {
	t.Helper()
	l, stats, _ := startEcho(t, network)
	c, err := net.Dial(network, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return stats, c
}

func TestEchoFramesBothNetworks(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			stats, c := dialEcho(t, network)
			// Small and large (zero-copy path) frames, the large one
			// written in two pieces with a pause between them.
			for i, size := range []int{16, 10 << 10} {
				f := frameOf(t, int32(i), size)
				half := len(f) / 2
				if _, err := c.Write(f[:half]); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // a split write, well inside FrameTimeout
				if _, err := c.Write(f[half:]); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(f))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatal(err)
				}
				if string(got) != string(f) {
					t.Fatalf("frame %d came back changed", i)
				}
			}
			// FramesOut counts after the flush, which the peer can see first.
			deadline := time.Now().Add(5 * time.Second)
			for stats.FramesOut.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if stats.FramesIn.Load() != 2 || stats.FramesOut.Load() != 2 {
				t.Errorf("frames in %d out %d, want 2 2", stats.FramesIn.Load(), stats.FramesOut.Load())
			}
		})
	}
}

func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	l, stats, closed := startEcho(t, "unix")
	good, err := net.Dial("unix", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()

	oversized := frameOf(t, 1, 0)
	binary.BigEndian.PutUint32(oversized, 1<<20)
	cases := []struct {
		name  string
		bytes []byte
		kind  ErrorKind
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), KindNotTTHeader},
		{"oversized", oversized, KindTooLarge},
		{"half-sent", frameOf(t, 1, 100)[:40], KindFrameTimeout},
	}
	for _, tc := range cases {
		bad, err := net.Dial("unix", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bad.Write(tc.bytes); err != nil {
			t.Fatal(err)
		}
		select {
		case reason := <-closed:
			if Kind(reason) != tc.kind {
				t.Errorf("%s: closed with %v (kind %s), want %s", tc.name, reason, Kind(reason), tc.kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: connection not closed", tc.name)
		}
		if n, err := bad.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("%s: peer read %d, %v; want EOF", tc.name, n, err)
		}
		bad.Close()
		if got := stats.ProtocolErrors[tc.kind].Load(); got != 1 {
			t.Errorf("%s: counter %s = %d, want 1", tc.name, tc.kind, got)
		}
	}
	// The good connection still works.
	f := frameOf(t, 9, 8)
	if _, err := good.Write(f); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(good, make([]byte, len(f))); err != nil {
		t.Fatalf("good connection broken: %v", err)
	}
}

func TestDialAndConcurrentWriters(t *testing.T) {
	l, _, _ := startEcho(t, "tcp")
	var mu sync.Mutex
	seen := map[int32]int{}
	got := make(chan struct{}, 1000)
	h := &collect{fn: func(frame []byte) {
		mu.Lock()
		seen[int32(binary.BigEndian.Uint32(frame[8:]))]++
		mu.Unlock()
		got <- struct{}{}
	}}
	c, err := Dial("tcp", l.Addr(), time.Second, Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second}, &Stats{}, func(*Conn) Handler { return h })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if err := c.WriteFrame(frameOf(t, int32(w*100+i), 64)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 1000; i++ {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of 1000 frames echoed", i)
		}
	}
	for seq := int32(0); seq < 1000; seq++ {
		if seen[seq] != 1 {
			t.Fatalf("seq %d seen %d times", seq, seen[seq])
		}
	}
}

type collect struct{ fn func([]byte) }

func (h *collect) ServeFrame(frame []byte) { h.fn(frame) }
func (h *collect) Closed(error)            {}

func TestListenRefusesLiveSocketAndReplacesStale(t *testing.T) {
	l, _, _ := startEcho(t, "unix")
	if _, err := Listen("unix", l.Addr(), Options{}, &Stats{}, nil); err == nil {
		t.Fatal("second listener on a live socket succeeded")
	}
	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	l2, err := Listen("unix", stale, Options{MaxFrameSize: 1024}, &Stats{}, nil)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
}
