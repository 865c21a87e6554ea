package codec

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/gopkg/protocol/ttheader"
)

// thriftCall returns a strict Thrift binary CALL message with an empty struct.
func thriftCall(method string, seq int32) []byte {
	b := thrift.Binary.AppendMessageBegin(nil, method, thrift.CALL, seq)
	return thrift.Binary.AppendFieldStop(b)
}

func framed(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

// protobufCall returns a Kitex protobuf CALL message (framed) with no body.
func protobufCall(method string, seq int32) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x90010000|MessageCall)
	b = binary.BigEndian.AppendUint32(b, uint32(len(method)))
	b = append(b, method...)
	b = binary.BigEndian.AppendUint32(b, uint32(seq))
	return framed(b)
}

// refFrame builds a frame with the reference encoder.
func refFrame(t testing.TB, p ttheader.EncodeParam, payload []byte) []byte {
	t.Helper()
	b, err := ttheader.EncodeToBytes(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func TestDecodeReferenceFrames(t *testing.T) {
	cases := []struct {
		name        string
		param       ttheader.EncodeParam
		payload     []byte
		wantKind    PayloadKind
		wantService string
		wantMethod  string
		wantPSeq    int32
	}{
		{
			name: "kitex client with meta handler",
			param: ttheader.EncodeParam{SeqID: 7, IntInfo: map[uint16]string{
				ttheader.ToService: "echo", ttheader.ToMethod: "Echo", ttheader.FromService: "client",
			}, StrInfo: map[string]string{"k": "v", ttheader.GDPRToken: "tok"}},
			payload:  thriftCall("Echo", 7),
			wantKind: PayloadThrift, wantService: "echo", wantMethod: "Echo", wantPSeq: 7,
		},
		{
			name:     "framed payload, method from payload",
			param:    ttheader.EncodeParam{SeqID: -5, Flags: ttheader.HeaderFlagSupportOutOfOrder},
			payload:  framed(thriftCall("Ping", 99)),
			wantKind: PayloadThriftFramed, wantMethod: "Ping", wantPSeq: 99,
		},
		{
			name:     "kitex protobuf",
			param:    ttheader.EncodeParam{SeqID: 1 << 30, IntInfo: map[uint16]string{ttheader.ToService: "pb"}},
			payload:  protobufCall("Get", 3),
			wantKind: PayloadProtobuf, wantService: "pb", wantMethod: "Get", wantPSeq: 3,
		},
		{
			name:     "control frame without payload",
			param:    ttheader.EncodeParam{SeqID: 0, StrInfo: map[string]string{"om-ctrl": "proxy-restart"}},
			wantKind: PayloadNone,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frame := refFrame(t, tc.param, tc.payload)
			size, err := FrameSize(frame[:MetaSize], 1<<20)
			if err != nil || size != len(frame) {
				t.Fatalf("FrameSize = %d, %v; want %d", size, err, len(frame))
			}
			var h Header
			if err := h.Decode(frame); err != nil {
				t.Fatal(err)
			}
			if h.SeqID != tc.param.SeqID || h.Flags != uint16(tc.param.Flags) {
				t.Errorf("seq %d flags %d; want %d %d", h.SeqID, h.Flags, tc.param.SeqID, tc.param.Flags)
			}
			if h.Payload != tc.wantKind || string(h.Service) != tc.wantService || string(h.Method) != tc.wantMethod {
				t.Errorf("got %s %q %q; want %s %q %q", h.Payload, h.Service, h.Method, tc.wantKind, tc.wantService, tc.wantMethod)
			}
			if h.PayloadSeqID != tc.wantPSeq {
				t.Errorf("payload seq %d, want %d", h.PayloadSeqID, tc.wantPSeq)
			}
			if string(frame[h.PayloadStart():]) != string(tc.payload) {
				t.Errorf("payload view wrong")
			}
			for k, v := range tc.param.StrInfo {
				if k == ttheader.GDPRToken {
					continue // carried in the ACL block, not as a string entry
				}
				if got := h.StrInfo(frame, k); string(got) != v {
					t.Errorf("StrInfo(%q) = %q, want %q", k, got, v)
				}
			}
			if h.StrInfo(frame, "absent") != nil {
				t.Errorf("StrInfo of an absent key is not nil")
			}
		})
	}
}

// TestStrInfoKeyGivenTwice: the last value of a repeated key counts, as it
// does for Kitex and for MeshError, so that the sidecar routes on the value
// the app will see.
func TestStrInfoKeyGivenTwice(t *testing.T) {
	fh := FrameHeader{SeqID: 1, StrInfo: []StrKV{{"lane", "blue"}, {KeyError, ErrorNoRoute}, {"lane", "canary"}, {KeyError, ErrorTimeout}}}
	b, start, err := BeginFrame(nil, &fh)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, thriftCall("Echo", 1)...)
	EndFrame(b, start)
	var h Header
	if err := h.Decode(b); err != nil {
		t.Fatal(err)
	}
	ref, err := ttheader.DecodeFromBytes(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"lane", KeyError} {
		if got := h.StrInfo(b, k); string(got) != ref.StrInfo[k] {
			t.Errorf("StrInfo(%q) = %q, the reference reads %q", k, got, ref.StrInfo[k])
		}
	}
	if h.MeshError != KindTimeout {
		t.Errorf("MeshError %v, want timeout", h.MeshError)
	}
}

func TestSetSeqIDsReadBackByReference(t *testing.T) {
	for _, payload := range [][]byte{thriftCall("Echo", 11), framed(thriftCall("Echo", 11)), protobufCall("Echo", 11)} {
		frame := refFrame(t, ttheader.EncodeParam{SeqID: 11, IntInfo: map[uint16]string{ttheader.ToService: "s"}}, payload)
		var h Header
		if err := h.Decode(frame); err != nil {
			t.Fatal(err)
		}
		h.SetSeqIDs(frame, 123456, -42)
		ref, err := ttheader.DecodeFromBytes(context.Background(), frame)
		if err != nil {
			t.Fatal(err)
		}
		if ref.SeqID != 123456 {
			t.Errorf("reference reads seq %d after rewrite", ref.SeqID)
		}
		var again Header
		if err := again.Decode(frame); err != nil || again.SeqID != 123456 || again.PayloadSeqID != -42 {
			t.Errorf("after rewrite: %v seq %d payload seq %d", err, again.SeqID, again.PayloadSeqID)
		}
		if ref.IntInfo[ttheader.ToService] != "s" {
			t.Errorf("rewrite damaged the header: %v", ref.IntInfo)
		}
	}
}

func TestEncodeReadByReference(t *testing.T) {
	fh := FrameHeader{
		Flags: 1, SeqID: -99, ProtocolID: 0,
		IntInfo: []IntKV{{ttheader.ToService, "echo"}, {ttheader.ToMethod, "Echo"}},
		StrInfo: []StrKV{{"om-error", "timeout"}, {"x", strings.Repeat("y", 300)}},
	}
	payload := AppendException(nil, PayloadThrift, []byte("Echo"), 5, ExceptionInternalError, []byte("octomesh: upstream timeout"))
	b, start, err := BeginFrame([]byte("prefix"), &fh)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, payload...)
	EndFrame(b, start)
	frame := b[start:]

	ref, err := ttheader.DecodeFromBytes(context.Background(), frame)
	if err != nil {
		t.Fatal(err)
	}
	if ref.SeqID != -99 || ref.Flags != 1 || ref.IntInfo[ttheader.ToService] != "echo" ||
		ref.IntInfo[ttheader.ToMethod] != "Echo" || ref.StrInfo["om-error"] != "timeout" || len(ref.StrInfo["x"]) != 300 {
		t.Fatalf("reference decoded %+v", ref)
	}
	if ref.HeaderLen+ref.PayloadLen != len(frame) || string(frame[ref.HeaderLen:]) != string(payload) {
		t.Fatalf("reference header %d + payload %d != frame %d", ref.HeaderLen, ref.PayloadLen, len(frame))
	}
	var h Header
	if err := h.Decode(frame); err != nil || h.MessageType != MessageException {
		t.Fatalf("own decode: %v type %d", err, h.MessageType)
	}
}

func TestExceptionPayloadReadByThrift(t *testing.T) {
	for _, kind := range []PayloadKind{PayloadThrift, PayloadThriftFramed} {
		p := AppendException(nil, kind, []byte("Echo"), 77, ExceptionInternalError, []byte("octomesh: sidecar overloaded"))
		if kind == PayloadThriftFramed {
			if int(binary.BigEndian.Uint32(p))+4 != len(p) {
				t.Fatalf("frame length of framed exception is wrong")
			}
			p = p[4:]
		}
		name, typ, seq, n, err := thrift.Binary.ReadMessageBegin(p)
		if err != nil || name != "Echo" || typ != thrift.EXCEPTION || seq != 77 {
			t.Fatalf("%s: message begin %q %d %d %v", kind, name, typ, seq, err)
		}
		var ex thrift.ApplicationException
		if _, err := ex.FastRead(p[n:]); err != nil {
			t.Fatal(err)
		}
		if ex.TypeID() != ExceptionInternalError || ex.Msg() != "octomesh: sidecar overloaded" {
			t.Errorf("%s: exception %d %q", kind, ex.TypeID(), ex.Msg())
		}
	}
}

func TestProtobufExceptionLayout(t *testing.T) {
	p := AppendException(nil, PayloadProtobuf, []byte("Get"), 9, 6, []byte("boom"))
	var h Header
	frame := refFrame(t, ttheader.EncodeParam{}, p)
	if err := h.Decode(frame); err != nil || h.Payload != PayloadProtobuf || h.MessageType != MessageException || h.PayloadSeqID != 9 {
		t.Fatalf("decode: %v %s type %d seq %d", err, h.Payload, h.MessageType, h.PayloadSeqID)
	}
	body := frame[h.payloadSeqOff+4:]
	want := []byte{0x08, 6, 0x12, 4, 'b', 'o', 'o', 'm'}
	if string(body) != string(want) {
		t.Errorf("ErrorProto bytes %#x, want %#x", body, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := refFrame(t, ttheader.EncodeParam{IntInfo: map[uint16]string{ttheader.ToService: "echo"}}, thriftCall("Echo", 1))
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name  string
		frame []byte
		kind  error
	}{
		{"short", good[:10], ErrBadLength},
		{"bad magic", mutate(func(b []byte) []byte { b[4] = 0x47; return b }), ErrNotTTHeader},
		{"length too long", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b, uint32(len(b))); return b }), ErrBadLength},
		{"header past frame", mutate(func(b []byte) []byte { binary.BigEndian.PutUint16(b[12:], 0xffff); return b }), ErrBadLength},
		{"header without protocol", mutate(func(b []byte) []byte { binary.BigEndian.PutUint16(b[12:], 0); return b }), ErrBadHeader},
		{"transforms overrun", mutate(func(b []byte) []byte { b[15] = 200; return b }), ErrBadHeader},
		{"unknown info id", mutate(func(b []byte) []byte { b[16] = 0x7f; return b }), ErrBadHeader},
		{"int info count lies", mutate(func(b []byte) []byte { binary.BigEndian.PutUint16(b[17:], 9); return b }), ErrBadHeader},
		{"garbage payload", mutate(func(b []byte) []byte { b[len(b)-len(thriftCall("Echo", 1))] = 'G'; return b }), ErrBadPayload},
		{"method name lies", mutate(func(b []byte) []byte {
			var h Header
			_ = h.Decode(b)
			binary.BigEndian.PutUint32(b[h.PayloadStart()+4:], 1000)
			return b
		}), ErrBadPayload},
		{"framed length lies", refFrame(t, ttheader.EncodeParam{}, append(framed(thriftCall("X", 1)), 0)), ErrBadLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			err := h.Decode(tc.frame)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("Decode error %v, want kind %v", err, tc.kind)
			}
			var ce *Error
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "codec: ") {
				t.Errorf("error %q is not a *codec.Error", err)
			}
		})
	}
}

func TestFrameSizeRejects(t *testing.T) {
	meta := func(length uint32, magic, hdrWords uint16) []byte {
		b := binary.BigEndian.AppendUint32(nil, length)
		b = binary.BigEndian.AppendUint16(b, magic)
		b = append(b, 0, 0, 0, 0, 0, 1, 0, 0)
		binary.BigEndian.PutUint16(b[12:], hdrWords)
		return b
	}
	cases := []struct {
		name string
		meta []byte
		kind error
	}{
		{"http request", []byte("GET / HTTP/1.1\r\n"), ErrNotTTHeader},
		{"oversized", meta(1<<30, Magic, 1), ErrFrameTooLarge},
		{"negative length", meta(0xfffffffd, Magic, 1), ErrFrameTooLarge},
		{"header past length", meta(20, Magic, 10), ErrBadLength},
		{"too short", []byte{0, 0}, ErrBadLength},
	}
	for _, tc := range cases {
		if _, err := FrameSize(tc.meta, 1<<20); !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.kind)
		}
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	frame := refFrame(t, ttheader.EncodeParam{SeqID: 3, IntInfo: map[uint16]string{
		ttheader.ToService: "echo", ttheader.ToMethod: "Echo"}, StrInfo: map[string]string{"a": "b"}}, thriftCall("Echo", 3))
	var h Header
	allocs := testing.AllocsPerRun(1000, func() {
		if err := h.Decode(frame); err != nil {
			t.Fatal(err)
		}
		h.SetSeqIDs(frame, 9, 9)
		_ = h.StrInfo(frame, "a")
	})
	if allocs != 0 {
		t.Fatalf("Decode+SetSeqIDs+StrInfo allocate %.1f times per frame", allocs)
	}
}
