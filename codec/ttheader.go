package codec

import "encoding/binary"

// TTHeader layout:
//
//	0       4      6      8        12          14
//	| length | magic | flags | seqID | hdr size/4 | protocol id, transforms, info blocks | payload |
//
// length counts every byte after itself. The header size counts, in 4-byte
// words, the bytes from offset 14 to the payload.
const (
	// MetaSize is the fixed part of a frame, up to and including the header size.
	MetaSize = 14
	// Magic is the 16-bit TTHeader magic at offset 4.
	Magic = 0x1000
	// MaxHeaderSize is the largest header the size field can express.
	MaxHeaderSize = 4 * 0xffff
)

// Info block ids.
const (
	infoPadding  = 0x00
	infoStrKV    = 0x01
	infoIntKV    = 0x10
	infoACLToken = 0x11
)

// Int info keys (gopkg/protocol/ttheader metakey.go) the sidecar reads.
const (
	IntKeyFromService = 3
	IntKeyToService   = 6
	IntKeyToMethod    = 9
	// IntKeyRPCTimeout is the caller's timeout for the call in decimal
	// milliseconds, which Kitex sends when the client sets one.
	IntKeyRPCTimeout = 12
)

// Thrift message types, also used by Kitex protobuf.
const (
	MessageCall      = 1
	MessageReply     = 2
	MessageException = 3
	MessageOneway    = 4
)

// PayloadKind is how the payload after the TTHeader is encoded.
type PayloadKind uint8

const (
	// PayloadNone: an empty payload (the mesh's own control frames).
	PayloadNone PayloadKind = iota
	// PayloadThrift: strict Thrift binary, unframed.
	PayloadThrift
	// PayloadThriftFramed: strict Thrift binary behind a 4-byte length.
	PayloadThriftFramed
	// PayloadProtobuf: Kitex protobuf, which is always framed.
	PayloadProtobuf
)

func (k PayloadKind) String() string {
	switch k {
	case PayloadNone:
		return "none"
	case PayloadThrift:
		return "thrift"
	case PayloadThriftFramed:
		return "thrift-framed"
	case PayloadProtobuf:
		return "kitex-protobuf"
	}
	return "unknown"
}

// FrameSize validates the first MetaSize bytes of a frame and returns the
// size of the whole frame, length prefix included. It lets a reader reject
// garbage before waiting for a body that will never come.
func FrameSize(meta []byte, maxFrame int) (int, error) {
	if len(meta) < MetaSize {
		return 0, errorf(ErrBadLength, "need %d bytes of frame meta, have %d", MetaSize, len(meta))
	}
	if binary.BigEndian.Uint16(meta[4:]) != Magic {
		return 0, errorf(ErrNotTTHeader, "first bytes %#x", meta[:8])
	}
	size := int(binary.BigEndian.Uint32(meta)) + 4
	if size > maxFrame || size < 4 { // size < 4: the uint32 wrapped an int32
		return 0, errorf(ErrFrameTooLarge, "length prefix says %d bytes, limit is %d", size, maxFrame)
	}
	if hdr := MetaSize + 4*int(binary.BigEndian.Uint16(meta[12:])); hdr > size {
		return 0, errorf(ErrBadLength, "header ends at byte %d of a %d-byte frame", hdr, size)
	}
	return size, nil
}

// Header is the decoded TTHeader and payload message header of one frame.
// Byte-slice fields are views into the frame passed to Decode and are valid
// only as long as it is. The zero Header is ready for Decode; reuse one per
// connection to keep decoding allocation-free.
type Header struct {
	Flags      uint16
	SeqID      int32
	ProtocolID uint8
	// Service and Method are the TTHeader to-service and to-method; Method
	// falls back to the payload's method name, Service is nil when absent.
	Service []byte
	Method  []byte

	Payload PayloadKind
	// MessageType is the payload's message type (MessageCall, ...).
	MessageType uint8
	// PayloadSeqID is the payload's own sequence id.
	PayloadSeqID int32
	// PayloadMethod is the method name in the payload's message header.
	PayloadMethod []byte
	// FromService is the TTHeader from-service (the calling app), nil
	// when absent.
	FromService []byte
	// MeshError is the kind a mesh-made answer carries in KeyError
	// (KindNone when the frame has no such key, or an unknown value).
	MeshError ErrorKind

	// Offsets into the frame. infoEnd is where the last info block that
	// is not padding ends; timeoutOff and timeoutLen locate the value of
	// IntKeyRPCTimeout (timeoutLen 0: absent).
	infoStart, infoEnd, payloadStart, payloadSeqOff int
	timeoutOff, timeoutLen                          int
}

// PayloadStart is the offset of the payload in the frame.
func (h *Header) PayloadStart() int { return h.payloadStart }

// Decode decodes the header of one complete frame (length prefix included)
// in place. It checks every length against the frame and fails with an
// *Error of one of this package's kinds.
func (h *Header) Decode(frame []byte) error {
	*h = Header{}
	if len(frame) < MetaSize {
		return errorf(ErrBadLength, "frame of %d bytes is shorter than the %d-byte meta", len(frame), MetaSize)
	}
	if binary.BigEndian.Uint16(frame[4:]) != Magic {
		return errorf(ErrNotTTHeader, "first bytes %#x", frame[:8])
	}
	if n := int(binary.BigEndian.Uint32(frame)) + 4; n != len(frame) {
		return errorf(ErrBadLength, "length prefix says %d bytes, frame has %d", n, len(frame))
	}
	h.Flags = binary.BigEndian.Uint16(frame[6:])
	h.SeqID = int32(binary.BigEndian.Uint32(frame[8:]))
	end := MetaSize + 4*int(binary.BigEndian.Uint16(frame[12:]))
	if end > len(frame) {
		return errorf(ErrBadLength, "header ends at byte %d of a %d-byte frame", end, len(frame))
	}
	if end < MetaSize+2 {
		return errorf(ErrBadHeader, "header of %d bytes has no protocol id", end-MetaSize)
	}
	h.ProtocolID = frame[MetaSize]
	h.infoStart = MetaSize + 2 + int(frame[MetaSize+1]) // skip the transform ids
	h.payloadStart = end
	if h.infoStart > end {
		return errorf(ErrBadHeader, "%d transform ids overrun the header", frame[MetaSize+1])
	}
	if err := h.walkInfo(frame); err != nil {
		return err
	}
	return h.decodePayload(frame)
}

// walkInfo validates every info block and picks out service and method.
func (h *Header) walkInfo(frame []byte) error {
	info := frame[:h.payloadStart]
	for i := h.infoStart; i < len(info); {
		id := info[i]
		i++
		switch id {
		case infoPadding:
		case infoStrKV:
			n, ok := u16(info, i)
			if !ok {
				return errorf(ErrBadHeader, "string info count truncated at byte %d", i)
			}
			i += 2
			for k := 0; k < n; k++ {
				var key, val []byte
				var ok1, ok2 bool
				key, i, ok1 = str16(info, i)
				val, i, ok2 = str16(info, i)
				if !ok1 || !ok2 {
					return errorf(ErrBadHeader, "string info entry %d of %d overruns the header", k, n)
				}
				if len(key) == len(KeyError) && string(key) == KeyError {
					h.MeshError = ParseErrorKind(val)
				}
			}
		case infoIntKV:
			n, ok := u16(info, i)
			if !ok {
				return errorf(ErrBadHeader, "int info count truncated at byte %d", i)
			}
			i += 2
			for k := 0; k < n; k++ {
				key, ok1 := u16(info, i)
				var val []byte
				var ok2 bool
				val, i, ok2 = str16(info, i+2)
				if !ok1 || !ok2 {
					return errorf(ErrBadHeader, "int info entry %d of %d overruns the header", k, n)
				}
				switch key {
				case IntKeyToService:
					h.Service = val
				case IntKeyToMethod:
					h.Method = val
				case IntKeyFromService:
					h.FromService = val
				case IntKeyRPCTimeout:
					h.timeoutOff, h.timeoutLen = i-len(val), len(val)
				}
			}
		case infoACLToken:
			var ok bool
			if _, i, ok = str16(info, i); !ok {
				return errorf(ErrBadHeader, "ACL token overruns the header")
			}
		default:
			return errorf(ErrBadHeader, "unknown info block id %#x at byte %d", id, i-1)
		}
		if id != infoPadding {
			h.infoEnd = i
		}
	}
	if h.infoEnd < h.infoStart {
		h.infoEnd = h.infoStart
	}
	return nil
}

// decodePayload finds the payload's message header. Thrift binary (strict,
// framed or not) and Kitex protobuf share its layout after the optional
// 4-byte frame length: version|type (4), name length (4), name, seqID (4).
func (h *Header) decodePayload(frame []byte) error {
	p := frame[h.payloadStart:]
	base := h.payloadStart
	switch {
	case len(p) == 0:
		h.Payload = PayloadNone
		return nil
	case len(p) >= 2 && p[0] == 0x80 && p[1] == 0x01:
		h.Payload = PayloadThrift
	case len(p) >= 8 && p[4] == 0x80 && p[5] == 0x01:
		h.Payload = PayloadThriftFramed
		base += 4
	case len(p) >= 8 && p[4] == 0x90 && p[5] == 0x01:
		h.Payload = PayloadProtobuf
		base += 4
	default:
		n := min(len(p), 8)
		return errorf(ErrBadPayload, "payload is neither strict Thrift binary nor Kitex protobuf (first bytes %#x)", p[:n])
	}
	if base > h.payloadStart {
		if n := int(binary.BigEndian.Uint32(p)) + 4; n != len(p) {
			return errorf(ErrBadLength, "%s length says %d bytes, payload has %d", h.Payload, n, len(p))
		}
	}
	if base+8 > len(frame) {
		return errorf(ErrBadPayload, "%s message header truncated", h.Payload)
	}
	h.MessageType = frame[base+3]
	nameLen := int(int32(binary.BigEndian.Uint32(frame[base+4:])))
	seqOff := base + 8 + nameLen
	if nameLen < 0 || seqOff+4 > len(frame) || seqOff < 0 {
		return errorf(ErrBadPayload, "%s method name of %d bytes overruns the frame", h.Payload, nameLen)
	}
	h.PayloadMethod = frame[base+8 : seqOff]
	h.payloadSeqOff = seqOff
	h.PayloadSeqID = int32(binary.BigEndian.Uint32(frame[seqOff:]))
	if h.Method == nil {
		h.Method = h.PayloadMethod
	}
	return nil
}

// SetSeqIDs rewrites, in the decoded frame, the TTHeader seqID to seq and the
// payload seqID to payloadSeq (when there is a payload). The Header is not
// updated: it describes the frame as it arrived.
func (h *Header) SetSeqIDs(frame []byte, seq, payloadSeq int32) {
	binary.BigEndian.PutUint32(frame[8:], uint32(seq))
	if h.Payload != PayloadNone {
		binary.BigEndian.PutUint32(frame[h.payloadSeqOff:], uint32(payloadSeq))
	}
}

// StrInfo returns the value of string info key in the decoded frame, or nil.
// A key given more than once has its last value, as for Kitex (the
// reference decoder keeps string infos in a map) and MeshError.
func (h *Header) StrInfo(frame []byte, key string) []byte {
	var found []byte
	info := frame[:h.payloadStart]
	for i := h.infoStart; i < len(info); {
		id := info[i]
		i++
		switch id {
		case infoStrKV:
			n, _ := u16(info, i)
			i += 2
			for k := 0; k < n; k++ {
				var kb, vb []byte
				kb, i, _ = str16(info, i)
				vb, i, _ = str16(info, i)
				if string(kb) == key {
					found = vb
				}
			}
		case infoIntKV:
			n, _ := u16(info, i)
			i += 2
			for k := 0; k < n; k++ {
				_, i, _ = str16(info, i+2)
			}
		case infoACLToken:
			_, i, _ = str16(info, i)
		}
	}
	return found
}

func u16(b []byte, i int) (int, bool) {
	if i+2 > len(b) {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b[i:])), true
}

// str16 reads a string with a 2-byte length at i and returns it and the
// offset after it.
func str16(b []byte, i int) ([]byte, int, bool) {
	n, ok := u16(b, i)
	if !ok || i+2+n > len(b) {
		return nil, len(b), false
	}
	return b[i+2 : i+2+n], i + 2 + n, true
}
