package downstream

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/router"
	"github.com/octomesh/octomesh/proxy/transport"
)

// fuzzChain ends the route of service "echo": method Echo is answered by
// echoing the call (as an upstream would), Hold is held and refused a
// little later from a goroutine (as a delay fault does), any other is
// refused at once. A oneway call is taken, as the forwarder does.
type fuzzChain struct{}

func (fuzzChain) Serve(r *filter.Request) {
	if r.Header.MessageType == codec.MessageOneway {
		r.Release()
		return
	}
	switch string(r.Header.Method) {
	case "Echo":
		r.Down.Respond(slices.Clone(r.Frame), &r.Header)
		r.Release()
	case "Hold":
		held := r.Hold()
		go func() {
			time.Sleep(time.Millisecond)
			held.Reject(codec.KindFault, "octomesh: fault: held")
		}()
	default:
		r.Reject(codec.KindFault, "octomesh: fault: refused")
	}
}

// noneOnDemand finds no route for any service, at once.
type noneOnDemand struct{}

func (noneOnDemand) Await(string) Found { return NotFound }

// Operations of FuzzConnServeFrame's script.
const (
	opCall    = iota // service, method, encoding, message type, seqID: a call
	opHealth         // kind, seqID: a control frame (health, another kind)
	opRaw            // n, n bytes: a frame of those bytes
	opFixed          // n, n bytes: the same with a TTHeader length prefix and magic
	opRestart        // the listener starts or stops answering "restarting"
	numOps
)

var (
	fuzzServices = []string{"echo", "other", "", "late"}
	fuzzMethods  = []string{"Echo", "Hold", "Get"}
	fuzzTypes    = []uint8{codec.MessageCall, codec.MessageOneway, codec.MessageReply, codec.MessageException, 0}
)

// fuzzCall builds a call frame.
func fuzzCall(service, method string, kind codec.PayloadKind, msgType uint8, seq int32) []byte {
	var intInfo []codec.IntKV
	if service != "" {
		intInfo = append(intInfo, codec.IntKV{Key: codec.IntKeyToService, Value: service})
	}
	b, start, _ := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: seq, IntInfo: intInfo})
	p := len(b)
	if kind != codec.PayloadThrift {
		b = append(b, 0, 0, 0, 0)
	}
	magic := uint32(0x80010000)
	if kind == codec.PayloadProtobuf {
		magic = 0x90010000
	}
	b = binary.BigEndian.AppendUint32(b, magic|uint32(msgType))
	b = binary.BigEndian.AppendUint32(b, uint32(len(method)))
	b = append(b, method...)
	b = binary.BigEndian.AppendUint32(b, uint32(seq+1))
	b = thrift.Binary.AppendFieldStop(b)
	if kind != codec.PayloadThrift {
		binary.BigEndian.PutUint32(b[p:], uint32(len(b)-p-4))
	}
	codec.EndFrame(b, start)
	return b
}

// FuzzConnServeFrame feeds a caller's connection arbitrary frames: calls
// (routed, unrouted, held, oneway, not calls at all), health probes and
// other control frames, garbage. The connection is a real one, accepted by
// a transport listener on a Unix socket in a temp dir; the test calls its
// ServeFrame as the poller would (the caller sends nothing on the socket).
// Whatever the frames: no panic; a frame Decode refuses, or a message that
// is not a call, closes that connection and no other; every call but a
// oneway gets one answer with its seqIDs, a health probe one answer with
// its seqID; and once all are answered the sidecar counts no call in
// flight.
func FuzzConnServeFrame(f *testing.F) {
	f.Add([]byte{opCall, 0, 0, 0, 0, 1, opCall, 0, 1, 1, 0, 2, opCall, 0, 2, 2, 0, 3, opHealth, 0, 4})
	f.Add([]byte{opCall, 1, 0, 0, 0, 1, opCall, 2, 0, 0, 0, 2, opCall, 3, 0, 0, 0, 3, opCall, 0, 0, 0, 1, 4})
	f.Add([]byte{opCall, 0, 1, 0, 0, 1, opCall, 0, 1, 0, 0, 2, opCall, 0, 1, 0, 0, 3, opCall, 0, 1, 0, 0, 4, opCall, 0, 1, 0, 0, 5, opCall, 0, 1, 0, 0, 6})
	f.Add([]byte{opRestart, opCall, 0, 0, 0, 0, 1, opRestart, opCall, 0, 0, 0, 0, 2, opHealth, 1, 9})
	f.Add([]byte{opCall, 0, 0, 0, 2, 1, opCall, 0, 0, 0, 0, 2})
	f.Add([]byte{opHealth, 0, 1, opRaw, 4, 'G', 'E', 'T', ' ', opCall, 0, 0, 0, 0, 2})
	f.Add([]byte{opFixed, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})

	dir, err := os.MkdirTemp("", "dsf")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	s := &Sidecar{Limits: Limits{MaxInflight: 100, MaxInflightPerConnection: 3}}
	l := &Listener{Name: "outbound", Sidecar: s, OnDemand: noneOnDemand{}}
	table, err := router.NewTable([]router.Route[*Route]{{Service: "echo", Method: router.Any, Target: &Route{Handler: fuzzChain{}, s: s}}})
	if err != nil {
		f.Fatal(err)
	}
	l.Routes.Store(table)
	accepted := make(chan *Conn, 2)
	addr := filepath.Join(dir, "l.sock")
	tl, err := transport.Listen("unix", addr, transport.Options{MaxFrameSize: 1 << 20, FrameTimeout: time.Second, WriteTimeout: time.Second},
		&transport.Stats{}, func(c *transport.Conn) transport.Handler {
			h := l.NewConn(c)
			accepted <- h.(*Conn)
			return h
		})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { tl.Close() })
	dial := func(t *testing.T) (net.Conn, *Conn) {
		c, err := net.Dial("unix", addr)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-accepted:
			return c, d
		case <-time.After(5 * time.Second):
			t.Fatal("the listener did not accept")
		}
		return nil, nil
	}

	f.Fuzz(func(t *testing.T, script []byte) {
		l.Restarting.Store(false)
		a, da := dial(t)
		defer a.Close()
		b, db := dial(t)
		defer b.Close()

		want, closed := feed(da, l, script)
		if closed != !da.c.Active() {
			t.Fatalf("the connection is active %v after a script that should close it: %v", da.c.Active(), closed)
		}
		if !db.c.Active() {
			t.Fatal("another caller's frames closed this connection")
		}
		if !closed {
			got, err := readAnswers(a, len(want))
			if err != nil {
				t.Fatalf("%v; answers %v, want %v", err, got, want)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("answers %v, want %v", got, want)
			}
		}
		// The other caller is served still, through the poller.
		if _, err := b.Write(codec.AppendControlFrameSeq(nil, codec.ControlHealth, 123456)); err != nil {
			t.Fatal(err)
		}
		probed(t, b, "the other caller")
		deadline := time.Now().Add(5 * time.Second)
		for (s.Inflight.Load() != 0 || da.inflight.Load() != 0) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // held calls are answered from goroutines
		}
		if n, m := s.Inflight.Load(), da.inflight.Load(); n != 0 || m != 0 {
			t.Fatalf("every call answered, yet %d in flight in the sidecar and %d on the connection", n, m)
		}
		if !closed {
			// Every answer is written by now: the probe's is the next.
			da.ServeFrame(codec.AppendControlFrameSeq(nil, codec.ControlHealth, 123456))
			probed(t, a, "after the answers,")
		}
	})
}

// probed checks that the next frame c reads answers a health probe.
func probed(t *testing.T, c net.Conn, who string) {
	t.Helper()
	if got, err := readAnswers(c, 1); err != nil || got[0] != "health-ok 123456" {
		t.Fatalf("%s the probe's answer: %v %v", who, got, err)
	}
}

// feed serves script's frames on d and returns the answers they should get
// (describe's form) and whether a frame should have closed d.
func feed(d *Conn, l *Listener, script []byte) (want []string, closed bool) {
	next := func() byte {
		if len(script) == 0 {
			return 0
		}
		b := script[0]
		script = script[1:]
		return b
	}
	bytesOf := func() []byte {
		n := min(int(next()), len(script))
		b := append([]byte(nil), script[:n]...)
		script = script[n:]
		return b
	}
	for len(script) > 0 && !closed {
		var frame []byte
		switch next() % numOps {
		case opCall:
			service, method := fuzzServices[int(next())%len(fuzzServices)], fuzzMethods[int(next())%len(fuzzMethods)]
			kind := codec.PayloadKind(1 + int(next())%3)
			msgType := fuzzTypes[int(next())%len(fuzzTypes)]
			frame = fuzzCall(service, method, kind, msgType, int32(next()))
		case opHealth:
			kind := []string{codec.ControlHealth, codec.ControlProxyRestart, "later-kind"}[int(next())%3]
			frame = codec.AppendControlFrameSeq(nil, kind, int32(next()))
		case opRaw:
			frame = bytesOf()
		case opFixed:
			frame = bytesOf()
			if len(frame) >= 6 {
				binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
				binary.BigEndian.PutUint16(frame[4:], codec.Magic)
			}
		case opRestart:
			l.Restarting.Store(!l.Restarting.Load())
			continue
		}
		var h codec.Header
		switch err := h.Decode(frame); {
		case err != nil:
			closed = true
		case h.Payload == codec.PayloadNone:
			if string(h.StrInfo(frame, codec.KeyControl)) == codec.ControlHealth {
				want = append(want, fmt.Sprintf("%s %d", codec.ControlHealthOK, h.SeqID))
			}
		case h.MessageType == codec.MessageCall:
			want = append(want, fmt.Sprintf("call %d %d", h.SeqID, h.PayloadSeqID))
		case h.MessageType != codec.MessageOneway:
			closed = true
		}
		d.ServeFrame(frame)
	}
	return want, closed
}

// readAnswers reads n frames from c and describes each: "call seq
// payloadSeq" for an answer to a call, "<kind> seq" for a control frame.
func readAnswers(c net.Conn, n int) ([]string, error) {
	var out []string
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(out) < n {
		var meta [4]byte
		if _, err := io.ReadFull(c, meta[:]); err != nil {
			return out, fmt.Errorf("after %d answers of %d: %w", len(out), n, err)
		}
		frame := make([]byte, 4+binary.BigEndian.Uint32(meta[:]))
		copy(frame, meta[:])
		if _, err := io.ReadFull(c, frame[4:]); err != nil {
			return out, err
		}
		var h codec.Header
		if err := h.Decode(frame); err != nil {
			return out, fmt.Errorf("an answer does not decode: %w", err)
		}
		if h.Payload == codec.PayloadNone {
			out = append(out, fmt.Sprintf("%s %d", h.StrInfo(frame, codec.KeyControl), h.SeqID))
		} else {
			out = append(out, fmt.Sprintf("call %d %d", h.SeqID, h.PayloadSeqID))
		}
	}
	return out, nil
}
