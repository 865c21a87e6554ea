package sdk_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/gopkg/protocol/ttheader"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// restartingSidecar imitates a sidecar being replaced: connections accepted
// before restart() answer every call with the "restarting" exception (as
// the old process does), later ones echo (the new process).
type restartingSidecar struct {
	ln        net.Listener
	mu        sync.Mutex
	old       map[net.Conn]bool
	flipped   atomic.Bool
	requests  atomic.Int64
	restarts  atomic.Int64
	oldClosed atomic.Int64
}

func (s *restartingSidecar) restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flipped.Store(true)
}

func (s *restartingSidecar) serve(t *testing.T) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		isOld := !s.flipped.Load()
		s.mu.Unlock()
		go func() {
			defer c.Close()
			for {
				frame, err := readFrame(c)
				if err != nil {
					if isOld && errors.Is(err, io.EOF) {
						s.oldClosed.Add(1)
					}
					return
				}
				s.requests.Add(1)
				var args echo.EchoEchoArgs
				d, err := decodeFrame(frame, &args)
				if err != nil {
					t.Error(err)
					return
				}
				req := args.Req
				var out []byte
				if isOld && s.flipped.Load() {
					s.restarts.Add(1)
					out = restartAnswer(d.seq)
				} else {
					out, err = encodeFrame(ttheader.EncodeParam{SeqID: d.seq}, d.framed, d.method, thrift.REPLY,
						&echo.EchoEchoResult{Success: &echo.EchoResponse{Id: req.Id, Payload: req.Payload, Server: "new"}})
					if err != nil {
						t.Error(err)
						return
					}
				}
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

// restartAnswer is what a draining sidecar sends instead of forwarding.
func restartAnswer(seq int32) []byte {
	b, start, _ := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: seq, StrInfo: []codec.StrKV{
		{Key: codec.KeyError, Value: codec.ErrorRestarting}, {Key: codec.KeyConnReset, Value: "1"}}})
	b = codec.AppendException(b, codec.PayloadThriftFramed, []byte("Echo"), seq, codec.ExceptionSidecarRestart,
		[]byte("octomesh: sidecar restarting: the call was not forwarded; retry on a new connection"))
	codec.EndFrame(b, start)
	return b
}

func TestClientRetriesOnceWhenTheSidecarRestarts(t *testing.T) {
	path := socketPath(t, "sidecar.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &restartingSidecar{ln: ln}
	go s.serve(t)

	cli, err := echoservice.NewClient("echo", sdk.ClientOptions(path)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Several callers at once, so the pool holds several connections.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cli.Echo(ctx, &echo.EchoRequest{Id: int64(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	s.restart()
	before := s.requests.Load()
	for i := int64(100); i < 110; i++ {
		resp, err := cli.Echo(ctx, &echo.EchoRequest{Id: i, Payload: []byte("p")})
		if err != nil {
			t.Fatalf("call %d failed across the restart: %v", i, err)
		}
		checkEcho(t, resp, i, []byte("p"), "new")
	}
	if r := s.restarts.Load(); r != 1 {
		t.Errorf("%d calls answered 'restarting'; dropping the idle pool after the first should leave 1", r)
	}
	if n := s.requests.Load() - before; n != 11 {
		t.Errorf("10 calls made %d requests, want 11 (one retry)", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.oldClosed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.oldClosed.Load() == 0 {
		t.Error("the client kept its connections to the old process open")
	}
}

func TestIsSidecarRestart(t *testing.T) {
	if sdk.IsSidecarRestart(errors.New("octomesh: sidecar restarting")) {
		t.Error("a plain error with the words is not the restart answer")
	}
	if sdk.IsSidecarRestart(nil) {
		t.Error("nil")
	}
}
