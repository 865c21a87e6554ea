package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
)

// The benchmark speaks the examples/echo IDL (echo.thrift):
//
//	struct EchoRequest  { 1: i64 id, 2: binary payload }
//	struct EchoResponse { 1: i64 id, 2: binary payload, 3: string server }
//	service Echo { EchoResponse Echo(1: EchoRequest req) }
//
// so a Kitex echo server can stand in for ours, and every frame carries a
// real Thrift message of the chosen size.
const (
	// ServiceName is the TTHeader to-service of every request; the sidecar
	// routes on it.
	ServiceName = "echo"
	// MethodName is the only method.
	MethodName = "Echo"

	// maxFrame bounds what the load generator and the server accept.
	maxFrame = 16 << 20
)

// request is a TTHeader frame carrying one Echo CALL, built once and patched
// in place for each send: both seqIDs (Kitex uses the same one in the
// TTHeader and the payload) and the request id.
type request struct {
	frame        []byte
	payloadSeqAt int // offset of the payload seqID
	idAt         int // offset of EchoRequest.id
}

// newRequest builds the request frame for a payload of size bytes.
func newRequest(size int) *request {
	fh := codec.FrameHeader{IntInfo: []codec.IntKV{
		{Key: codec.IntKeyToService, Value: ServiceName},
		{Key: codec.IntKeyToMethod, Value: MethodName},
	}}
	b, start, err := codec.BeginFrame(make([]byte, 0, size+128), &fh)
	if err != nil {
		panic(err) // a fixed, small header: cannot fail
	}
	r := &request{}
	b = thrift.Binary.AppendMessageBegin(b, MethodName, thrift.CALL, 0)
	r.payloadSeqAt = len(b) - 4
	b = thrift.Binary.AppendFieldBegin(b, thrift.STRUCT, 1) // req
	b = thrift.Binary.AppendFieldBegin(b, thrift.I64, 1)    // req.id
	r.idAt = len(b)
	b = thrift.Binary.AppendI64(b, 0)
	b = thrift.Binary.AppendFieldBegin(b, thrift.STRING, 2) // req.payload
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	for i := 0; i < size; i++ {
		b = append(b, byte('a'+i%26))
	}
	b = thrift.Binary.AppendFieldStop(b) // end of EchoRequest
	b = thrift.Binary.AppendFieldStop(b) // end of the arguments
	codec.EndFrame(b, start)
	r.frame = b
	return r
}

// set stamps seq (both seqIDs) and id into the frame.
func (r *request) set(seq int32, id int64) {
	binary.BigEndian.PutUint32(r.frame[8:], uint32(seq))
	binary.BigEndian.PutUint32(r.frame[r.payloadSeqAt:], uint32(seq))
	binary.BigEndian.PutUint64(r.frame[r.idAt:], uint64(id))
}

// Reply problems the load generator counts, by kind.
const (
	errBadFrame    = "bad_frame"      // not a TTHeader frame we can decode
	errBadReply    = "bad_reply"      // not a REPLY to Echo with an EchoResponse
	errSeqMismatch = "seq_mismatch"   // payload seqID differs from TTHeader seqID
	errWrongID     = "wrong_id"       // the response answers another request
	errBadPayload  = "bad_payload"    // payload of the wrong size
	errException   = "exception"      // a Thrift exception from the server
	errMeshPrefix  = "mesh_"          // + om-error: the sidecar answered itself
	errUnexpected  = "unexpected_seq" // a response to nothing in flight
	errNoResponse  = "no_response"    // still unanswered when the drain ended
	errWrite       = "write"          // the request could not be written
	errRead        = "read"           // the connection failed while requests were in flight
	errOverflow    = "inflight_overflow"
)

// checkReply validates a response frame. It returns the TTHeader seqID (to
// find the request), and for a REPLY the EchoResponse id; kind is "" when the
// response is a correct echo of a payload of payloadBytes bytes.
func checkReply(frame []byte, h *codec.Header, payloadBytes int) (seq int32, id int64, kind string) {
	if err := h.Decode(frame); err != nil {
		return 0, 0, errBadFrame
	}
	seq = h.SeqID
	switch {
	case h.MessageType == codec.MessageException:
		if v := h.StrInfo(frame, codec.KeyError); v != nil {
			return seq, 0, errMeshPrefix + string(v)
		}
		return seq, 0, errException
	case h.MessageType != codec.MessageReply || string(h.PayloadMethod) != MethodName:
		return seq, 0, errBadReply
	case h.PayloadSeqID != h.SeqID:
		return seq, 0, errSeqMismatch
	}
	body := frame[h.PayloadStart():]
	if h.Payload == codec.PayloadThriftFramed {
		body = body[4:]
	}
	body = body[12+len(h.PayloadMethod):] // version|type, name, seqID
	for {
		t, fid, n, err := thrift.Binary.ReadFieldBegin(body)
		if err != nil || t == thrift.STOP {
			return seq, 0, errBadReply
		}
		body = body[n:]
		if fid == 0 && t == thrift.STRUCT {
			rid, payload, _, err := echoFields(body)
			if err != nil {
				return seq, 0, errBadReply
			}
			if len(payload) != payloadBytes {
				return seq, rid, errBadPayload
			}
			return seq, rid, ""
		}
		n, err = thrift.Binary.Skip(body, t)
		if err != nil {
			return seq, 0, errBadReply
		}
		body = body[n:]
	}
}

var errShape = errors.New("bench: not an EchoRequest/EchoResponse")

// echoFields reads an EchoRequest or EchoResponse struct at the start of b:
// the id (field 1, i64) and a view of the payload (field 2, binary); other
// fields are skipped. n is the struct's length including its STOP.
func echoFields(b []byte) (id int64, payload []byte, n int, err error) {
	for {
		t, fid, l, err := thrift.Binary.ReadFieldBegin(b[n:])
		if err != nil {
			return 0, nil, 0, errShape
		}
		n += l
		if t == thrift.STOP {
			return id, payload, n, nil
		}
		switch {
		case fid == 1 && t == thrift.I64:
			if len(b) < n+8 {
				return 0, nil, 0, errShape
			}
			id = int64(binary.BigEndian.Uint64(b[n:]))
			n += 8
		case fid == 2 && t == thrift.STRING:
			if len(b) < n+4 {
				return 0, nil, 0, errShape
			}
			size := int(binary.BigEndian.Uint32(b[n:]))
			n += 4
			if size < 0 || size > len(b)-n {
				return 0, nil, 0, errShape
			}
			payload = b[n : n+size]
			n += size
		default:
			l, err := thrift.Binary.Skip(b[n:], t)
			if err != nil {
				return 0, nil, 0, errShape
			}
			n += l
		}
	}
}

// frameReader reads whole TTHeader frames from a connection into one reused
// buffer, so reading allocates nothing once the buffer fits the frames.
type frameReader struct {
	r    io.Reader
	buf  []byte
	head int // start of unread bytes
	tail int // end of unread bytes
}

func newFrameReader(r io.Reader, size int) *frameReader {
	return &frameReader{r: r, buf: make([]byte, size)}
}

// next returns the next frame, a view valid until the following call.
func (fr *frameReader) next() ([]byte, error) {
	for {
		if f, ok, err := fr.buffered(); ok || err != nil {
			return f, err
		}
		if fr.head > 0 {
			fr.tail = copy(fr.buf, fr.buf[fr.head:fr.tail])
			fr.head = 0
		}
		n, err := fr.r.Read(fr.buf[fr.tail:])
		fr.tail += n
		if n == 0 && err != nil {
			return nil, err
		}
	}
}

// buffered returns the next frame if it is already complete in the buffer.
func (fr *frameReader) buffered() ([]byte, bool, error) {
	avail := fr.tail - fr.head
	if avail < 4 {
		return nil, false, nil
	}
	size := int(binary.BigEndian.Uint32(fr.buf[fr.head:])) + 4
	if size > maxFrame || size < codec.MetaSize {
		return nil, false, fmt.Errorf("bench: frame length %d out of range", size)
	}
	if avail >= size {
		f := fr.buf[fr.head : fr.head+size]
		fr.head += size
		return f, true, nil
	}
	if size > len(fr.buf) {
		nb := make([]byte, size+size/2)
		fr.tail = copy(nb, fr.buf[fr.head:fr.tail])
		fr.head = 0
		fr.buf = nb
	}
	return nil, false, nil
}

// hasFrame says whether a complete frame is already buffered.
func (fr *frameReader) hasFrame() bool {
	avail := fr.tail - fr.head
	return avail >= 4 && avail >= int(binary.BigEndian.Uint32(fr.buf[fr.head:]))+4
}
