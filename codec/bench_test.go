package codec

import (
	"testing"

	"github.com/cloudwego/gopkg/protocol/ttheader"
	"github.com/valyala/bytebufferpool"
)

func BenchmarkDecode(b *testing.B) {
	frame := refFrame(b, ttheader.EncodeParam{SeqID: 3, IntInfo: map[uint16]string{
		ttheader.ToService: "echo", ttheader.ToMethod: "Echo", ttheader.FromService: "client"},
		StrInfo: map[string]string{"trace": "0123456789abcdef"}}, append(thriftCall("Echo", 3), make([]byte, 1024)...))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	var h Header
	for b.Loop() {
		if err := h.Decode(frame); err != nil {
			b.Fatal(err)
		}
		h.SetSeqIDs(frame, h.SeqID+1, h.PayloadSeqID+1)
	}
}

func BenchmarkDecodeReference(b *testing.B) {
	frame := refFrame(b, ttheader.EncodeParam{SeqID: 3, IntInfo: map[uint16]string{
		ttheader.ToService: "echo", ttheader.ToMethod: "Echo", ttheader.FromService: "client"},
		StrInfo: map[string]string{"trace": "0123456789abcdef"}}, append(thriftCall("Echo", 3), make([]byte, 1024)...))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ttheader.DecodeFromBytes(b.Context(), frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkErrorResponse(b *testing.B) {
	b.ReportAllocs()
	fh := FrameHeader{SeqID: 1, StrInfo: []StrKV{{"om-error", "timeout"}}}
	for b.Loop() {
		buf := bytebufferpool.Get()
		var start int
		buf.B, start, _ = BeginFrame(buf.B[:0], &fh)
		buf.B = AppendException(buf.B, PayloadThrift, nil, 1, ExceptionInternalError, []byte("octomesh: upstream timeout"))
		EndFrame(buf.B, start)
		bytebufferpool.Put(buf)
	}
}
