package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
)

// sockDir returns a short temporary directory for Unix sockets (the path
// limit is 107 bytes, and t.TempDir paths can be long).
func sockDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "om")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// request builds a TTHeader frame with a strict Thrift CALL whose body is
// one binary field holding body; seq is used for both seqIDs, as Kitex does.
func request(service, method string, seq int32, msgType thrift.TMessageType, body []byte, strInfo ...codec.StrKV) []byte {
	fh := codec.FrameHeader{SeqID: seq, StrInfo: strInfo}
	if service != "" {
		fh.IntInfo = []codec.IntKV{{Key: codec.IntKeyToService, Value: service}, {Key: codec.IntKeyToMethod, Value: method}}
	}
	b, start, _ := codec.BeginFrame(nil, &fh)
	b = thrift.Binary.AppendMessageBegin(b, method, msgType, seq)
	b = thrift.Binary.AppendFieldBegin(b, thrift.STRING, 1)
	b = thrift.Binary.AppendBinary(b, body)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	return b
}

// readFrame reads one frame into buf (grown if needed).
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	if _, err := io.ReadFull(r, buf[:4]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(buf)) + 4
	if n > cap(buf) {
		nb := make([]byte, n)
		copy(nb, buf[:4])
		buf = nb
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf[4:])
	return buf, err
}

// reply is what a caller gets back: the response decoded, or the mesh error.
type reply struct {
	seq, payloadSeq int32
	body            string // the echoed body, or the exception message
	meshError       string // om-error value, "" for a real reply
}

func parseReply(t testing.TB, frame []byte) reply {
	t.Helper()
	var h codec.Header
	if err := h.Decode(frame); err != nil {
		t.Fatalf("bad response frame: %v", err)
	}
	r := reply{seq: h.SeqID, payloadSeq: h.PayloadSeqID, meshError: string(h.StrInfo(frame, codec.KeyError))}
	p := frame[h.PayloadStart():]
	_, mt, _, n, err := thrift.Binary.ReadMessageBegin(p)
	if err != nil {
		t.Fatalf("bad response payload: %v", err)
	}
	if mt == thrift.EXCEPTION {
		var ex thrift.ApplicationException
		if _, err := ex.FastRead(p[n:]); err != nil {
			t.Fatal(err)
		}
		r.body = ex.Msg()
		return r
	}
	body, _, err := thrift.Binary.ReadBinary(p[n+3:])
	if err != nil {
		t.Fatal(err)
	}
	r.body = string(body)
	return r
}

// backend imitates a Kitex server on a Unix socket: it answers each call
// with a REPLY echoing the body, and puts the payload seqID in the TTHeader
// seqID as Kitex does. hold, when set, decides to delay or drop a request.
type backend struct {
	t      testing.TB
	bodies sync.Map // body -> calls with it
	ln     net.Listener
	addr   string
	calls  atomic.Int64
	hold   func(body []byte) (delay time.Duration, drop bool)
	// seen, when set, sees every call's header and frame.
	seen func(h *codec.Header, frame []byte)
	// meshError, when set, is the kind the backend answers every call
	// with, as a peer sidecar that could not forward it does.
	meshError atomic.Pointer[codec.ErrorKind]
	mu        sync.Mutex
	conns     []net.Conn
}

func newBackend(t testing.TB, dir string) *backend {
	t.Helper()
	return newBackendAt(t, filepath.Join(dir, "app.sock"))
}

// newBackendAt is a backend listening at path.
func newBackendAt(t testing.TB, path string) *backend {
	t.Helper()
	b := &backend{t: t, addr: path}
	ln, err := net.Listen("unix", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	b.ln = ln
	go b.accept()
	t.Cleanup(b.close)
	return b
}

func (b *backend) accept() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		go b.serve(c)
	}
}

func (b *backend) serve(c net.Conn) {
	var wmu sync.Mutex
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, 64<<10)
	var h codec.Header
	for {
		frame, err := readFrame(c, buf)
		if err != nil {
			return
		}
		if err := h.Decode(frame); err != nil {
			b.t.Errorf("backend got a bad frame: %v", err)
			return
		}
		if string(h.Method) == appPingMethod { // the app check: answer as Kitex does, without counting it
			fh := codec.FrameHeader{SeqID: h.SeqID}
			o, start, _ := codec.BeginFrame(out[:0], &fh)
			o = codec.AppendException(o, h.Payload, h.Method, h.PayloadSeqID, codec.ExceptionUnknown, []byte("unknown method"))
			codec.EndFrame(o, start)
			wmu.Lock()
			_, _ = c.Write(o)
			wmu.Unlock()
			continue
		}
		b.calls.Add(1)
		if b.seen != nil {
			b.seen(&h, frame)
		}
		if h.MessageType == codec.MessageOneway {
			continue
		}
		if k := b.meshError.Load(); k != nil {
			fh := codec.FrameHeader{SeqID: h.SeqID, StrInfo: []codec.StrKV{{Key: codec.KeyError, Value: k.String()}}}
			o, start, _ := codec.BeginFrame(out[:0], &fh)
			o = codec.AppendException(o, h.Payload, nil, h.PayloadSeqID, codec.ExceptionKind(*k), []byte("octomesh: "+k.String()+" (test backend)"))
			codec.EndFrame(o, start)
			wmu.Lock()
			_, _ = c.Write(o)
			wmu.Unlock()
			continue
		}
		p := frame[h.PayloadStart():]
		_, _, _, n, _ := thrift.Binary.ReadMessageBegin(p)
		body, _, _ := thrift.Binary.ReadBinary(p[n+3:])
		v, _ := b.bodies.LoadOrStore(string(body), new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		respond := func(out []byte, body []byte, seq int32, method string) []byte {
			fh := codec.FrameHeader{SeqID: seq}
			o, start, _ := codec.BeginFrame(out[:0], &fh)
			o = thrift.Binary.AppendMessageBegin(o, method, thrift.REPLY, seq)
			o = thrift.Binary.AppendFieldBegin(o, thrift.STRING, 0)
			o = thrift.Binary.AppendBinary(o, body)
			o = thrift.Binary.AppendFieldStop(o)
			codec.EndFrame(o, start)
			wmu.Lock()
			_, _ = c.Write(o)
			wmu.Unlock()
			return o
		}
		if b.hold != nil {
			if delay, drop := b.hold(body); drop {
				continue
			} else if delay > 0 {
				body := append([]byte(nil), body...)
				seq, method := h.PayloadSeqID, string(h.PayloadMethod)
				time.AfterFunc(delay, func() { respond(nil, body, seq, method) })
				continue
			}
		}
		out = respond(out, body, h.PayloadSeqID, string(h.PayloadMethod))
	}
}

// dropConns closes every connection the backend accepted.
func (b *backend) dropConns() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

func (b *backend) close() {
	b.ln.Close()
	b.dropConns()
}

// sidecar starts a Server from YAML, with %s placeholders already filled.
func sidecar(t testing.TB, yaml string) *Server {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// oneHop is a sidecar whose outbound Unix listener routes service "echo" to
// the backend.
func oneHop(t testing.TB, extra string) (*Server, *backend, string) {
	dir := sockDir(t)
	be := newBackend(t, dir)
	out := filepath.Join(dir, "out.sock")
	s := sidecar(t, fmt.Sprintf(`
listeners:
  - name: outbound
    address: unix://%s
    routes: [{service: echo, cluster: app}]
clusters:
  - name: app
    request_timeout: 2s
    endpoints: [{address: "unix://%s"}]
%s`, out, be.addr, extra))
	return s, be, out
}

// call sends one request on c and reads one response.
func call(t testing.TB, c net.Conn, frame []byte) reply {
	t.Helper()
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	resp, err := readFrame(c, make([]byte, 4096))
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return parseReply(t, resp)
}

func dial(t testing.TB, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func statValue(s *Server, name string) uint64 {
	var b strings.Builder
	s.WriteStats(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if n, v, ok := strings.Cut(line, " "); ok && n == name {
			var x uint64
			fmt.Sscan(v, &x)
			return x
		}
	}
	panic("no stat " + name)
}

var errTimeout = errors.New("timed out")

// eventually polls cond for up to 30s (for counters updated
// asynchronously; generous, for a busy machine under -race).
func eventually(cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return errTimeout
}
