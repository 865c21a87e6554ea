package codec

import (
	"bytes"
	"context"
	"testing"

	"github.com/cloudwego/gopkg/protocol/ttheader"
)

// FuzzDecode feeds arbitrary bytes to FrameSize and Decode. They must never
// panic, and whatever Decode accepts must be a frame the reference decoder
// reads the same way.
func FuzzDecode(f *testing.F) {
	f.Add(refFrame(f, ttheader.EncodeParam{SeqID: 1, IntInfo: map[uint16]string{
		ttheader.ToService: "echo", ttheader.ToMethod: "Echo"}}, thriftCall("Echo", 1)))
	f.Add(refFrame(f, ttheader.EncodeParam{StrInfo: map[string]string{"om-ctrl": "x"}}, framed(thriftCall("M", 2))))
	f.Add(refFrame(f, ttheader.EncodeParam{}, protobufCall("Get", 3)))
	f.Add(refFrame(f, ttheader.EncodeParam{}, nil))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) >= MetaSize {
			if size, err := FrameSize(frame[:MetaSize], 1<<20); err == nil && size < MetaSize {
				t.Fatalf("FrameSize accepted a %d-byte frame", size)
			}
		}
		var h Header
		if err := h.Decode(frame); err != nil {
			return
		}
		if h.payloadStart > len(frame) || (h.Payload != PayloadNone && h.payloadSeqOff+4 > len(frame)) {
			t.Fatalf("offsets past the frame: %+v", h)
		}
		_ = h.StrInfo(frame, "om-ctrl")
		if _, err := FrameSize(frame[:MetaSize], len(frame)); err != nil {
			t.Fatalf("Decode accepted what FrameSize rejects: %v", err)
		}
		ref, err := ttheader.DecodeFromBytes(context.Background(), frame)
		if err != nil {
			// The reference also refuses protocol ids it does not know;
			// the sidecar forwards them untouched.
			if bytes.Contains([]byte(err.Error()), []byte("ProtocolID")) {
				return
			}
			t.Fatalf("reference rejects a frame Decode accepted: %v", err)
		}
		if ref.SeqID != h.SeqID || uint16(ref.Flags) != h.Flags || ref.HeaderLen != h.payloadStart {
			t.Fatalf("reference disagrees: %+v vs %+v", ref, h)
		}
		if h.Service != nil && ref.IntInfo[IntKeyToService] != string(h.Service) {
			t.Fatalf("service %q, reference %q", h.Service, ref.IntInfo[IntKeyToService])
		}
	})
}
