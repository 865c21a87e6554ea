package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/kitex/client/callopt"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	"github.com/octomesh/octomesh/internal/proc"
)

// bin is the octomesh binary, race-built when the tests are (go test
// -race: see proc.Race); fastBin is it without the race detector, for the
// tests that need a sidecar to keep a pace (it is bin when bin is not
// race-built); clientBin the echo-client, a Kitex client run as a process
// of its own for open-loop loads, and serverBin the echo-server, a Kitex
// app as a process of its own (to be frozen): never race-built, so that
// they keep their pace.
var bin, fastBin, clientBin, serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "octomesh-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, err = proc.Build(dir)
	fastBin = bin
	if err == nil && proc.Race() {
		fastDir := filepath.Join(dir, "fast")
		if err = os.Mkdir(fastDir, 0o755); err == nil {
			fastBin, err = proc.BuildForSpeed(fastDir)
		}
	}
	if err == nil {
		clientBin, err = proc.BuildPackage(dir, "echo-client", "github.com/octomesh/octomesh/examples/echo/cmd/echo-client", "ECHO_CLIENT_BIN", false)
	}
	if err == nil {
		serverBin, err = proc.BuildPackage(dir, "echo-server", "github.com/octomesh/octomesh/examples/echo/cmd/echo-server", "ECHO_SERVER_BIN", false)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(proc.ExitCode(code)) // a data race in a sidecar fails the package

}

// mesh is the T2 path: a Kitex echo server, sidecar B in front of it,
// sidecar A for the client; each sidecar its own `octomesh proxy` process.
type mesh struct {
	dir     string
	handler *echo.Handler
	a, b    *proc.Sidecar
	client  echoClient
}

type echoClient interface {
	Echo(ctx context.Context, req *echogen.EchoRequest, opts ...callopt.Option) (*echogen.EchoResponse, error)
}

func startMesh(t *testing.T) *mesh {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-e2e") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &mesh{dir: dir, handler: echo.NewHandler("echo-1")}

	app := filepath.Join(dir, "app.sock")
	svr, err := echo.NewServer(app, "echo-1", m.handler)
	if err != nil {
		t.Fatal(err)
	}
	go svr.Run()

	m.b = startSidecar(t, "b.yaml", fmt.Sprintf(`
node: {id: echo-server-1, app: echo}
admin: {address: "127.0.0.1:0"}
limits: {frame_timeout: 500ms}
listeners:
  - {name: inbound, address: "127.0.0.1:0", routes: [{cluster: local-app}]}
clusters:
  - {name: local-app, connections_per_endpoint: 8, endpoints: [{address: "unix://%s"}]}
`, app))
	m.a = startSidecar(t, "a.yaml", fmt.Sprintf(`
node: {id: echo-client-1, app: echo-client}
admin: {address: "127.0.0.1:0"}
limits: {frame_timeout: 500ms}
listeners:
  - {name: outbound, address: "unix://%s", routes: [{service: echo, cluster: echo}]}
clusters:
  - {name: echo, endpoints: [{address: "%s"}]}
`, filepath.Join(dir, "a.sock"), m.b.Ready.Listeners["inbound"]))

	c, err := echo.NewClient(filepath.Join(dir, "a.sock"))
	if err != nil {
		t.Fatal(err)
	}
	m.client = c
	// Stop the apps only after the sidecars, so no request is cut short.
	t.Cleanup(func() { svr.Stop() })
	return m
}

func startSidecar(t *testing.T, name, yaml string) *proc.Sidecar {
	t.Helper()
	return sidecarProc(t, name, yaml, false)
}

func TestKitexThroughTwoSidecars(t *testing.T) {
	m := startMesh(t)
	ctx := context.Background()

	res, err := echo.RunLoad(ctx, m.client, echo.LoadConfig{
		Requests: 10000, Concurrency: 50, PayloadSize: 256,
		Timeout: 5 * time.Second, MaxDuration: 2 * time.Minute, FirstID: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("through the mesh: %s", res)
	if res.OK() != 10000 || res.Errors != 0 || res.Mismatch != 0 {
		t.Fatalf("%d of 10000 right, %d errors, %d wrong payloads; first failure: %s", res.OK(), res.Errors, res.Mismatch, res.FirstFail)
	}
	if m.handler.Total() != 10000 || m.handler.RepeatedIDs() != 0 {
		t.Fatalf("server handled %d requests, %d ids more than once", m.handler.Total(), m.handler.RepeatedIDs())
	}
	for _, s := range []*proc.Sidecar{m.a, m.b} {
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		responses, err1 := st.Get("upstream.responses")
		errResponses, err2 := st.Get("downstream.error_responses")
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if responses != 10000 || errResponses != 0 {
			t.Errorf("sidecar %d: %d responses, %d error responses", s.PID(), responses, errResponses)
		}
	}
}

// badInput is something a broken or hostile peer writes on a fresh
// connection, and the counter it must bump.
type badInput struct {
	name    string
	bytes   []byte
	counter string
}

func badInputs() []badInput {
	valid := kitexLikeFrame()
	lying := append([]byte(nil), valid...)
	binary.BigEndian.PutUint32(lying, uint32(len(lying)-4-8)) // claims 8 bytes fewer than it has
	oversized := append([]byte(nil), valid[:codec.MetaSize]...)
	binary.BigEndian.PutUint32(oversized, 1<<30)
	return []badInput{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: sidecar\r\n\r\n"), "transport.protocol_errors.not_ttheader"},
		{"lying length", lying, "transport.protocol_errors.bad_length"},
		{"oversized", oversized, "transport.protocol_errors.too_large"},
		{"half-sent", valid[:len(valid)/2], "transport.protocol_errors.frame_timeout"},
	}
}

// kitexLikeFrame is a request as a Kitex client sends it: TTHeader with
// to-service and method, Framed strict Thrift binary payload.
func kitexLikeFrame() []byte {
	b, start, _ := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: 1, IntInfo: []codec.IntKV{
		{Key: codec.IntKeyToService, Value: "echo"}, {Key: codec.IntKeyToMethod, Value: "Echo"}}})
	p := thrift.Binary.AppendMessageBegin(nil, "Echo", thrift.CALL, 1)
	p = thrift.Binary.AppendFieldStop(thrift.Binary.AppendFieldStop(p))
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	b = append(b, p...)
	codec.EndFrame(b, start)
	return b
}

func TestBadInputClosesOnlyItsConnection(t *testing.T) {
	m := startMesh(t)
	ctx := context.Background()

	// Traffic that keeps going while bad input arrives on both listeners.
	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	var nextID atomic.Int64
	nextID.Store(1_000_000)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := make([]byte, 128)
			for n := 0; n < 1_000_000; n++ { // bounded; stop ends it much sooner
				select {
				case <-stop:
					return
				default:
				}
				id := nextID.Add(1)
				resp, err := m.client.Echo(ctx, &echogen.EchoRequest{Id: id, Payload: payload}, callopt.WithRPCTimeout(5*time.Second))
				sent.Add(1)
				if err == nil && resp.Id != id {
					err = fmt.Errorf("request %d answered with id %d", id, resp.Id)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	waitSent := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for sent.Load() < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if sent.Load() < n {
			t.Fatalf("traffic stalled at %d requests", sent.Load())
		}
	}
	waitSent(1000)
	before := sent.Load()

	targets := []struct {
		name, network, address string
		sidecar                *proc.Sidecar
	}{
		{"sidecar A outbound (UDS)", "unix", filepath.Join(m.dir, "a.sock"), m.a},
		{"sidecar B inbound (TCP)", "tcp", m.b.Ready.Listeners["inbound"][len("tcp://"):], m.b},
	}
	var injected sync.WaitGroup
	for _, tg := range targets {
		for _, bad := range badInputs() {
			injected.Add(1)
			go func() {
				defer injected.Done()
				c, err := net.Dial(tg.network, tg.address)
				if err != nil {
					t.Errorf("%s: %v", tg.name, err)
					return
				}
				defer c.Close()
				if _, err := c.Write(bad.bytes); err != nil {
					t.Errorf("%s %s: write: %v", tg.name, bad.name, err)
					return
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := c.Read(make([]byte, 64))
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("%s %s: connection not closed", tg.name, bad.name)
				} else if n > 0 {
					t.Errorf("%s %s: got %d bytes back instead of a close", tg.name, bad.name, n)
				}
			}()
		}
	}
	injected.Wait()
	waitSent(before + 1000) // traffic went on past the bad input
	close(stop)
	wg.Wait()

	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed while bad input arrived; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if m.handler.RepeatedIDs() != 0 {
		t.Errorf("%d ids handled more than once", m.handler.RepeatedIDs())
	}
	for _, tg := range targets {
		st, err := tg.sidecar.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range badInputs() {
			if n, err := st.Get(bad.counter); err != nil || n != 1 {
				t.Errorf("%s: %s = %d, %v; want 1", tg.name, bad.counter, n, err)
			}
		}
	}
	t.Logf("%d requests, none failed, while 8 bad connections were closed and counted", sent.Load())
}
