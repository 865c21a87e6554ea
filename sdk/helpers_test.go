package sdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/gopkg/protocol/ttheader"

	"github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
)

// maxSocketPath leaves room under the 108-byte sun_path limit.
const maxSocketPath = 100

// socketPath returns a path for a Unix socket in a directory removed when
// the test ends, short enough for sun_path even when t.TempDir is long.
func socketPath(t *testing.T, name string) string {
	t.Helper()
	if p := filepath.Join(t.TempDir(), name); len(p) <= maxSocketPath {
		return p
	}
	dir, err := os.MkdirTemp("/tmp", "om")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// readFrame reads one TTHeader frame, length prefix included, as
// ttheader.DecodeFromBytes expects it.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > ttheader.MaxFrameSize {
		return nil, fmt.Errorf("frame length %d too large", n)
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	if _, err := io.ReadFull(r, frame[4:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// encodeFrame builds a TTHeader frame around a Thrift binary message,
// with the Thrift message itself framed (4-byte length first) if framed.
func encodeFrame(hdr ttheader.EncodeParam, framed bool, method string, msgType thrift.TMessageType, msg thrift.FastCodec) ([]byte, error) {
	buf, err := ttheader.EncodeToBytes(context.Background(), hdr)
	if err != nil {
		return nil, err
	}
	payload, err := thrift.MarshalFastMsg(method, msgType, hdr.SeqID, msg)
	if err != nil {
		return nil, err
	}
	if framed {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(payload)))
	}
	buf = append(buf, payload...)
	binary.BigEndian.PutUint32(buf[:4], uint32(len(buf)-4))
	return buf, nil
}

// decodedFrame is a TTHeader frame split into header and Thrift message.
type decodedFrame struct {
	hdr    ttheader.DecodeParam
	framed bool   // the Thrift message has its own 4-byte length
	thrift []byte // the Thrift message, without the framed length
	method string
	seq    int32
}

// decodeFrame decodes a TTHeader frame with gopkg's reference decoder and
// its Thrift binary message into msg. It accepts both a framed and an
// unframed Thrift message and reports which it saw.
func decodeFrame(frame []byte, msg thrift.FastCodec) (decodedFrame, error) {
	var d decodedFrame
	hdr, err := ttheader.DecodeFromBytes(context.Background(), frame)
	if err != nil {
		return d, fmt.Errorf("decode TTHeader: %w", err)
	}
	d.hdr = hdr
	payload := frame[hdr.HeaderLen:]
	if len(payload) != hdr.PayloadLen || len(payload) < 4 {
		return d, fmt.Errorf("payload is %d bytes, header says %d", len(payload), hdr.PayloadLen)
	}
	// A strict Thrift binary message starts with 0x80 (version word); a
	// framed one with its length, whose top byte is 0 for any sane size.
	if payload[0] != 0x80 {
		n := binary.BigEndian.Uint32(payload)
		if int(n) != len(payload)-4 {
			return d, fmt.Errorf("framed length %d, %d bytes follow", n, len(payload)-4)
		}
		d.framed = true
		payload = payload[4:]
	}
	d.thrift = payload
	d.method, d.seq, err = thrift.UnmarshalFastMsg(payload, msg)
	if err != nil {
		return d, fmt.Errorf("decode Thrift message: %w", err)
	}
	return d, nil
}

// echoHandler implements the generated echo.Echo service.
type echoHandler struct {
	name string
}

func (h *echoHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Id: req.Id, Payload: req.Payload, Server: h.name}, nil
}

func checkEcho(t *testing.T, resp *echo.EchoResponse, id int64, payload []byte, server string) {
	t.Helper()
	if resp.Id != id || !bytes.Equal(resp.Payload, payload) || resp.Server != server {
		t.Fatalf("response = {id %d, payload %q, server %q}, want {id %d, payload %q, server %q}",
			resp.Id, resp.Payload, resp.Server, id, payload, server)
	}
}

// dialUnix connects to a Unix socket and closes the connection at the end
// of the test.
func dialUnix(t *testing.T, path string) net.Conn {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
