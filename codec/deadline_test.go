package codec

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/ttheader"
)

func TestCallerTimeoutReadAndLoweredInPlace(t *testing.T) {
	frame := refFrame(t, ttheader.EncodeParam{SeqID: 3, IntInfo: map[uint16]string{
		ttheader.ToService: "echo", ttheader.RPCTimeout: "1500", ttheader.FromService: "caller",
	}}, thriftCall("Echo", 3))
	var h Header
	if err := h.Decode(frame); err != nil {
		t.Fatal(err)
	}
	if d, ok := h.CallerTimeout(frame); !ok || d != 1500*time.Millisecond {
		t.Fatalf("CallerTimeout = %v, %v; want 1.5s", d, ok)
	}
	if string(h.FromService) != "caller" {
		t.Fatalf("FromService = %q", h.FromService)
	}
	if !h.SetCallerTimeout(frame, 987*time.Millisecond+400*time.Microsecond) {
		t.Fatal("SetCallerTimeout refused a smaller value")
	}
	ref, err := ttheader.DecodeFromBytes(context.Background(), frame)
	if err != nil {
		t.Fatal(err)
	}
	if got := ref.IntInfo[ttheader.RPCTimeout]; got != "0987" {
		t.Fatalf("reference reads timeout %q, want 0987 (zero-padded, rounded down)", got)
	}
	if h.SetCallerTimeout(frame, 12*time.Second) {
		t.Fatal("SetCallerTimeout wrote a value wider than the field")
	}
	if !h.SetCallerTimeout(frame, 100*time.Microsecond) {
		t.Fatal("SetCallerTimeout refused a sub-millisecond budget")
	}
	if d, _ := h.CallerTimeout(frame); d != time.Millisecond {
		t.Fatalf("a budget under 1ms reads %v; want 1ms (0 means no timeout to Kitex)", d)
	}
}

// TestCallerTimeoutPastDurationRange: a timeout in milliseconds that a
// time.Duration cannot hold is the longest Duration, not a wrapped (maybe
// negative) one, which would fail the call as deadline_exceeded at once.
func TestCallerTimeoutPastDurationRange(t *testing.T) {
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"9223372036854", 9223372036854 * time.Millisecond}, // the largest that fits
		{"9223372036855", math.MaxInt64},
		{"9300000000000", math.MaxInt64}, // wrapped to a negative Duration
		{"999999999999999999", math.MaxInt64},
	}
	for _, tc := range cases {
		frame := refFrame(t, ttheader.EncodeParam{IntInfo: map[uint16]string{ttheader.RPCTimeout: tc.value}}, thriftCall("Echo", 1))
		var h Header
		if err := h.Decode(frame); err != nil {
			t.Fatal(err)
		}
		if d, ok := h.CallerTimeout(frame); !ok || d != tc.want {
			t.Errorf("CallerTimeout of %s ms = %v, %v; want %v", tc.value, d, ok, tc.want)
		}
	}
}

func TestAppendWithCallerTimeoutIsReadByReference(t *testing.T) {
	for _, str := range []map[string]string{nil, {"RPC_PERSIST_lane": "canary", "x": strings.Repeat("y", 5)}} {
		frame := refFrame(t, ttheader.EncodeParam{SeqID: 9, IntInfo: map[uint16]string{ttheader.ToService: "echo"}, StrInfo: str},
			framed(thriftCall("Echo", 9)))
		var h Header
		if err := h.Decode(frame); err != nil {
			t.Fatal(err)
		}
		if _, ok := h.CallerTimeout(frame); ok || h.SetCallerTimeout(frame, time.Second) {
			t.Fatal("a frame without a timeout reports one")
		}
		out, err := h.AppendWithCallerTimeout([]byte("pre"), frame, 2500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if string(out[:3]) != "pre" {
			t.Fatal("dst prefix overwritten")
		}
		out = out[3:]
		ref, err := ttheader.DecodeFromBytes(context.Background(), out)
		if err != nil {
			t.Fatalf("reference rejects the copy: %v", err)
		}
		if ref.IntInfo[ttheader.RPCTimeout] != "2500" || ref.IntInfo[ttheader.ToService] != "echo" || ref.SeqID != 9 {
			t.Fatalf("reference reads %+v", ref)
		}
		for k, v := range str {
			if ref.StrInfo[k] != v {
				t.Fatalf("string info %s = %q, want %q", k, ref.StrInfo[k], v)
			}
		}
		var h2 Header
		if err := h2.Decode(out); err != nil {
			t.Fatal(err)
		}
		if d, ok := h2.CallerTimeout(out); !ok || d != 2500*time.Millisecond || h2.PayloadSeqID != 9 || string(h2.Method) != "Echo" {
			t.Fatalf("own decode of the copy: timeout %v %v, payload seq %d, method %q", d, ok, h2.PayloadSeqID, h2.Method)
		}
		if string(out[h2.PayloadStart():]) != string(frame[h.PayloadStart():]) {
			t.Fatal("payload changed")
		}
	}
}

func TestErrorKinds(t *testing.T) {
	for k := KindNoRoute; k < numKinds; k++ {
		if got := ParseErrorKind([]byte(k.String())); got != k {
			t.Errorf("ParseErrorKind(%q) = %v", k, got)
		}
		if got := KindOfException(ExceptionKind(k)); got != k {
			t.Errorf("KindOfException(ExceptionKind(%v)) = %v", k, got)
		}
	}
	if ParseErrorKind([]byte("nonsense")) != KindNone || KindOfException(ExceptionInternalError) != KindNone || KindOfException(exceptionKindBase|0xfe) != KindNone {
		t.Error("unknown values map to a kind")
	}
	if KindTimeout.NotForwarded() || KindConnLost.NotForwarded() || !KindUnreachable.NotForwarded() || !KindRateLimited.NotForwarded() {
		t.Error("NotForwarded is wrong for timeout, connection_lost, unreachable or rate_limited")
	}
	fh := FrameHeader{SeqID: 1, StrInfo: []StrKV{{Key: "a", Value: "b"}, {Key: KeyError, Value: ErrorCircuitOpen}}}
	b, start, _ := BeginFrame(nil, &fh)
	b = AppendException(b, PayloadThrift, nil, 1, ExceptionKind(KindCircuitOpen), []byte("octomesh: circuit open"))
	EndFrame(b, start)
	var h Header
	if err := h.Decode(b); err != nil || h.MeshError != KindCircuitOpen {
		t.Fatalf("decode: %v, MeshError %v", err, h.MeshError)
	}
}
