package mocksidecar

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/internal/rawpoll"
)

// loopPairs opens n lean streams served by a loop of their own, which
// the test drives (round) instead of a goroutine, and returns the
// pilots' ends of their connections.
func loopPairs(t *testing.T, n int) (*leanLoop, []*leanStream, []net.Conn) {
	t.Helper()
	lp, err := newLeanLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lp.ep.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var streams []*leanStream
	var peers []net.Conn
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		p, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		ls, err := newLeanStream(context.Background(), c, headerBlock("pilot", ""), lp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ls.Close)
		t.Cleanup(func() { _ = p.Close() })
		// Out of the runtime's poller: the loop's epoll instance is the
		// only one the socket wakes.
		if eps, err := rawpoll.Watchers(ls.fd); err != nil || len(eps) != 1 || eps[0] != lp.ep.FD {
			t.Fatalf("epoll instances watching a loop's socket: %v (%v), want only the loop's (%d)", eps, err, lp.ep.FD)
		}
		streams, peers = append(streams, ls), append(peers, p)
	}
	return lp, streams, peers
}

// drive runs the loop's rounds until cond holds (10 s at most).
func drive(t *testing.T, lp *leanLoop, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("the loop did not get there within 10s")
		}
		lp.round(0)
	}
}

// inQueue is how many bytes wait in ls's socket.
func inQueue(t *testing.T, ls *leanStream) int {
	t.Helper()
	n, err := unix.IoctlGetInt(ls.fd, unix.SIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// readPingAck reads the client's frames on peer until a PING ACK, and
// returns its data.
func readPingAck(t *testing.T, peer net.Conn) [8]byte {
	t.Helper()
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(peer, preface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nil, peer)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
			return p.Data
		}
	}
}

// TestLeanLoopAnswersInOneSubmission: PINGs to many streams, all ready
// at once, are read with one submission and answered with one.
func TestLeanLoopAnswersInOneSubmission(t *testing.T) {
	const n = 40
	lp, streams, peers := loopPairs(t, n)
	if lp.ring == nil {
		t.Skip("no io_uring here (or OCTOMESH_IO_URING=off)")
	}
	for i, p := range peers {
		var b bytes.Buffer
		_ = http2.NewFramer(&b, nil).WritePing(false, [8]byte{byte(i), 7})
		if _, err := p.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	// Every stream's PING has arrived: one round takes them all.
	for deadline := time.Now().Add(10 * time.Second); ; {
		all := true
		for _, ls := range streams {
			all = all && inQueue(t, ls) == 17
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the PINGs did not arrive within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	lp.round(0)
	if r, s, sent := lp.recvSubmits.Load(), lp.sendSubmits.Load(), lp.sent.Load(); r != 1 || s != 1 || sent != n {
		t.Fatalf("%d receive submissions, %d send submissions for %d streams; want 1, 1 for %d", r, s, sent, n)
	}
	for i, p := range peers {
		if d := readPingAck(t, p); d != [8]byte{byte(i), 7} {
			t.Fatalf("stream %d: PING ACK %v", i, d)
		}
	}
}

// pilotFrames is a pilot's answer on a stream, as bytes: SETTINGS, the
// response headers (split into HEADERS and CONTINUATION), one DATA frame
// holding resp, and trailers with grpc-status 0.
func pilotFrames(t *testing.T, resp *discovery.DeltaDiscoveryResponse) []byte {
	t.Helper()
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	_ = enc.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	block := hb.Bytes()
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: block[:3]})
	_ = fr.WriteContinuation(streamID, true, block[3:])
	msg, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	data := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	_ = fr.WriteData(streamID, false, append(data, msg...))
	hb.Reset()
	_ = enc.WriteField(hpack.HeaderField{Name: "grpc-status", Value: "0"})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	return b.Bytes()
}

// TestLeanLoopFramesAcrossReads: a pilot's frames cut at every kind of
// place (inside a frame header, inside a header block between HEADERS
// and CONTINUATION, inside a message) reach the stream whole, in order.
func TestLeanLoopFramesAcrossReads(t *testing.T) {
	lp, streams, peers := loopPairs(t, 1)
	ls, peer := streams[0], peers[0]
	want := &discovery.DeltaDiscoveryResponse{TypeUrl: typeURLs[tEndpoint], Nonce: "n1", SystemVersionInfo: strings.Repeat("v", 300)}
	all := pilotFrames(t, want)
	settings := 9
	headers := settings + 9 + 3 // HEADERS with 3 bytes of the block
	cuts := []int{4, settings + 5, headers, headers + 4, headers + 14, len(all) - 200, len(all) - 3, len(all)}
	from := 0
	for _, c := range cuts {
		if _, err := peer.Write(all[from:c]); err != nil {
			t.Fatal(err)
		}
		from = c
		drive(t, lp, func() bool {
			ls.rmu.Lock()
			defer ls.rmu.Unlock()
			return ls.readBytes == int64(c)
		})
		ls.rmu.Lock()
		got, pending := len(ls.queue), len(ls.pending)
		ls.rmu.Unlock()
		if c < len(all)-3 && got != 0 {
			t.Fatalf("after %d of %d bytes: a response before its message is whole", c, len(all))
		}
		if c < len(all) && pending == 0 {
			// Each cut above is inside a frame or a header block.
			t.Fatalf("after %d of %d bytes: nothing kept of the frame still arriving", c, len(all))
		}
	}
	r, err := ls.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(r, want) {
		t.Fatalf("got %v, want %v", r, want)
	}
	if _, err := ls.Recv(); err != io.EOF {
		t.Fatalf("after the trailers: %v, want io.EOF", err)
	}
}

// TestLeanLoopEOFInsideFrame: a connection that ends inside a frame ends
// the stream as Recv's framer would: Unavailable, unexpected EOF.
func TestLeanLoopEOFInsideFrame(t *testing.T) {
	lp, streams, peers := loopPairs(t, 1)
	all := pilotFrames(t, &discovery.DeltaDiscoveryResponse{Nonce: "n1", SystemVersionInfo: strings.Repeat("v", 300)})
	if _, err := peers[0].Write(all[:len(all)-100]); err != nil { // inside the DATA frame
		t.Fatal(err)
	}
	_ = peers[0].Close()
	drive(t, lp, func() bool { return streams[0].ended() != nil })
	_, err := streams[0].Recv()
	if grpcstatus.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("got %v, want Unavailable: ... unexpected EOF", err)
	}
}

func TestFrameUnit(t *testing.T) {
	frame := func(typ http2.FrameType, flags http2.Flags, n int) []byte {
		return append(appendFrameHeader(nil, n, typ, flags, 1), make([]byte, n)...)
	}
	data := frame(http2.FrameData, 0, 10)
	hdrOpen := frame(http2.FrameHeaders, 0, 4)
	cont := frame(http2.FrameContinuation, 0, 3)
	contEnd := frame(http2.FrameContinuation, http2.FlagContinuationEndHeaders, 2)
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, c := range []struct {
		name string
		b    []byte
		want int
	}{
		{"empty", nil, 0},
		{"part of a header", data[:5], 0},
		{"header only", data[:9], 0},
		{"part of a payload", data[:15], 0},
		{"whole", data, 19},
		{"whole and more", cat(data, data[:3]), 19},
		{"headers ending their block", frame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 4), 13},
		{"headers without their continuation", hdrOpen, 0},
		{"headers, continuation, not the end", cat(hdrOpen, cont), 0},
		{"headers, continuations to the end", cat(hdrOpen, cont, contEnd, data), 13 + 12 + 11},
		{"headers then another kind (the framer's error)", cat(hdrOpen, data), 13 + 19},
		{"a lone continuation", cont, 12},
	} {
		if got := frameUnit(c.b); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// TestLeanLoopPaddedAndPlainData: a padded DATA frame (read by the
// framer) and a plain one (read without it) both bring their responses,
// in order.
func TestLeanLoopPaddedAndPlainData(t *testing.T) {
	lp, streams, peers := loopPairs(t, 1)
	ls, peer := streams[0], peers[0]
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	_ = hpack.NewEncoder(&hb).WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: hb.Bytes(), EndHeaders: true})
	var want []*discovery.DeltaDiscoveryResponse
	for i, padded := range []bool{true, false} {
		r := &discovery.DeltaDiscoveryResponse{TypeUrl: typeURLs[tEndpoint], Nonce: fmt.Sprint("n", i)}
		msg, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		data := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))), msg...)
		if padded {
			_ = fr.WriteDataPadded(streamID, false, data, make([]byte, 5))
		} else {
			_ = fr.WriteData(streamID, false, data)
		}
		want = append(want, r)
	}
	if _, err := peer.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	drive(t, lp, func() bool {
		ls.rmu.Lock()
		defer ls.rmu.Unlock()
		return len(ls.queue) == 2
	})
	for i, w := range want {
		r, err := ls.Recv()
		if err != nil || !proto.Equal(r, w) {
			t.Fatalf("response %d: got %v (%v), want %v", i, r, err, w)
		}
	}
}
