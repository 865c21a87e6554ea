package bench

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
)

// Server is the benchmark's echo server: a minimal TTHeader/Thrift server
// that answers Echo the way a Kitex server generated from echo.thrift does
// (a REPLY with the same method name, the payload's seqID in both the
// TTHeader and the payload, the EchoResponse in result field 0), so that
// what a benchmark measures is the mesh, not the server.
//
// Each connection has one goroutine; it answers every complete frame it has
// read with one write for all of them (pipelined requests are answered in
// order), into buffers it reuses: nothing is allocated per request.
type Server struct {
	// Name goes into EchoResponse.server.
	Name string

	mu    sync.Mutex
	lns   []net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	done  bool
}

// Serve accepts connections on ln until Close. It returns at once.
func (s *Server) Serve(ln net.Listener) {
	s.mu.Lock()
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.done {
				s.mu.Unlock()
				c.Close()
				return
			}
			if s.conns == nil {
				s.conns = map[net.Conn]struct{}{}
			}
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serveConn(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
}

// Close stops the listeners, closes every connection and waits for the
// goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.done = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	fr := newFrameReader(c, 64<<10)
	out := make([]byte, 0, 64<<10)
	var h codec.Header
	for {
		f, err := fr.next()
		if err != nil {
			return
		}
		if out, err = appendReply(out, f, &h, s.Name); err != nil {
			return // like Kitex: a frame it cannot decode closes the connection
		}
		if fr.hasFrame() {
			continue
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

var errNotThrift = errors.New("bench server: payload is not Thrift binary")

// appendReply appends the answer to the request frame to dst: nothing for a
// oneway call, a TApplicationException for anything but a well-formed Echo
// call, else the EchoResponse with the request's id and payload.
func appendReply(dst, frame []byte, h *codec.Header, name string) ([]byte, error) {
	if err := h.Decode(frame); err != nil {
		return dst, err
	}
	if h.Payload != codec.PayloadThrift && h.Payload != codec.PayloadThriftFramed {
		return dst, errNotThrift
	}
	if h.MessageType == codec.MessageOneway {
		return dst, nil
	}
	fh := codec.FrameHeader{SeqID: h.PayloadSeqID, ProtocolID: h.ProtocolID}
	dst, start, err := codec.BeginFrame(dst, &fh)
	if err != nil {
		return dst, err
	}
	if h.MessageType != codec.MessageCall || string(h.PayloadMethod) != MethodName {
		dst = codec.AppendException(dst, h.Payload, h.PayloadMethod, h.PayloadSeqID,
			thrift.UNKNOWN_METHOD, []byte("bench server: unknown method "+string(h.PayloadMethod)))
		codec.EndFrame(dst, start)
		return dst, nil
	}
	args := frame[h.PayloadStart():]
	if h.Payload == codec.PayloadThriftFramed {
		args = args[4:]
	}
	args = args[12+len(h.PayloadMethod):]
	id, payload, ok := echoArgs(args)
	if !ok {
		dst = codec.AppendException(dst, h.Payload, h.PayloadMethod, h.PayloadSeqID,
			thrift.PROTOCOL_ERROR, []byte("bench server: arguments are not Echo(1: EchoRequest req)"))
		codec.EndFrame(dst, start)
		return dst, nil
	}
	lenAt := len(dst)
	if h.Payload == codec.PayloadThriftFramed {
		dst = binary.BigEndian.AppendUint32(dst, 0)
	}
	dst = binary.BigEndian.AppendUint32(dst, 0x80010000|codec.MessageReply)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(h.PayloadMethod)))
	dst = append(dst, h.PayloadMethod...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.PayloadSeqID))
	dst = thrift.Binary.AppendFieldBegin(dst, thrift.STRUCT, 0) // success
	dst = thrift.Binary.AppendFieldBegin(dst, thrift.I64, 1)
	dst = thrift.Binary.AppendI64(dst, id)
	dst = thrift.Binary.AppendFieldBegin(dst, thrift.STRING, 2)
	dst = thrift.Binary.AppendBinary(dst, payload)
	dst = thrift.Binary.AppendFieldBegin(dst, thrift.STRING, 3)
	dst = thrift.Binary.AppendString(dst, name)
	dst = thrift.Binary.AppendFieldStop(dst) // end of EchoResponse
	dst = thrift.Binary.AppendFieldStop(dst) // end of the result
	if h.Payload == codec.PayloadThriftFramed {
		binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(dst)-lenAt-4))
	}
	codec.EndFrame(dst, start)
	return dst, nil
}

// echoArgs finds EchoRequest (field 1) in the arguments struct.
func echoArgs(b []byte) (id int64, payload []byte, ok bool) {
	found := false
	for {
		t, fid, n, err := thrift.Binary.ReadFieldBegin(b)
		if err != nil {
			return 0, nil, false
		}
		b = b[n:]
		if t == thrift.STOP {
			return id, payload, found
		}
		if fid == 1 && t == thrift.STRUCT {
			id, payload, n, err = echoFields(b)
			found = err == nil
		} else {
			n, err = thrift.Binary.Skip(b, t)
		}
		if err != nil {
			return 0, nil, false
		}
		b = b[n:]
	}
}
