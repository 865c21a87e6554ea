package mocksidecar

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
)

// The lean transport (Options.Transport "lean", the default): each
// simulated sidecar's delta ADS stream is one HTTP/2 stream (h2c) on a TCP
// connection of its own, spoken directly: the client preface and SETTINGS,
// one HEADERS (encoded once per sidecar and pilot), gRPC's length-prefixed
// messages in DATA frames, WINDOW_UPDATEs as it reads, PING and SETTINGS
// ACKs, and the stream's end (trailers, RST_STREAM, GOAWAY, a closed
// connection) as the gRPC status errors gRPC-go would return. No
// goroutine of its own: an event loop of the process reads the stream
// and runs the sidecar's receive, batching its answers with other
// streams' (leanloop.go); with OCTOMESH_MOCK_LEAN_LOOP=off the sidecar's
// session goroutine reads (Recv). Whoever else sends writes inline.
// What the sidecar sends and checks is the
// same as on the gRPC-go transport (a ClientConn per sidecar: resolver,
// balancer, transport goroutines), which costs several times the CPU per
// push and per reconnection (docs/performance.md, "Lean mock sidecars").

// Transports.
const (
	TransportLean = "lean"
	TransportGRPC = "grpc"
)

// adsStream is a delta ADS stream as the sidecar uses it: gRPC-go's
// client stream or a leanStream.
type adsStream interface {
	Send(*discovery.DeltaDiscoveryRequest) error
	Recv() (*discovery.DeltaDiscoveryResponse, error)
}

const (
	adsPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
	// leanWindow is the receive window, of the stream and of the
	// connection, as the gRPC-go transport sets it (64 KiB, static).
	leanWindow = 64 << 10
	// leanWindowUpdate: return consumed bytes once this many gathered.
	leanWindowUpdate = leanWindow / 4
	// Client keepalive, as the gRPC-go transport has it: a PING after
	// 30s without a frame from the pilot, the connection closed if 20s
	// more pass without one.
	leanKeepaliveTime    = 30 * time.Second
	leanKeepaliveTimeout = 20 * time.Second
	streamID             = 1
	leanReadBuffer       = 2 << 10
	leanKeepBuffer       = 4 << 10 // larger write buffers go back to the pool
)

// msgPool holds buffers of partly read gRPC messages: a sidecar holds one
// only while a message is arriving.
var msgPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// headerBlock is the HPACK encoding of the stream's request headers.
// Every field is a literal that is never indexed (or one of the static
// table), so the same bytes are valid as the first header block of any
// connection.
func headerBlock(authority, app string) []byte {
	var b bytesWriter
	enc := hpack.NewEncoder(&b)
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: adsPath},
		{Name: ":authority", Value: authority},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: "octomesh-mocksidecar"},
	}
	if app != "" {
		fields = append(fields, hpack.HeaderField{Name: meta.AppHeader, Value: app})
	}
	for _, f := range fields {
		f.Sensitive = true
		_ = enc.WriteField(f)
	}
	return b
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// leanStream is one delta ADS stream on its own connection.
type leanStream struct {
	conn net.Conn
	ctx  context.Context

	// Reading: Recv, or a sender that waits for send window and finds
	// no one reading.
	rmu        sync.Mutex
	br         *bufio.Reader // nil on a loop's stream
	src        frameSource
	fr         *http2.Framer
	msg        *[]byte // a gRPC message arriving (from msgPool)
	queue      []*discovery.DeltaDiscoveryResponse
	gotHeaders bool
	recvConn   int // bytes read and not yet returned by a WINDOW_UPDATE
	recvStream int
	frames     atomic.Uint32 // frames read, for keepalive

	// smu orders senders (a message's frames are contiguous).
	smu  sync.Mutex
	obuf []byte

	// wmu guards writes to conn.
	wmu  sync.Mutex
	wbuf []byte

	mu         sync.Mutex
	err        error // the stream's end: Recv returns it once the messages before it are read
	peerWindow int   // the pilot's SETTINGS_INITIAL_WINDOW_SIZE
	sendConn   int   // send windows
	sendStream int
	maxFrame   int
	winCh      chan struct{} // closed when the send window grows (made when a sender waits)
	ka         *time.Timer
	kaSeen     uint32
	kaPing     bool
	stopCtx    func() bool

	// On an event loop's stream (leanloop.go): the loop reads the
	// socket and hands each response to handler on its goroutine.
	lp        *leanLoop
	fd        int
	slot      int32
	fdmu      sync.Mutex // held while the loop uses fd, and by end to close it
	closed    bool       // fdmu
	done      chan struct{}
	pending   []byte // the start of a frame (or header block) still arriving
	readBytes int64  // rmu: bytes the loop read (tests)
	handler   func(*discovery.DeltaDiscoveryResponse) error
	herr      error                              // handler's error, which ended the stream
	queued    chan struct{}                      // signalled when a response is queued and no handler takes it (Recv)
	later     []*discovery.DeltaDiscoveryRequest // mu: deferred sends handed to a goroutine, in order
	dirty     bool                               // the loop's: in its batch's list of streams to write
	reading   bool                               // the loop's: in its batch's list of streams to read
}

// frameSource is what the stream's framer reads: the buffered
// connection, or on a loop's stream the bytes of whole frames the loop
// read (and, at the end of the input, what remains of a partial one).
type frameSource struct {
	br  *bufio.Reader
	b   []byte
	eof bool
}

func (s *frameSource) Read(p []byte) (int, error) {
	if s.br != nil {
		return s.br.Read(p)
	}
	if len(s.b) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		return 0, io.ErrNoProgress // never: the loop hands whole frames
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// dialLean connects to address and prepares the stream: the preface,
// SETTINGS and HEADERS are written with the first message.
func dialLean(ctx context.Context, xds string, header []byte, index int) (*leanStream, error) {
	network, address, err := config.ParseAddress(xds)
	if err != nil {
		return nil, err
	}
	// gRPC-go gives a connection attempt 20s (its minimum connect
	// timeout) before it fails the RPC.
	d := net.Dialer{Timeout: 20 * time.Second, LocalAddr: sourceAddr(index, network, address)}
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		if ctx.Err() != nil {
			return nil, grpcstatus.Error(codes.Canceled, ctx.Err().Error())
		}
		return nil, grpcstatus.Errorf(codes.Unavailable, "connection error: %v", err)
	}
	return newLeanStream(ctx, conn, header, pickLoop())
}

// newLeanStream prepares the stream on conn, read by lp (nil: by Recv).
func newLeanStream(ctx context.Context, conn net.Conn, header []byte, lp *leanLoop) (*leanStream, error) {
	ls := &leanStream{conn: conn, ctx: ctx,
		peerWindow: 65535, sendConn: 65535, sendStream: 65535, maxFrame: 16384, fd: -1, slot: -1}
	if lp == nil {
		ls.br = bufio.NewReaderSize(conn, leanReadBuffer)
		ls.src.br = ls.br
	}
	ls.fr = http2.NewFramer(nil, &ls.src)
	ls.fr.SetReuseFrames()
	ls.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	ls.fr.MaxHeaderListSize = 1 << 20
	b := append(make([]byte, 0, 256), http2.ClientPreface...)
	// SETTINGS: INITIAL_WINDOW_SIZE 64 KiB; the connection's window from
	// 65535 to 64 KiB.
	b = appendFrameHeader(b, 6, http2.FrameSettings, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(http2.SettingInitialWindowSize))
	b = binary.BigEndian.AppendUint32(b, leanWindow)
	b = appendWindowUpdate(b, 0, leanWindow-65535)
	b = appendFrameHeader(b, len(header), http2.FrameHeaders, http2.FlagHeadersEndHeaders, streamID)
	ls.wbuf = append(b, header...)
	ls.ka = time.AfterFunc(leanKeepaliveTime, ls.keepalive)
	stop := context.AfterFunc(ctx, func() { ls.end(grpcstatus.Error(codes.Canceled, context.Canceled.Error())) })
	ls.mu.Lock()
	ls.stopCtx = stop
	ls.mu.Unlock()
	if lp != nil {
		if err := lp.add(ls); err != nil {
			err = grpcstatus.Errorf(codes.Unavailable, "connection error: %v", err)
			ls.end(err)
			return nil, err
		}
	}
	return ls, nil
}

func appendFrameHeader(b []byte, length int, t http2.FrameType, flags http2.Flags, stream uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(t), byte(flags),
		byte(stream>>24), byte(stream>>16), byte(stream>>8), byte(stream))
}

func appendWindowUpdate(b []byte, stream uint32, n int) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, stream)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// end records the stream's end (the first one wins) and closes the
// connection: it carries this stream only.
func (ls *leanStream) end(err error) {
	ls.mu.Lock()
	if ls.err != nil {
		ls.mu.Unlock()
		return
	}
	ls.err = err
	if ls.winCh != nil {
		close(ls.winCh)
		ls.winCh = nil
	}
	ls.ka.Stop()
	stop := ls.stopCtx
	ls.mu.Unlock()
	if stop != nil {
		stop()
	}
	if ls.done != nil {
		close(ls.done)
	}
	ls.fdmu.Lock()
	if ls.lp != nil && !ls.closed {
		ls.lp.remove(ls)
	}
	ls.closed = true
	_ = ls.conn.Close()
	ls.fdmu.Unlock()
}

func (ls *leanStream) ended() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.err
}

// Close ends the stream (the sidecar's session is over).
func (ls *leanStream) Close() {
	ls.end(grpcstatus.Error(codes.Canceled, "the sidecar closed the stream"))
	ls.rmu.Lock()
	if ls.msg != nil {
		*ls.msg = (*ls.msg)[:0]
		msgPool.Put(ls.msg)
		ls.msg = nil
	}
	ls.rmu.Unlock()
}

// keepalive runs from a timer: ping a pilot silent for 30s, give up on
// it after 20s more.
func (ls *leanStream) keepalive() {
	n := ls.frames.Load()
	ls.mu.Lock()
	if ls.err != nil {
		ls.mu.Unlock()
		return
	}
	if n != ls.kaSeen {
		ls.kaSeen, ls.kaPing = n, false
		ls.ka.Reset(leanKeepaliveTime)
		ls.mu.Unlock()
		return
	}
	if ls.kaPing {
		ls.mu.Unlock()
		ls.end(grpcstatus.Error(codes.Unavailable, "keepalive ping not answered"))
		return
	}
	ls.kaPing = true
	ls.ka.Reset(leanKeepaliveTimeout)
	ls.mu.Unlock()
	ls.write(func(b []byte) []byte {
		b = appendFrameHeader(b, 8, http2.FramePing, 0, 0)
		return append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	})
}

// add appends frames to the write buffer, to be written with the next
// write: frames the reader answers with (SETTINGS and PING ACKs,
// WINDOW_UPDATEs) and auto-ACKs wait until the reader has handled what
// it has buffered, so that the answers to one read go in one write.
func (ls *leanStream) add(frames func([]byte) []byte) {
	ls.wmu.Lock()
	ls.wbuf = frames(ls.wbuf)
	ls.wmu.Unlock()
}

// write appends frames to the write buffer and writes it (with whatever
// an earlier sender or the reader left there).
func (ls *leanStream) write(add func([]byte) []byte) error {
	ls.wmu.Lock()
	defer ls.wmu.Unlock()
	if add != nil {
		ls.wbuf = add(ls.wbuf)
	}
	if len(ls.wbuf) == 0 {
		return nil
	}
	_, err := ls.conn.Write(ls.wbuf)
	if cap(ls.wbuf) > leanKeepBuffer {
		ls.wbuf = nil
	} else {
		ls.wbuf = ls.wbuf[:0]
	}
	if err != nil {
		ls.end(ls.connError(err))
		return io.EOF
	}
	return nil
}

func (ls *leanStream) connError(err error) error {
	if ls.ctx.Err() != nil {
		return grpcstatus.Error(codes.Canceled, ls.ctx.Err().Error())
	}
	return grpcstatus.Errorf(codes.Unavailable, "error reading from server: %v", err)
}

// Send sends one request.
func (ls *leanStream) Send(r *discovery.DeltaDiscoveryRequest) error {
	return ls.send(true, r)
}

// SendAll sends requests in one write, if the windows allow.
func (ls *leanStream) SendAll(reqs []*discovery.DeltaDiscoveryRequest) error {
	return ls.send(true, reqs...)
}

// SendDeferred sends a request from the reader's goroutine (an
// auto-ACK): it is written with the reader's next write, at the latest
// when the reader has handled all it has buffered and is about to wait.
func (ls *leanStream) SendDeferred(r *discovery.DeltaDiscoveryRequest) error {
	if ls.lp != nil {
		return ls.sendFromLoop(r)
	}
	return ls.send(false, r)
}

func (ls *leanStream) send(flush bool, reqs ...*discovery.DeltaDiscoveryRequest) error {
	ls.smu.Lock()
	defer ls.smu.Unlock()
	return ls.sendHeld(flush, reqs...)
}

// sendHeld is send with smu held.
func (ls *leanStream) sendHeld(flush bool, reqs ...*discovery.DeltaDiscoveryRequest) error {
	for _, r := range reqs {
		b := append(ls.obuf[:0], 0, 0, 0, 0, 0)
		b, err := appendRequest(b, r)
		if err != nil {
			return grpcstatus.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
		}
		binary.BigEndian.PutUint32(b[1:], uint32(len(b)-5))
		for off := 0; off < len(b); {
			n, err := ls.reserve(len(b) - off)
			if err != nil {
				return err
			}
			chunk := b[off : off+n]
			ls.wmu.Lock()
			ls.wbuf = appendFrameHeader(ls.wbuf, n, http2.FrameData, 0, streamID)
			ls.wbuf = append(ls.wbuf, chunk...)
			ls.wmu.Unlock()
			off += n
		}
		if cap(b) > leanKeepBuffer {
			b = nil
		}
		ls.obuf = b
	}
	if !flush {
		return nil
	}
	return ls.write(nil)
}

// reserve takes up to want bytes of send window (and at most a frame),
// waiting for the pilot's WINDOW_UPDATE if there is none. While it waits
// it reads frames itself if no one else is reading.
func (ls *leanStream) reserve(want int) (int, error) {
	for {
		ls.mu.Lock()
		if ls.err != nil {
			ls.mu.Unlock()
			return 0, io.EOF
		}
		if n := min(want, ls.sendConn, ls.sendStream, ls.maxFrame); n > 0 {
			ls.sendConn -= n
			ls.sendStream -= n
			ls.mu.Unlock()
			return n, nil
		}
		if ls.winCh == nil {
			ls.winCh = make(chan struct{})
		}
		ch := ls.winCh
		ls.mu.Unlock()
		if err := ls.write(nil); err != nil { // what is buffered, so the pilot can grant more
			return 0, err
		}
		if ls.lp == nil && ls.rmu.TryLock() {
			ls.pump()
			ls.rmu.Unlock()
			continue
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// Recv returns the next response, or the stream's end as a gRPC status
// error (io.EOF for status OK).
func (ls *leanStream) Recv() (*discovery.DeltaDiscoveryResponse, error) {
	if ls.lp != nil {
		return ls.recvLoop()
	}
	ls.rmu.Lock()
	defer ls.rmu.Unlock()
	for {
		if len(ls.queue) > 0 {
			r := ls.queue[0]
			n := copy(ls.queue, ls.queue[1:])
			ls.queue[n] = nil
			ls.queue = ls.queue[:n]
			return r, nil
		}
		if err := ls.ended(); err != nil {
			return nil, err
		}
		if ls.br.Buffered() == 0 {
			// About to wait for the pilot: write what answers it.
			if err := ls.write(nil); err != nil {
				continue
			}
		}
		ls.pump()
	}
}

// pump reads and handles one frame; rmu is held.
func (ls *leanStream) pump() {
	f, err := ls.fr.ReadFrame()
	ls.frame(f, err)
}

// frame handles what the framer read: a frame, or an error that ends the
// stream; rmu is held.
func (ls *leanStream) frame(f http2.Frame, err error) {
	if err != nil {
		var se http2.StreamError
		switch {
		case errors.As(err, &se):
			ls.end(grpcstatus.Errorf(codes.Internal, "protocol error from the pilot: %v", err))
		case errors.As(err, new(http2.ConnectionError)):
			ls.end(grpcstatus.Errorf(codes.Internal, "protocol error from the pilot: %v", err))
		default:
			ls.end(ls.connError(err))
		}
		return
	}
	ls.frames.Add(1)
	switch f := f.(type) {
	case *http2.DataFrame:
		ls.data(f)
	case *http2.MetaHeadersFrame:
		if f.StreamID != streamID {
			return
		}
		if !ls.gotHeaders && !f.StreamEnded() {
			ls.gotHeaders = true
			if st := f.PseudoValue("status"); st != "200" {
				ls.end(httpStatusError(st))
			}
			return
		}
		ls.gotHeaders = true
		ls.end(trailerStatus(f))
	case *http2.RSTStreamFrame:
		if f.StreamID == streamID {
			ls.end(grpcstatus.Errorf(rstCode(f.ErrCode), "stream terminated by RST_STREAM with error code: %v", f.ErrCode))
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			return
		}
		ls.mu.Lock()
		_ = f.ForeachSetting(func(s http2.Setting) error {
			switch s.ID {
			case http2.SettingInitialWindowSize:
				// The stream's window moves by the change (RFC 9113,
				// 6.9.2); it was opened under the default, 65535.
				ls.sendStream += int(s.Val) - ls.peerWindow
				ls.peerWindow = int(s.Val)
			case http2.SettingMaxFrameSize:
				ls.maxFrame = int(s.Val)
			}
			return nil
		})
		ls.grownLocked()
		ls.mu.Unlock()
		ls.add(func(b []byte) []byte { return appendFrameHeader(b, 0, http2.FrameSettings, http2.FlagSettingsAck, 0) })
	case *http2.PingFrame:
		if f.IsAck() {
			return
		}
		data := f.Data
		ls.add(func(b []byte) []byte {
			b = appendFrameHeader(b, 8, http2.FramePing, http2.FlagPingAck, 0)
			return append(b, data[:]...)
		})
	case *http2.WindowUpdateFrame:
		ls.mu.Lock()
		switch f.StreamID {
		case 0:
			ls.sendConn += int(f.Increment)
		case streamID:
			ls.sendStream += int(f.Increment)
		}
		ls.grownLocked()
		ls.mu.Unlock()
	case *http2.GoAwayFrame:
		if f.LastStreamID < streamID {
			ls.end(grpcstatus.Errorf(codes.Unavailable, "the pilot sent GOAWAY (%v): %s", f.ErrCode, f.DebugData()))
		}
		// Else the stream may finish; the connection closes after it.
	case *http2.PushPromiseFrame:
		ls.end(grpcstatus.Error(codes.Internal, "protocol error from the pilot: PUSH_PROMISE"))
	}
}

func (ls *leanStream) grownLocked() {
	if ls.winCh != nil {
		close(ls.winCh)
		ls.winCh = nil
	}
}

// data handles a DATA frame: flow control, then the gRPC messages it
// completes, decoded into the queue.
func (ls *leanStream) data(f *http2.DataFrame) {
	ls.dataOf(f.StreamID, f.StreamEnded(), int(f.Header().Length), f.Data())
}

// dataOf is data for a DATA frame of stream id, n bytes long with its
// padding, whose payload is p.
func (ls *leanStream) dataOf(id uint32, ended bool, n int, p []byte) {
	ls.recvConn += n
	if id == streamID && !ended {
		ls.recvStream += n
	}
	if ls.recvConn >= leanWindowUpdate || ls.recvStream >= leanWindowUpdate {
		c, s := ls.recvConn, 0
		ls.recvConn = 0
		if ls.recvStream >= leanWindowUpdate {
			s, ls.recvStream = ls.recvStream, 0
		}
		ls.add(func(b []byte) []byte {
			b = appendWindowUpdate(b, 0, c)
			if s > 0 {
				b = appendWindowUpdate(b, streamID, s)
			}
			return b
		})
	}
	if id != streamID {
		return
	}
	if len(p) > 0 {
		// The usual frame holds whole messages: read them where they
		// are; only a part of one is copied, to wait for the rest.
		b := p
		if ls.msg != nil {
			*ls.msg = append(*ls.msg, p...)
			b = *ls.msg
		}
		for len(b) >= 5 {
			if b[0] != 0 {
				ls.end(grpcstatus.Error(codes.Internal, "grpc: compressed message from the pilot, none was asked for"))
				return
			}
			size := int(binary.BigEndian.Uint32(b[1:5]))
			if len(b) < 5+size {
				break
			}
			var r *discovery.DeltaDiscoveryResponse
			var err error
			if ls.lp != nil { // on the loop's goroutine
				r, err = ls.lp.responses.decode(b[5 : 5+size])
			} else {
				r, err = decodeResponse(b[5 : 5+size])
			}
			if err != nil {
				ls.end(grpcstatus.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err))
				return
			}
			ls.queue = append(ls.queue, r)
			b = b[5+size:]
		}
		switch {
		case ls.msg == nil && len(b) > 0:
			ls.msg = msgPool.Get().(*[]byte)
			*ls.msg = append((*ls.msg)[:0], b...)
		case ls.msg != nil && len(b) == 0:
			*ls.msg = (*ls.msg)[:0]
			msgPool.Put(ls.msg)
			ls.msg = nil
		case ls.msg != nil && len(b) < len(*ls.msg):
			*ls.msg = append((*ls.msg)[:0], b...)
		}
	}
	if ended {
		ls.end(grpcstatus.Error(codes.Internal, "server closed the stream without sending trailers"))
	}
}

// trailerStatus reads the status from trailers (or a trailers-only
// response): nil error is io.EOF, as gRPC-go's Recv returns.
func trailerStatus(f *http2.MetaHeadersFrame) error {
	code, msg, details, hasCode := codes.Unknown, "", "", false
	for _, h := range f.RegularFields() {
		switch h.Name {
		case "grpc-status":
			c, err := strconv.ParseUint(h.Value, 10, 32)
			if err != nil {
				return grpcstatus.Errorf(codes.Internal, "transport: malformed grpc-status %q", h.Value)
			}
			code, hasCode = codes.Code(c), true
		case "grpc-message":
			msg = decodeGRPCMessage(h.Value)
		case "grpc-status-details-bin":
			details = h.Value
		}
	}
	if !hasCode {
		if st := f.PseudoValue("status"); st != "" && st != "200" {
			return httpStatusError(st)
		}
		return grpcstatus.Error(codes.Internal, "the pilot ended the stream without grpc-status")
	}
	if code == codes.OK {
		return io.EOF
	}
	if details != "" {
		enc := base64.StdEncoding
		if len(details)%4 != 0 {
			enc = base64.RawStdEncoding
		}
		if raw, err := enc.DecodeString(details); err == nil {
			p := &spb.Status{}
			if err := proto.Unmarshal(raw, p); err == nil && codes.Code(p.GetCode()) == code {
				return grpcstatus.ErrorProto(p)
			}
		}
	}
	return grpcstatus.Error(code, msg)
}

// decodeGRPCMessage undoes grpc-message's percent-encoding.
func decodeGRPCMessage(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		if b != nil {
			b = append(b, s[i])
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

// httpStatusError is gRPC-go's reading of a non-200 HTTP status.
func httpStatusError(st string) error {
	code := codes.Unknown
	switch st {
	case "400":
		code = codes.Internal
	case "401":
		code = codes.Unauthenticated
	case "403":
		code = codes.PermissionDenied
	case "404":
		code = codes.Unimplemented
	case "429", "502", "503", "504":
		code = codes.Unavailable
	}
	return grpcstatus.Errorf(code, "unexpected HTTP status code received from server: %s", st)
}

// rstCode is gRPC-go's reading of an RST_STREAM's error code.
func rstCode(c http2.ErrCode) codes.Code {
	switch c {
	case http2.ErrCodeFlowControl, http2.ErrCodeEnhanceYourCalm:
		return codes.ResourceExhausted
	case http2.ErrCodeRefusedStream:
		return codes.Unavailable
	case http2.ErrCodeCancel:
		return codes.Canceled
	case http2.ErrCodeInadequateSecurity:
		return codes.PermissionDenied
	}
	return codes.Internal
}

var _ adsStream = (*leanStream)(nil)

func (ls *leanStream) String() string { return fmt.Sprintf("lean stream to %s", ls.conn.RemoteAddr()) }

// sourceAddr is the local address simulated sidecar index dials a
// loopback IPv4 pilot from: an address of its own in 127.0.0.0/8 (port
// chosen by the kernel), as if each sidecar were a host of its own. From
// one address, tens of thousands of connections to a few pilot ports make
// the kernel search its table of established connections for a free
// ephemeral port at every connect (__inet_hash_connect): in the
// 50,000-sidecar failover that search was 44% of a mock process's CPU.
// nil (any address) for other destinations.
func sourceAddr(index int, network, address string) net.Addr {
	if network != "tcp" && network != "tcp4" {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host).To4()
	if ip == nil || !ip.IsLoopback() || index < 0 {
		return nil
	}
	// 254 sidecars per /24 (no .0 or .255), from 127.1.0.1 on.
	n := index / 254
	return &net.TCPAddr{IP: net.IPv4(127, byte(1+n>>8), byte(n), byte(1+index%254))}
}
