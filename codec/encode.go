package codec

import (
	"encoding/binary"
	"fmt"
)

// IntKV is one int info entry.
type IntKV struct {
	Key   uint16
	Value string
}

// StrKV is one string info entry.
type StrKV struct {
	Key, Value string
}

// FrameHeader describes a frame the mesh writes itself. Entries are written
// in slice order, so encoding is deterministic.
type FrameHeader struct {
	Flags      uint16
	SeqID      int32
	ProtocolID uint8
	IntInfo    []IntKV
	StrInfo    []StrKV
}

// BeginFrame appends fh's TTHeader to dst with the length left open, and
// returns the buffer and the offset where the frame starts. Append the
// payload, then call EndFrame.
func BeginFrame(dst []byte, fh *FrameHeader) ([]byte, int, error) {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0) // length, set by EndFrame
	dst = binary.BigEndian.AppendUint16(dst, Magic)
	dst = binary.BigEndian.AppendUint16(dst, fh.Flags)
	dst = binary.BigEndian.AppendUint32(dst, uint32(fh.SeqID))
	sizeAt := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, 0) // header size, set below
	dst = append(dst, fh.ProtocolID, 0)         // no transforms
	if len(fh.StrInfo) > 0 {
		dst = append(dst, infoStrKV)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(fh.StrInfo)))
		for _, kv := range fh.StrInfo {
			if len(kv.Key) > 0xffff || len(kv.Value) > 0xffff {
				return dst[:start], start, fmt.Errorf("codec: string info %q longer than 65535 bytes", kv.Key)
			}
			dst = appendStr16(dst, kv.Key)
			dst = appendStr16(dst, kv.Value)
		}
	}
	if len(fh.IntInfo) > 0 {
		dst = append(dst, infoIntKV)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(fh.IntInfo)))
		for _, kv := range fh.IntInfo {
			if len(kv.Value) > 0xffff {
				return dst[:start], start, fmt.Errorf("codec: int info %d longer than 65535 bytes", kv.Key)
			}
			dst = binary.BigEndian.AppendUint16(dst, kv.Key)
			dst = appendStr16(dst, kv.Value)
		}
	}
	for (len(dst)-sizeAt-2)%4 != 0 {
		dst = append(dst, infoPadding)
	}
	size := len(dst) - sizeAt - 2
	if len(fh.StrInfo) > 0xffff || len(fh.IntInfo) > 0xffff || size > MaxHeaderSize {
		return dst[:start], start, fmt.Errorf("codec: header of %d bytes is over the %d-byte limit", size, MaxHeaderSize)
	}
	binary.BigEndian.PutUint16(dst[sizeAt:], uint16(size/4))
	return dst, start, nil
}

// EndFrame sets the length prefix of the frame that BeginFrame started at
// start, now that its payload has been appended.
func EndFrame(b []byte, start int) {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
}

// String info keys the mesh itself reads and writes. Kitex and other
// TTHeader peers ignore keys they do not know.
const (
	// KeyError marks a response the mesh generated instead of the callee;
	// its value is the failure kind (ErrorNoRoute, ...).
	KeyError = "om-error"
)

// Values of KeyError, one per ErrorKind (kinds.go says what each means).
const (
	ErrorNoRoute     = "no_route"
	ErrorOverloaded  = "overloaded"
	ErrorUnreachable = "unreachable"
	ErrorTimeout     = "timeout"
	ErrorConnLost    = "connection_lost"
	// ErrorRestarting: the sidecar is being replaced and did not forward
	// the request; retry it on a new connection (the new process).
	ErrorRestarting       = "restarting"
	ErrorRateLimited      = "rate_limited"
	ErrorCircuitOpen      = "circuit_open"
	ErrorFault            = "fault"
	ErrorDeadlineExceeded = "deadline_exceeded"
	ErrorNoInstances      = "no_instances"
	ErrorPermissionDenied = "permission_denied"
)

// KeyControl marks a control frame (no payload) the mesh sends between
// sidecars; its value says what it is.
const KeyControl = "om-ctrl"

// ControlProxyRestart: the sending sidecar is being replaced. The receiver
// sends no new request on this connection, dials a new one (which reaches
// the new process) and closes this one once its responses are in.
const ControlProxyRestart = "proxy-restart"

// ControlHealth is a sidecar's probe of a peer it has ejected: the peer
// answers, with the probe's seqID, ControlHealthOK when it can serve its
// app's calls and ControlHealthFail when it cannot.
const (
	ControlHealth     = "health"
	ControlHealthOK   = "health-ok"
	ControlHealthFail = "health-fail"
)

// AppendControlFrame appends a control frame of the given kind.
func AppendControlFrame(dst []byte, kind string) []byte {
	return AppendControlFrameSeq(dst, kind, 0)
}

// AppendControlFrameSeq appends a control frame of the given kind with
// seqID seq.
func AppendControlFrameSeq(dst []byte, kind string, seq int32) []byte {
	kv := [1]StrKV{{Key: KeyControl, Value: kind}}
	b, start, _ := BeginFrame(dst, &FrameHeader{SeqID: seq, StrInfo: kv[:]}) // small and fixed: cannot fail
	EndFrame(b, start)
	return b
}

// KeyConnReset is Kitex's "connection ready to reset" key: a client that
// sees it on a response closes that connection instead of pooling it.
const KeyConnReset = "crrst"

// Thrift TApplicationException types that the mesh uses.
const (
	ExceptionUnknown       = 0
	ExceptionInternalError = 6
	ExceptionProtocolError = 7
	// ExceptionSidecarRestart marks the answer of a sidecar that is being
	// replaced (ErrorRestarting); the sdk retries such a request once.
	ExceptionSidecarRestart = 0x4f4d52 // "OMR"
)

// AppendException appends a payload of the given kind that carries an
// exception with the given type and message, in reply to a request with
// payload seqID seq. Kitex checks neither method name nor seqID on an
// exception, but both are echoed for other readers.
func AppendException(dst []byte, kind PayloadKind, method []byte, seq int32, typeID int32, msg []byte) []byte {
	start := len(dst)
	if kind == PayloadThriftFramed || kind == PayloadProtobuf {
		dst = binary.BigEndian.AppendUint32(dst, 0) // frame length, set below
	}
	magic := uint32(0x80010000)
	if kind == PayloadProtobuf {
		magic = 0x90010000
	}
	dst = binary.BigEndian.AppendUint32(dst, magic|MessageException)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(method)))
	dst = append(dst, method...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(seq))
	if kind == PayloadProtobuf {
		// ErrorProto{TypeID int32 = 1; Message string = 2}
		dst = append(dst, 0x08)
		dst = binary.AppendUvarint(dst, uint64(uint32(typeID)))
		dst = append(dst, 0x12)
		dst = binary.AppendUvarint(dst, uint64(len(msg)))
		dst = append(dst, msg...)
	} else {
		// struct TApplicationException {1: string message, 2: i32 type}
		dst = append(dst, 11, 0, 1) // STRING, field 1
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(msg)))
		dst = append(dst, msg...)
		dst = append(dst, 8, 0, 2) // I32, field 2
		dst = binary.BigEndian.AppendUint32(dst, uint32(typeID))
		dst = append(dst, 0) // STOP
	}
	if kind == PayloadThriftFramed || kind == PayloadProtobuf {
		binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	}
	return dst
}

func appendStr16(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}
