package grpclite

import (
	"bytes"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawClient speaks HTTP/2 to h's server by hand: the preface, SETTINGS
// and, with stream, the HEADERS of a stream of the served method.
func rawClient(t *testing.T, h *harness, stream bool) (*http2.Framer, net.Conn) {
	t.Helper()
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nc, nc)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if stream {
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", testPath}, {":authority", "x"}, {"content-type", "application/grpc"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	return fr, nc
}

// readUntilEnd reads frames until the server ends the connection, and
// returns the GOAWAY among them (nil if none).
func readUntilEnd(t *testing.T, fr *http2.Framer) *http2.GoAwayFrame {
	t.Helper()
	var goAway *http2.GoAwayFrame
	for {
		f, err := fr.ReadFrame()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the server did not end the connection")
		}
		if err != nil {
			return goAway // EOF, or reset after the GOAWAY
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			copied := *g
			goAway = &copied
		}
	}
}

// TestPingFloodIsRefused: a client that pings again and again, with no
// data sent to it, gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" after
// gRPC-go's two strikes, and its connection ends.
func TestPingFloodIsRefused(t *testing.T) {
	h := startServer(t, Options{}, nil)
	fr, _ := rawClient(t, h, true)
	h.stream(0)
	for i := range maxPingStrikes + 2 {
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // the server may have ended it already
		}
	}
	g := readUntilEnd(t, fr)
	if g == nil || g.ErrCode != http2.ErrCodeEnhanceYourCalm || string(g.DebugData()) != "too_many_pings" {
		t.Fatalf("GOAWAY %+v, want ENHANCE_YOUR_CALM too_many_pings", g)
	}
}

// TestPingsAfterDataAreForgiven: pings that each follow data from the
// server (as gRPC-go's bandwidth estimate sends them) are answered.
func TestPingsAfterDataAreForgiven(t *testing.T) {
	h := startServer(t, Options{}, nil)
	fr, _ := rawClient(t, h, true)
	st := h.stream(0).st
	for i := range 2 * (maxPingStrikes + 2) {
		if err := st.Send([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		for acked := false; !acked; {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
			switch f := f.(type) {
			case *http2.PingFrame:
				acked = f.IsAck() && f.Data == [8]byte{byte(i)}
			case *http2.GoAwayFrame:
				t.Fatalf("ping %d: GOAWAY %v %q", i, f.ErrCode, f.DebugData())
			}
		}
	}
}

// TestPingsBeforeAStreamAreBounded: a client that pings without ever
// opening a stream cannot make the server keep its answers without end.
func TestPingsBeforeAStreamAreBounded(t *testing.T) {
	h := startServer(t, Options{}, nil)
	fr, nc := rawClient(t, h, false)
	// Sooner than the preface timeout (20 s), which would end it anyway.
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range maxEarlyPings + 1 {
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<10)
	for {
		if _, err := nc.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the connection was not ended")
			}
			return // ended
		}
	}
}
