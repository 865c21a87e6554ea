package codec

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/gopkg/protocol/ttheader"
)

// FuzzDecode feeds arbitrary bytes to FrameSize and Decode. They must never
// panic; a refusal must be an *Error of one of this package's kinds; and
// whatever Decode accepts must be a frame the reference decoder reads the
// same way (seqID, flags, service, method, string infos, om-error, the
// caller's timeout), before and after SetSeqIDs, SetCallerTimeout and
// AppendWithCallerTimeout.
func FuzzDecode(f *testing.F) {
	f.Add(refFrame(f, ttheader.EncodeParam{SeqID: 1, IntInfo: map[uint16]string{
		ttheader.ToService: "echo", ttheader.ToMethod: "Echo"}}, thriftCall("Echo", 1)))
	f.Add(refFrame(f, ttheader.EncodeParam{StrInfo: map[string]string{"om-ctrl": "x"}}, framed(thriftCall("M", 2))))
	f.Add(refFrame(f, ttheader.EncodeParam{}, protobufCall("Get", 3)))
	f.Add(refFrame(f, ttheader.EncodeParam{}, nil))
	f.Add(refFrame(f, ttheader.EncodeParam{SeqID: 4, IntInfo: map[uint16]string{
		ttheader.ToService: "echo", ttheader.FromService: "caller", ttheader.RPCTimeout: "1500"},
		StrInfo: map[string]string{KeyError: ErrorTimeout, "RPC_PERSIST_lane": "canary", ttheader.GDPRToken: "t"}},
		thriftCall("Echo", 4)))
	f.Add(refFrame(f, ttheader.EncodeParam{IntInfo: map[uint16]string{ttheader.RPCTimeout: "99999999999999"}}, thriftCall("Slow", 5)))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) >= MetaSize {
			if size, err := FrameSize(frame[:MetaSize], 1<<20); err == nil && size < MetaSize {
				t.Fatalf("FrameSize accepted a %d-byte frame", size)
			} else if err != nil {
				checkErrorKind(t, err)
			}
		}
		var h Header
		if err := h.Decode(frame); err != nil {
			checkErrorKind(t, err)
			return
		}
		if h.payloadStart > len(frame) || (h.Payload != PayloadNone && h.payloadSeqOff+4 > len(frame)) {
			t.Fatalf("offsets past the frame: %+v", h)
		}
		if _, err := FrameSize(frame[:MetaSize], len(frame)); err != nil {
			t.Fatalf("Decode accepted what FrameSize rejects: %v", err)
		}
		ref, err := ttheader.DecodeFromBytes(context.Background(), frame)
		if err != nil {
			// The reference also refuses protocol ids it does not know;
			// the sidecar forwards them untouched.
			if strings.Contains(err.Error(), "ProtocolID") {
				return
			}
			t.Fatalf("reference rejects a frame Decode accepted: %v", err)
		}
		agreeWithReference(t, frame, &h, ref)

		// The seqIDs rewritten in place: only they change.
		rewritten := bytes.Clone(frame)
		h.SetSeqIDs(rewritten, ^h.SeqID, h.PayloadSeqID+1)
		var h2 Header
		if err := h2.Decode(rewritten); err != nil {
			t.Fatalf("Decode rejects the frame after SetSeqIDs: %v", err)
		}
		if h2.SeqID != ^h.SeqID || (h.Payload != PayloadNone && h2.PayloadSeqID != h.PayloadSeqID+1) {
			t.Fatalf("after SetSeqIDs: seq %d payload seq %d", h2.SeqID, h2.PayloadSeqID)
		}
		ref2, err := ttheader.DecodeFromBytes(context.Background(), rewritten)
		if err != nil {
			t.Fatalf("reference rejects the frame after SetSeqIDs: %v", err)
		}
		if ref2.SeqID != ^h.SeqID || !maps.Equal(ref2.IntInfo, ref.IntInfo) || !maps.Equal(ref2.StrInfo, ref.StrInfo) {
			t.Fatalf("after SetSeqIDs the reference reads %+v, before %+v", ref2, ref)
		}
		agreeWithReference(t, rewritten, &h2, ref2)

		checkSetCallerTimeout(t, frame, &h, ref)
		checkAppendWithCallerTimeout(t, frame, &h, ref)
	})
}

// FuzzEncode round-trips the encoders: a frame built by BeginFrame,
// AppendException and EndFrame, AppendControlFrameSeq, and
// AppendWithCallerTimeout decodes to what was encoded, by Decode and by the
// reference decoder, and its exception reads back with the Thrift codec.
func FuzzEncode(f *testing.F) {
	f.Add(int32(7), uint16(0), uint8(0), "echo", "Echo", "RPC_PERSIST_lane", "canary", ErrorTimeout,
		uint8(PayloadThrift), int32(7), ExceptionKind(KindTimeout), []byte("octomesh: upstream timeout"), int64(1500), ControlHealth)
	f.Add(int32(-1), uint16(1), uint8(2), "", "Get", "", "", "", uint8(PayloadProtobuf), int32(1<<30), int32(ExceptionInternalError),
		[]byte(nil), int64(0), ControlProxyRestart)
	f.Add(int32(0), uint16(0xffff), uint8(0), "svc", "", "om-error", "no_route", "overloaded", uint8(PayloadThriftFramed), int32(-9),
		int32(ExceptionSidecarRestart), []byte("x"), int64(math.MaxInt64), ControlHealthOK)
	f.Add(int32(3), uint16(0), uint8(0), "a", "b", "k", "v", "", uint8(PayloadNone), int32(0), int32(0), []byte(nil), int64(1), "")
	f.Fuzz(func(t *testing.T, seq int32, flags uint16, protoID uint8, service, method, key, val, meshErr string,
		payload uint8, pseq, typeID int32, msg []byte, timeoutMs int64, ctrl string) {
		kind := PayloadKind(payload % 4)
		fh := FrameHeader{Flags: flags, SeqID: seq, ProtocolID: protoID,
			IntInfo: []IntKV{{IntKeyToService, service}, {IntKeyToMethod, method}},
			StrInfo: []StrKV{{key, val}, {KeyError, meshErr}}}
		b, start, err := BeginFrame([]byte("prefix"), &fh)
		if err != nil {
			if len(b) != start || start != len("prefix") {
				t.Fatalf("a failed BeginFrame left %d bytes, started at %d", len(b), start)
			}
			total := len(service) + len(method) + len(key) + len(val) + len(meshErr)
			if len(service)|len(method)|len(key)|len(val)|len(meshErr) <= 0xffff && total+64 <= MaxHeaderSize {
				t.Fatalf("BeginFrame refused short infos: %v", err)
			}
			return
		}
		if kind != PayloadNone {
			b = AppendException(b, kind, []byte(method), pseq, typeID, msg)
		}
		EndFrame(b, start)
		frame := b[start:]

		var h Header
		if err := h.Decode(frame); err != nil {
			t.Fatalf("Decode rejects an encoded frame: %v", err)
		}
		if h.SeqID != seq || h.Flags != flags || h.ProtocolID != protoID || string(h.Service) != service || h.Service == nil ||
			string(h.Method) != method || h.Payload != kind {
			t.Fatalf("decoded seq %d flags %d protocol %d service %q method %q payload %s", h.SeqID, h.Flags, h.ProtocolID, h.Service, h.Method, h.Payload)
		}
		wantVal, wantErr := val, meshErr
		if key == KeyError {
			wantVal = meshErr // a key given twice: the last value counts
		}
		if got := h.StrInfo(frame, key); string(got) != wantVal || got == nil {
			t.Fatalf("StrInfo(%q) = %q, want %q", key, got, wantVal)
		}
		if got := h.StrInfo(frame, KeyError); string(got) != wantErr {
			t.Fatalf("StrInfo(om-error) = %q, want %q", got, wantErr)
		}
		if h.MeshError != ParseErrorKind([]byte(wantErr)) {
			t.Fatalf("MeshError %v for %q", h.MeshError, wantErr)
		}
		if kind != PayloadNone {
			if h.MessageType != MessageException || h.PayloadSeqID != pseq || string(h.PayloadMethod) != method {
				t.Fatalf("payload type %d seq %d method %q", h.MessageType, h.PayloadSeqID, h.PayloadMethod)
			}
			checkException(t, frame, &h, typeID, msg)
		}
		if ref, err := ttheader.DecodeFromBytes(context.Background(), frame); err == nil {
			agreeWithReference(t, frame, &h, ref)
		} else if !strings.Contains(err.Error(), "ProtocolID") {
			t.Fatalf("reference rejects an encoded frame: %v", err)
		}

		// The caller's timeout added, then lowered in place.
		d := time.Duration(timeoutMs) * time.Millisecond
		if timeoutMs < 0 || timeoutMs > math.MaxInt64/int64(time.Millisecond) {
			d = time.Duration(math.MaxInt64)
		}
		withTimeout, err := h.AppendWithCallerTimeout(nil, frame, d)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) || h.PayloadStart()+32 <= MetaSize+MaxHeaderSize {
				t.Fatalf("AppendWithCallerTimeout: %v", err)
			}
			return
		}
		var ht Header
		if err := ht.Decode(withTimeout); err != nil {
			t.Fatalf("Decode rejects the frame with a timeout: %v", err)
		}
		want := max(d/time.Millisecond, 1) * time.Millisecond
		if got, ok := ht.CallerTimeout(withTimeout); !ok || got != want {
			t.Fatalf("CallerTimeout = %v, %v; want %v", got, ok, want)
		}
		if !ht.SetCallerTimeout(withTimeout, d/2) {
			t.Fatalf("SetCallerTimeout refused %v in a field written for %v", d/2, d)
		}
		if got, ok := ht.CallerTimeout(withTimeout); !ok || got != max(d/2/time.Millisecond, 1)*time.Millisecond {
			t.Fatalf("after SetCallerTimeout(%v): %v, %v", d/2, got, ok)
		}
		if string(withTimeout[ht.PayloadStart():]) != string(frame[h.PayloadStart():]) || ht.SeqID != seq || string(ht.Service) != service {
			t.Fatal("AppendWithCallerTimeout changed the payload, seqID or service")
		}

		if len(ctrl) <= 0xffff-len(KeyControl) {
			c := AppendControlFrameSeq([]byte("x"), ctrl, seq)[1:]
			var hc Header
			if err := hc.Decode(c); err != nil || hc.Payload != PayloadNone || hc.SeqID != seq || string(hc.StrInfo(c, KeyControl)) != ctrl {
				t.Fatalf("control frame %q: %v payload %s seq %d", ctrl, err, hc.Payload, hc.SeqID)
			}
			ref, err := ttheader.DecodeFromBytes(context.Background(), c)
			if err != nil || ref.StrInfo[KeyControl] != ctrl || ref.PayloadLen != 0 {
				t.Fatalf("reference reads control frame %q as %+v, %v", ctrl, ref, err)
			}
		}
	})
}

// checkErrorKind fails unless err is an *Error of one of the package's kinds.
func checkErrorKind(t *testing.T, err error) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *codec.Error", err, err)
	}
	switch ce.Kind {
	case ErrNotTTHeader, ErrFrameTooLarge, ErrBadLength, ErrBadHeader, ErrBadPayload:
	default:
		t.Fatalf("error %v has kind %v, not one of the package's", err, ce.Kind)
	}
}

// agreeWithReference compares h, decoded from frame, with the reference
// decoder's reading of it.
func agreeWithReference(t *testing.T, frame []byte, h *Header, ref ttheader.DecodeParam) {
	t.Helper()
	if ref.SeqID != h.SeqID || uint16(ref.Flags) != h.Flags || uint8(ref.ProtocolID) != h.ProtocolID || ref.HeaderLen != h.payloadStart {
		t.Fatalf("reference disagrees: %+v vs %+v", ref, h)
	}
	intInfo := func(key uint16, got []byte) {
		t.Helper()
		if v, ok := ref.IntInfo[key]; ok != (got != nil) || string(got) != v {
			t.Fatalf("int info %d: %q (present %v), reference %q (present %v)", key, got, got != nil, v, ok)
		}
	}
	intInfo(IntKeyToService, h.Service)
	intInfo(IntKeyFromService, h.FromService)
	if _, ok := ref.IntInfo[IntKeyToMethod]; ok {
		intInfo(IntKeyToMethod, h.Method)
	} else if string(h.Method) != string(h.PayloadMethod) {
		t.Fatalf("method %q without a to-method; the payload's is %q", h.Method, h.PayloadMethod)
	}
	for k, v := range ref.StrInfo {
		if k == ttheader.GDPRToken {
			continue // the reference keeps the ACL token among the string infos
		}
		if got := h.StrInfo(frame, k); got == nil || string(got) != v {
			t.Fatalf("StrInfo(%q) = %q, reference %q", k, got, v)
		}
	}
	for _, k := range []string{KeyError, KeyControl, KeyConnReset} {
		if _, ok := ref.StrInfo[k]; !ok && h.StrInfo(frame, k) != nil {
			t.Fatalf("StrInfo(%q) = %q, absent for the reference", k, h.StrInfo(frame, k))
		}
	}
	if want := ParseErrorKind([]byte(ref.StrInfo[KeyError])); h.MeshError != want {
		t.Fatalf("MeshError %v, reference's om-error %q", h.MeshError, ref.StrInfo[KeyError])
	}
	d, ok := h.CallerTimeout(frame)
	if want, wantOK := referenceTimeout(ref); ok != wantOK || d != want {
		t.Fatalf("CallerTimeout = %v, %v; the reference's %q means %v, %v", d, ok, ref.IntInfo[IntKeyRPCTimeout], want, wantOK)
	}
}

// referenceTimeout is what the reference's int info 12 means: decimal
// milliseconds, positive, at most 18 digits after any leading zeros; a
// duration past the largest one is the largest.
func referenceTimeout(ref ttheader.DecodeParam) (time.Duration, bool) {
	v, ok := ref.IntInfo[IntKeyRPCTimeout]
	if !ok || v == "" || len(strings.TrimLeft(v, "0")) > 18 || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return 0, false
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// checkSetCallerTimeout lowers the caller's timeout of a copy of frame in
// place and checks that only the timeout changed, zero-padded to its width.
func checkSetCallerTimeout(t *testing.T, frame []byte, h *Header, ref ttheader.DecodeParam) {
	t.Helper()
	const d = 1234 * time.Millisecond
	c := bytes.Clone(frame)
	old, had := ref.IntInfo[IntKeyRPCTimeout]
	if !h.SetCallerTimeout(c, d) {
		if had && len(old) >= 4 {
			t.Fatalf("SetCallerTimeout refused 1234ms in the %d-digit field %q", len(old), old)
		}
		if !bytes.Equal(c, frame) {
			t.Fatal("a refused SetCallerTimeout changed the frame")
		}
		return
	}
	if !had || len(old) < 4 {
		t.Fatalf("SetCallerTimeout wrote 1234ms into the field %q (present %v)", old, had)
	}
	ref2, err := ttheader.DecodeFromBytes(context.Background(), c)
	if err != nil {
		t.Fatalf("reference rejects the frame after SetCallerTimeout: %v", err)
	}
	if want := strings.Repeat("0", len(old)-4) + "1234"; ref2.IntInfo[IntKeyRPCTimeout] != want {
		t.Fatalf("reference reads the timeout %q, want %q", ref2.IntInfo[IntKeyRPCTimeout], want)
	}
	ref2.IntInfo[IntKeyRPCTimeout] = old
	if ref2.SeqID != ref.SeqID || !maps.Equal(ref2.IntInfo, ref.IntInfo) || !maps.Equal(ref2.StrInfo, ref.StrInfo) {
		t.Fatalf("SetCallerTimeout changed more than the timeout: %+v, before %+v", ref2, ref)
	}
	var h2 Header
	if err := h2.Decode(c); err != nil {
		t.Fatalf("Decode rejects the frame after SetCallerTimeout: %v", err)
	}
	if got, ok := h2.CallerTimeout(c); !ok || got != d {
		t.Fatalf("CallerTimeout after SetCallerTimeout(1234ms) = %v, %v", got, ok)
	}
}

// checkAppendWithCallerTimeout copies frame with a timeout added: the copy
// decodes, by Decode and by the reference, to the same header with the
// timeout, and carries the same payload.
func checkAppendWithCallerTimeout(t *testing.T, frame []byte, h *Header, ref ttheader.DecodeParam) {
	t.Helper()
	const d = 2500 * time.Millisecond
	out, err := h.AppendWithCallerTimeout([]byte("pre"), frame, d)
	if err != nil {
		checkErrorKind(t, err)
		if !errors.Is(err, ErrBadHeader) || h.infoEnd+12 <= MetaSize+MaxHeaderSize {
			t.Fatalf("AppendWithCallerTimeout refused a header ending at %d: %v", h.infoEnd, err)
		}
		return
	}
	if string(out[:3]) != "pre" {
		t.Fatal("AppendWithCallerTimeout overwrote dst")
	}
	out = out[3:]
	var h2 Header
	if err := h2.Decode(out); err != nil {
		t.Fatalf("Decode rejects the copy with a timeout: %v", err)
	}
	if got, ok := h2.CallerTimeout(out); !ok || got != d {
		t.Fatalf("the copy's CallerTimeout = %v, %v", got, ok)
	}
	if string(out[h2.PayloadStart():]) != string(frame[h.PayloadStart():]) || h2.SeqID != h.SeqID || h2.PayloadSeqID != h.PayloadSeqID {
		t.Fatal("the copy's payload or seqIDs differ")
	}
	ref2, err := ttheader.DecodeFromBytes(context.Background(), out)
	if err != nil {
		t.Fatalf("reference rejects the copy with a timeout: %v", err)
	}
	want := maps.Clone(ref.IntInfo)
	if want == nil {
		want = map[uint16]string{}
	}
	want[IntKeyRPCTimeout] = "2500"
	if ref2.SeqID != ref.SeqID || !maps.Equal(ref2.IntInfo, want) || !maps.Equal(ref2.StrInfo, ref.StrInfo) {
		t.Fatalf("the copy reads %+v, the frame %+v", ref2, ref)
	}
	agreeWithReference(t, out, &h2, ref2)
}

// checkException reads back the exception AppendException wrote.
func checkException(t *testing.T, frame []byte, h *Header, typeID int32, msg []byte) {
	t.Helper()
	body := frame[h.payloadSeqOff+4:]
	if h.Payload == PayloadProtobuf {
		// ErrorProto{TypeID int32 = 1; Message string = 2}
		p := binary.AppendUvarint([]byte{0x08}, uint64(uint32(typeID)))
		p = binary.AppendUvarint(append(p, 0x12), uint64(len(msg)))
		p = append(p, msg...)
		if !bytes.Equal(body, p) {
			t.Fatalf("protobuf exception body %#x, want %#x", body, p)
		}
		return
	}
	var ex thrift.ApplicationException
	if _, err := ex.FastRead(body); err != nil {
		t.Fatalf("thrift reads the exception: %v", err)
	}
	if ex.TypeID() != typeID || ex.Msg() != string(msg) {
		t.Fatalf("exception %d %q, want %d %q", ex.TypeID(), ex.Msg(), typeID, msg)
	}
}
