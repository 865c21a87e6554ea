package xds_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/proxy/server"
)

// The harness runs the whole control-plane path in one process: a pilot
// with embedded etcd, server sidecars in front of tiny TTHeader backends
// registered in the registry, and a client sidecar whose outbound routes
// come from the pilot.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// logger returns a logger that writes to the test log when -v is given.
func logger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return quiet
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// tempDir is a short directory (Unix socket paths are limited to 107 bytes).
func tempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "omx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// pilotEnv is a pilot whose addresses survive restarts: Unix sockets for
// xDS and HTTP, one etcd data directory.
type pilotEnv struct {
	t       testing.TB
	dir     string
	xdsAddr string
	apiAddr string
	p       *pilot.Pilot
	api     *registry.Client
}

func startPilot(t testing.TB) *pilotEnv {
	t.Helper()
	dir := tempDir(t)
	e := &pilotEnv{t: t, dir: dir, xdsAddr: "unix://" + filepath.Join(dir, "xds.sock"), apiAddr: "unix://" + filepath.Join(dir, "api.sock")}
	e.start()
	api, err := registry.NewClient(e.apiAddr)
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	t.Cleanup(func() {
		if e.p != nil {
			e.p.Close()
		}
		api.Close()
	})
	return e
}

func (e *pilotEnv) start() {
	e.t.Helper()
	p, err := pilot.Start(pilot.Options{XDSAddress: e.xdsAddr, HTTPAddress: e.apiAddr, DataDir: filepath.Join(e.dir, "etcd"), Log: logger(e.t)})
	if err != nil {
		e.t.Fatal(err)
	}
	e.p = p
}

func (e *pilotEnv) stop() {
	e.p.Close()
	e.p = nil
}

// backend is a server app: it answers every call with its name.
type backend struct {
	name  string
	addr  string
	calls atomic.Int64
}

func startBackend(t testing.TB, dir, name string) *backend {
	t.Helper()
	b := &backend{name: name, addr: filepath.Join(dir, name+".sock")}
	ln, err := net.Listen("unix", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	return b
}

func (b *backend) serve(c net.Conn) {
	defer c.Close()
	var h codec.Header
	for {
		frame, err := readFrame(c)
		if err != nil {
			return
		}
		if err := h.Decode(frame); err != nil {
			return
		}
		b.calls.Add(1)
		fh := codec.FrameHeader{SeqID: h.PayloadSeqID}
		o, start, _ := codec.BeginFrame(nil, &fh)
		o = thrift.Binary.AppendMessageBegin(o, string(h.PayloadMethod), thrift.REPLY, h.PayloadSeqID)
		o = thrift.Binary.AppendFieldBegin(o, thrift.STRING, 0)
		o = thrift.Binary.AppendBinary(o, []byte(b.name))
		o = thrift.Binary.AppendFieldStop(o)
		codec.EndFrame(o, start)
		if _, err := c.Write(o); err != nil {
			return
		}
	}
}

func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	f := make([]byte, 4+binary.BigEndian.Uint32(size[:]))
	copy(f, size[:])
	_, err := io.ReadFull(r, f[4:])
	return f, err
}

// sidecar starts a sidecar from YAML.
func sidecar(t testing.TB, yaml string) *server.Server {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cfg, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// instance is one server: a backend behind its own sidecar, whose inbound
// address is what gets registered.
type instance struct {
	be      *backend
	sc      *server.Server
	address string
}

func startInstance(t testing.TB, dir, name string) *instance {
	t.Helper()
	be := startBackend(t, dir, name)
	sc := sidecar(t, fmt.Sprintf(`
node: {id: %s, app: echo}
listeners: [{name: inbound, address: "127.0.0.1:0", routes: [{cluster: local-app}]}]
clusters: [{name: local-app, connections_per_endpoint: 4, endpoints: [{address: "unix://%s"}]}]
`, name, be.addr))
	return &instance{be: be, sc: sc, address: sc.ListenerAddr("inbound")}
}

func (in *instance) registration(weight uint32) registry.Instance {
	return registry.Instance{Service: "echo", App: "echo", Address: in.address, Weight: weight, Zone: "z1"}
}

// clientSidecar is the caller's sidecar, in xDS mode.
func clientSidecar(t testing.TB, e *pilotEnv, dir, extra string) (*server.Server, string) {
	t.Helper()
	out := filepath.Join(dir, "out.sock")
	s := sidecar(t, fmt.Sprintf(`
node: {id: web-1, app: web, zone: z1}
admin: {address: "127.0.0.1:0"}
listeners: [{name: outbound, address: "unix://%s"}]
xds:
  pilot: "%s"
  subscriptions_file: %s
  subscribe_wait: 5s
  reconnect_max: 200ms
%s`, out, e.xdsAddr, filepath.Join(dir, "subscriptions.json"), extra))
	return s, out
}

// caller is one app connection to the client sidecar.
type caller struct {
	t   testing.TB
	c   net.Conn
	seq int32
}

func dial(t testing.TB, path string) *caller {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &caller{t: t, c: c}
}

// call sends one request and returns who answered, or the mesh error.
func (c *caller) call(service, method string) (from, meshErr string) {
	c.t.Helper()
	c.seq++
	fh := codec.FrameHeader{SeqID: c.seq, IntInfo: []codec.IntKV{{Key: codec.IntKeyToService, Value: service}, {Key: codec.IntKeyToMethod, Value: method}}}
	b, start, _ := codec.BeginFrame(nil, &fh)
	b = thrift.Binary.AppendMessageBegin(b, method, thrift.CALL, c.seq)
	b = thrift.Binary.AppendFieldStop(b)
	codec.EndFrame(b, start)
	_ = c.c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.c.Write(b); err != nil {
		c.t.Fatal(err)
	}
	f, err := readFrame(c.c)
	if err != nil {
		c.t.Fatal(err)
	}
	var h codec.Header
	if err := h.Decode(f); err != nil {
		c.t.Fatal(err)
	}
	if e := h.StrInfo(f, codec.KeyError); len(e) > 0 {
		p := f[h.PayloadStart():]
		_, _, _, n, _ := thrift.Binary.ReadMessageBegin(p)
		var ex thrift.ApplicationException
		_, _ = ex.FastRead(p[n:])
		return ex.Msg(), string(e)
	}
	p := f[h.PayloadStart():]
	_, _, _, n, _ := thrift.Binary.ReadMessageBegin(p)
	body, _, _ := thrift.Binary.ReadBinary(p[n+3:])
	return string(body), ""
}

// mustCall fails the test unless the call succeeds; it returns who answered.
func (c *caller) mustCall(service string) string {
	c.t.Helper()
	from, meshErr := c.call(service, "Echo")
	if meshErr != "" {
		c.t.Fatalf("call to %s: %s: %s", service, meshErr, from)
	}
	return from
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spread makes n calls and counts who answered.
func spread(c *caller, n int) map[string]int {
	m := map[string]int{}
	for range n {
		m[c.mustCall("echo")]++
	}
	return m
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// unixGet fetches path from an HTTP server on a Unix socket (unix:///path).
func unixGet(addr, path string) ([]byte, error) {
	sock := strings.TrimPrefix(addr, "unix://")
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://pilot" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
