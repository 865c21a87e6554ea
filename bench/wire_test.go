package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/gopkg/protocol/ttheader"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
)

// sockDir is a short temporary directory for Unix sockets.
func sockDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "omb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startServer serves the bench echo server on a Unix socket.
func startServer(t testing.TB) string {
	t.Helper()
	path := filepath.Join(sockDir(t), "app.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Name: "test"}
	s.Serve(ln)
	t.Cleanup(s.Close)
	return path
}

// The request is a TTHeader frame the reference decoder reads, carrying the
// Echo arguments as Kitex's generated code reads them.
func TestRequestIsKitexEcho(t *testing.T) {
	r := newRequest(100)
	r.set(7, 42)
	var h codec.Header
	if err := h.Decode(r.frame); err != nil {
		t.Fatal(err)
	}
	if h.SeqID != 7 || h.PayloadSeqID != 7 || string(h.Service) != ServiceName || string(h.Method) != MethodName ||
		h.MessageType != codec.MessageCall {
		t.Fatalf("header %+v", h)
	}
	ref, err := ttheader.DecodeFromBytes(context.Background(), r.frame)
	if err != nil {
		t.Fatalf("reference TTHeader decoder: %v", err)
	}
	if ref.SeqID != 7 || ref.IntInfo[codec.IntKeyToService] != ServiceName || ref.IntInfo[codec.IntKeyToMethod] != MethodName ||
		ref.PayloadLen != len(r.frame)-h.PayloadStart() {
		t.Fatalf("reference decoder: %+v", ref)
	}
	var args echogen.EchoEchoArgs
	if _, err := args.FastRead(r.frame[h.PayloadStart()+12+len(MethodName):]); err != nil {
		t.Fatal(err)
	}
	if args.Req.Id != 42 || len(args.Req.Payload) != 100 {
		t.Fatalf("args %+v", args.Req)
	}
}

// The server answers as a Kitex server does: REPLY, same method, the
// payload seqID in both places, EchoEchoResult with the request's id and
// payload.
func TestServerReply(t *testing.T) {
	r := newRequest(64)
	r.set(9, 1234)
	// A client whose TTHeader seqID differs from the payload's: the answer
	// carries the payload's.
	binary.BigEndian.PutUint32(r.frame[8:], 555)
	var h codec.Header
	out, err := appendReply(nil, r.frame, &h, "srv")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Decode(out); err != nil {
		t.Fatal(err)
	}
	if h.SeqID != 9 || h.PayloadSeqID != 9 || h.MessageType != codec.MessageReply || string(h.PayloadMethod) != MethodName {
		t.Fatalf("reply header %+v", h)
	}
	var res echogen.EchoEchoResult
	if _, err := res.FastRead(out[h.PayloadStart()+12+len(MethodName):]); err != nil {
		t.Fatal(err)
	}
	if res.Success == nil || res.Success.Id != 1234 || !bytes.Equal(res.Success.Payload, r.frame[r.idAt+8+7:r.idAt+8+7+64]) || res.Success.Server != "srv" {
		t.Fatalf("result %+v", res.Success)
	}
	if seq, id, kind := checkReply(out, &h, 64); seq != 9 || id != 1234 || kind != "" {
		t.Fatalf("checkReply = %d, %d, %q", seq, id, kind)
	}
	if allocs := testing.AllocsPerRun(100, func() { out, _ = appendReply(out[:0], r.frame, &h, "srv") }); allocs != 0 {
		t.Errorf("appendReply allocates %.1f times per call", allocs)
	}
}

func TestServerRejects(t *testing.T) {
	var h codec.Header
	// Unknown method: a TApplicationException, not a closed connection.
	fh := codec.FrameHeader{SeqID: 3}
	b, start, _ := codec.BeginFrame(nil, &fh)
	b = thrift.Binary.AppendMessageBegin(b, "Nope", thrift.CALL, 3)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	out, err := appendReply(nil, b, &h, "srv")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, kind := checkReply(out, &h, 0); kind != errException {
		t.Fatalf("unknown method answered with %q", kind)
	}
	// Not TTHeader: an error, so the connection is closed.
	if _, err := appendReply(nil, []byte("GET / HTTP/1.1\r\n\r\n"), &h, "srv"); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestCheckReplyKinds(t *testing.T) {
	var h codec.Header
	r := newRequest(16)
	r.set(5, 50)
	good, _ := appendReply(nil, r.frame, &h, "srv")

	meshErr := func() []byte {
		fh := codec.FrameHeader{SeqID: 5, StrInfo: []codec.StrKV{{Key: codec.KeyError, Value: codec.ErrorTimeout}}}
		b, start, _ := codec.BeginFrame(nil, &fh)
		b = codec.AppendException(b, codec.PayloadThrift, []byte(MethodName), 5, codec.ExceptionInternalError, []byte("octomesh: timeout"))
		codec.EndFrame(b, start)
		return b
	}()
	seqMismatch := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(seqMismatch[8:], 6)
	for _, tc := range []struct {
		name    string
		frame   []byte
		payload int
		want    string
	}{
		{"good", good, 16, ""},
		{"short payload", good, 17, errBadPayload},
		{"mesh error", meshErr, 16, errMeshPrefix + codec.ErrorTimeout},
		{"seq mismatch", seqMismatch, 16, errSeqMismatch},
		{"garbage", []byte("\x00\x00\x00\x0aHTTP/1.1 200"), 16, errBadFrame},
		{"a request", r.frame, 16, errBadReply},
	} {
		if _, _, kind := checkReply(tc.frame, &h, tc.payload); kind != tc.want {
			t.Errorf("%s: kind %q, want %q", tc.name, kind, tc.want)
		}
	}
}

// A real Kitex client calls the bench server.
func TestKitexClientCallsBenchServer(t *testing.T) {
	path := startServer(t)
	cli, err := echo.NewClient(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for id := int64(1); id <= 3; id++ {
		res, err := cli.Echo(ctx, &echogen.EchoRequest{Id: id, Payload: []byte(strings.Repeat("x", int(id)*100))})
		if err != nil {
			t.Fatal(err)
		}
		if res.Id != id || len(res.Payload) != int(id)*100 || res.Server != "test" {
			t.Fatalf("response %d: id %d, %d bytes, server %q", id, res.Id, len(res.Payload), res.Server)
		}
	}
}

// The load generator drives a real Kitex echo server without errors.
func TestLoadAgainstKitexServer(t *testing.T) {
	path := filepath.Join(sockDir(t), "kitex.sock")
	svr, err := echo.NewServer(path, "kitex", nil)
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- svr.Run() }()
	if err := waitDial("unix", path, 10*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	res, err := RunLoad(context.Background(), LoadConfig{Target: "unix://" + path, Payload: 256, Callers: 4,
		Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond})
	// Kitex ignores a Stop before Run serves: it has served by now.
	if err := svr.Stop(); err != nil {
		t.Error(err)
	}
	if err := <-runErr; err != nil {
		t.Error(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Measured == 0 {
		t.Fatalf("errors %v, %d measured", res.ErrorKinds, res.Measured)
	}
}

func TestFrameReader(t *testing.T) {
	var stream []byte
	sizes := []int{0, 10, 70_000, 5}
	for i, n := range sizes {
		r := newRequest(n)
		r.set(int32(i+1), int64(i))
		stream = append(stream, r.frame...)
	}
	// One byte at a time, and a buffer smaller than the largest frame.
	fr := newFrameReader(&oneByteReader{b: stream}, 1024)
	for i, n := range sizes {
		f, err := fr.next()
		if err != nil {
			t.Fatal(err)
		}
		var h codec.Header
		if err := h.Decode(f); err != nil || h.SeqID != int32(i+1) || len(f) != len(newRequest(n).frame) {
			t.Fatalf("frame %d: seq %d, %d bytes, %v", i, h.SeqID, len(f), err)
		}
	}
	if _, err := fr.next(); err == nil {
		t.Fatal("no error at the end of the stream")
	}
	bad := newFrameReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}), 64)
	if _, err := bad.next(); err == nil {
		t.Fatal("a 4 GiB length was accepted")
	}
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, os.ErrClosed
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}
