package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/gopkg/protocol/ttheader"
	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/server"

	"github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// runServer runs a Kitex echo server with opts on sock, waits until it
// serves, and stops it when the test ends.
//
// Waiting matters: Kitex's Server.Stop does nothing if Run has not yet
// built its transport, and then Run never returns. A completed call proves
// Run got that far.
func runServer(t *testing.T, sock string, h echo.Echo, opts []server.Option) {
	t.Helper()
	svr := echoservice.NewServer(h, opts...)
	runErr := make(chan error, 1)
	go func() { runErr <- svr.Run() }()
	t.Cleanup(func() {
		if err := svr.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := <-runErr; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	cli, err := echoservice.NewClient("echo", append(sdk.ClientOptions(sock), client.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Echo(context.Background(), &echo.EchoRequest{Id: -1}); err != nil {
		t.Fatalf("server on %s does not serve: %v", sock, err)
	}
}

func TestServerOptionsSocketPath(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string) // what is at path before
		wantErr error                           // nil: ServerOptions succeeds
		errText string                          // for errors without a sentinel
		kept    bool                            // the file at path must survive
	}{
		{
			name:    "missing",
			prepare: func(*testing.T, string) {},
		},
		{
			name: "stale socket",
			prepare: func(t *testing.T, path string) {
				ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
				if err != nil {
					t.Fatal(err)
				}
				ln.SetUnlinkOnClose(false) // leave the file behind, as a crash would
				ln.Close()
			},
		},
		{
			name: "live socket",
			prepare: func(t *testing.T, path string) {
				ln, err := net.Listen("unix", path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
			},
			wantErr: sdk.ErrSocketInUse,
			kept:    true,
		},
		{
			name: "regular file",
			prepare: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("not a socket"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: sdk.ErrNotSocket,
			kept:    true,
		},
		{
			name: "directory",
			prepare: func(t *testing.T, path string) {
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: sdk.ErrNotSocket,
			kept:    true,
		},
		{
			name: "missing parent directory",
			prepare: func(t *testing.T, path string) {
				if err := os.Remove(filepath.Dir(path)); err != nil {
					t.Fatal(err)
				}
			},
			errText: "listen on app socket",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Dir(socketPath(t, "x"))
			path := filepath.Join(dir, "sub", "app.sock")
			if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, path)
			before, _ := os.Lstat(path)

			opts, err := sdk.ServerOptions(path)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errText)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if tt.kept {
				after, err := os.Lstat(path)
				if err != nil || !os.SameFile(before, after) {
					t.Fatalf("file at path was replaced or removed (%v)", err)
				}
			}
			if err != nil {
				t.Logf("error: %v", err)
				return
			}
			// The socket accepts before Run: callers need not poll.
			dialUnix(t, path)
			runServer(t, path, &echoHandler{name: "s"}, opts)
		})
	}
}

func TestServerOptionsEmptyPath(t *testing.T) {
	if _, err := sdk.ServerOptions(""); err == nil {
		t.Fatal("ServerOptions(\"\") succeeded")
	}
}

func TestServerOptionsPathTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("s", 120)+".sock")
	if _, err := sdk.ServerOptions(path); err == nil {
		t.Fatalf("ServerOptions accepted a %d-byte path", len(path))
	}
}

// orderHandler answers echo calls and records the order in which they ran
// and how many ran at once.
type orderHandler struct {
	mu       sync.Mutex
	order    []int64
	inFlight atomic.Int32
	maxSeen  atomic.Int32
}

func (h *orderHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if req.Id < 0 { // runServer's readiness call
		return &echo.EchoResponse{Id: req.Id}, nil
	}
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for {
		m := h.maxSeen.Load()
		if n <= m || h.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	// The first call is the slowest: if the server ran pipelined calls
	// concurrently, later ones would overtake it.
	if req.Id == 0 {
		time.Sleep(30 * time.Millisecond)
	}
	h.mu.Lock()
	h.order = append(h.order, req.Id)
	h.mu.Unlock()
	return &echo.EchoResponse{Id: req.Id, Payload: req.Payload, Server: "ordered"}, nil
}

// TestServerPipelinedRequests documents what a proxy writing to a Kitex
// server may rely on: several requests written back to back on one
// connection are all accepted, run one at a time in arrival order, and
// answered in that order. The requests carry no more than a proxy has to
// forward (the routing int keys), and mix framed and unframed payloads.
func TestServerPipelinedRequests(t *testing.T) {
	sock := socketPath(t, "app.sock")
	opts, err := sdk.ServerOptions(sock)
	if err != nil {
		t.Fatal(err)
	}
	h := &orderHandler{}
	runServer(t, sock, h, opts)

	const n = 8
	var batch []byte
	for i := range n {
		frame, err := encodeFrame(ttheader.EncodeParam{
			SeqID:   int32(1000 + i),
			IntInfo: map[uint16]string{ttheader.ToService: "echo", ttheader.ToMethod: "Echo"},
		}, i%2 == 0, "Echo", thrift.CALL, &echo.EchoEchoArgs{Req: &echo.EchoRequest{
			Id: int64(i), Payload: fmt.Appendf(nil, "payload-%d", i),
		}})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, frame...)
	}
	conn := dialUnix(t, sock)
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(batch); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		frame, err := readFrame(conn)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		res := echo.NewEchoEchoResult()
		resp, err := decodeFrame(frame, res)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if i == 0 || i == 1 {
			t.Logf("response %d: framed=%v flags=%#x seq=%d int=%v str=%v",
				i, resp.framed, resp.hdr.Flags, resp.hdr.SeqID, resp.hdr.IntInfo, resp.hdr.StrInfo)
		}
		if resp.hdr.SeqID != int32(1000+i) || resp.seq != resp.hdr.SeqID {
			t.Errorf("response %d: TTHeader seq %d, Thrift seq %d, want %d", i, resp.hdr.SeqID, resp.seq, 1000+i)
		}
		if resp.framed != (i%2 == 0) {
			t.Errorf("response %d: framed = %v, want the framing of its request", i, resp.framed)
		}
		want := fmt.Sprintf("payload-%d", i)
		if res.Success == nil || res.Success.Id != int64(i) || string(res.Success.Payload) != want {
			t.Errorf("response %d: %v, want id %d payload %q", i, res.Success, i, want)
		}
	}
	if got := h.maxSeen.Load(); got != 1 {
		t.Errorf("at most %d calls ran at once on one connection, want 1", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, id := range h.order {
		if id != int64(i) {
			t.Fatalf("handler order %v, want arrival order", h.order)
		}
	}
}
