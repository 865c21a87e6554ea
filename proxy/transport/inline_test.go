package transport

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// bigHandler answers every frame with a frame of size bytes.
type bigHandler struct {
	c      *Conn
	size   int
	closed chan error
}

func (h *bigHandler) ServeFrame([]byte) { _ = h.c.WriteFrame(frameOf(nil, 1, h.size)) }
func (h *bigHandler) Closed(reason error) {
	if h.closed != nil {
		h.closed <- reason
	}
}

// TestAPeerThatDoesNotReadHoldsUpNobodyElse: handlers run on the poller,
// so a write must never wait there. A caller that sends requests and never
// reads the (large) answers fills its socket; the rest queues, the other
// caller of the same listener is served meanwhile, and after WriteTimeout
// the reader-less connection is closed as a write failure.
func TestAPeerThatDoesNotReadHoldsUpNobodyElse(t *testing.T) {
	stats := &Stats{}
	closed := make(chan error, 4)
	o := Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: 300 * time.Millisecond}
	l, err := Listen("unix", filepath.Join(t.TempDir(), "l.sock"), o, stats, func(c *Conn) Handler {
		return &bigHandler{c: c, size: 256 << 10, closed: closed}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	deaf, err := net.Dial("unix", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()
	for i := 0; i < 16; i++ { // 4 MiB of answers: far more than a socket holds
		if _, err := deaf.Write(frameOf(t, int32(i), 0)); err != nil {
			t.Fatal(err)
		}
	}

	other, err := net.Dial("unix", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	answer := make([]byte, len(frameOf(t, 1, 256<<10)))
	for i := 0; i < 20; i++ {
		if _, err := other.Write(frameOf(t, int32(i), 0)); err != nil {
			t.Fatal(err)
		}
		_ = other.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(other, answer); err != nil {
			t.Fatalf("answer %d to the reading caller: %v", i, err)
		}
	}

	select {
	case reason := <-closed:
		if !errors.Is(reason, ErrWrite) {
			t.Fatalf("the deaf caller's connection closed with %v, want a write failure", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the deaf caller's connection is still open 5s after WriteTimeout (300ms)")
	}
	if n := stats.ProtocolErrors[KindWrite].Load(); n != 1 {
		t.Fatalf("write failures counted: %d, want 1", n)
	}
}

// TestFramesCutAnywhereArriveWhole: a stream of frames written in pieces
// of random sizes, so that frames and their 14-byte heads are cut at every
// kind of place, comes back byte for byte.
func TestFramesCutAnywhereArriveWhole(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			stats, c := dialEcho(t, network)
			rng := rand.New(rand.NewPCG(1, 2))
			var stream []byte
			const frames = 60
			for i := 0; i < frames; i++ {
				size := []int{0, 1, 13, 100, 4 << 10, 20 << 10}[i%6]
				stream = append(stream, frameOf(t, int32(i), size)...)
			}
			echoed := make(chan []byte, 1)
			go func() {
				got := make([]byte, len(stream))
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, _ := io.ReadFull(c, got)
				echoed <- got[:n]
			}()
			for rest := stream; len(rest) > 0; {
				n := min(1+rng.IntN(40), len(rest))
				if rng.IntN(8) == 0 {
					n = min(1+rng.IntN(6000), len(rest))
				}
				if _, err := c.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
				if rng.IntN(16) == 0 {
					time.Sleep(time.Millisecond) // let the sidecar see a cut, well inside FrameTimeout
				}
			}
			got := <-echoed
			if !bytes.Equal(got, stream) {
				t.Fatalf("echoed %d of %d bytes, first difference at %d", len(got), len(stream), firstDiff(got, stream))
			}
			if n := stats.FramesIn.Load(); n != frames {
				t.Fatalf("frames in: %d, want %d", n, frames)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
