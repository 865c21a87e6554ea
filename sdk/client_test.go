package sdk_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"net"
	"os"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
	"github.com/cloudwego/gopkg/protocol/ttheader"
	"github.com/cloudwego/kitex/client"

	"github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// TestClientOptionsSendsRoutingHeader plays the sidecar with a raw Unix
// listener: it decodes what a Kitex client built with ClientOptions sends
// using gopkg's reference TTHeader decoder, checks the routing keys, and
// answers the call by hand.
func TestClientOptionsSendsRoutingHeader(t *testing.T) {
	sock := socketPath(t, "sidecar.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	type received struct {
		frame []byte
		req   decodedFrame
		args  *echo.EchoEchoArgs
		err   error
	}
	got := make(chan received, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		r := received{args: echo.NewEchoEchoArgs()}
		defer func() { got <- r }()
		conn, err := ln.Accept()
		if err != nil {
			r.err = err
			return
		}
		// Keep the connection open until the test is done, as a sidecar
		// would: the client pools it after the call.
		defer func() { go func() { <-done; conn.Close() }() }()
		if r.frame, r.err = readFrame(conn); r.err != nil {
			return
		}
		if r.req, r.err = decodeFrame(r.frame, r.args); r.err != nil {
			return
		}
		// Answer unframed although the call was framed: Kitex's client
		// detects the framing of each response on its own.
		reply, err := encodeFrame(
			ttheader.EncodeParam{SeqID: r.req.hdr.SeqID, IntInfo: map[uint16]string{ttheader.MsgType: "2"}},
			false, r.req.method, thrift.REPLY,
			&echo.EchoEchoResult{Success: &echo.EchoResponse{Id: r.args.Req.Id, Payload: r.args.Req.Payload, Server: "raw"}})
		if err != nil {
			r.err = err
			return
		}
		_, r.err = conn.Write(reply)
	}()

	const dest = "octomesh.test.echo-dest"
	cli, err := echoservice.NewClient(dest, append(sdk.ClientOptions(sock), client.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("hello sidecar")
	resp, err := cli.Echo(context.Background(), &echo.EchoRequest{Id: 42, Payload: payload})
	if err != nil {
		t.Fatalf("call through raw sidecar: %v", err)
	}
	checkEcho(t, resp, 42, payload, "raw")

	ln.Close() // unblocks the raw sidecar if the client never connected
	r := <-got
	if r.err != nil {
		t.Fatalf("raw sidecar: %v", r.err)
	}
	if magic := binary.BigEndian.Uint16(r.frame[4:6]); magic != 0x1000 {
		t.Errorf("magic = %#04x, want 0x1000", magic)
	}
	if !ttheader.IsTTHeader(r.frame) {
		t.Errorf("ttheader.IsTTHeader = false for % x", r.frame[:8])
	}
	hdr := r.req.hdr
	t.Logf("flags=%#x seq=%d protocol=%#x headerLen=%d payloadLen=%d int=%v str=%v",
		hdr.Flags, hdr.SeqID, hdr.ProtocolID, hdr.HeaderLen, hdr.PayloadLen, hdr.IntInfo, hdr.StrInfo)
	wantInt := map[uint16]string{
		ttheader.ToService:      dest,
		ttheader.ToMethod:       "Echo",
		ttheader.TransportType:  "framed",
		ttheader.MsgType:        "1", // Thrift CALL
		ttheader.RPCTimeout:     "5000",
		ttheader.ConnectTimeout: "100",
	}
	for k, want := range wantInt {
		if v := hdr.IntInfo[k]; v != want {
			t.Errorf("int info key %d = %q, want %q", k, v, want)
		}
	}
	if hdr.ProtocolID != ttheader.ProtocolIDThriftBinary {
		t.Errorf("protocol id = %#x, want Thrift binary", hdr.ProtocolID)
	}
	// The payload is framed strict Thrift binary: a 4-byte length, then
	// the version word.
	if !r.req.framed {
		t.Error("payload is not framed, want TTHeaderFramed")
	}
	if v := binary.BigEndian.Uint32(r.req.thrift); v != 0x80010001 {
		t.Errorf("Thrift message starts with %#08x, want strict binary CALL 0x80010001", v)
	}
	if r.req.method != "Echo" || r.req.seq != hdr.SeqID {
		t.Errorf("thrift message %q seq %d, want Echo seq %d (the TTHeader seq)", r.req.method, r.req.seq, hdr.SeqID)
	}
	if r.args.Req.Id != 42 || string(r.args.Req.Payload) != string(payload) {
		t.Errorf("decoded request %v", r.args.Req)
	}
}

// TestClientServerOverUnixSocket runs a real Kitex client built with
// ClientOptions against a real Kitex server built with ServerOptions,
// the client pointed straight at the server's socket.
func TestClientServerOverUnixSocket(t *testing.T) {
	sock := socketPath(t, "app.sock")
	opts, err := sdk.ServerOptions(sock)
	if err != nil {
		t.Fatal(err)
	}
	svr := echoservice.NewServer(&echoHandler{name: "server-1"}, opts...)
	runErr := make(chan error, 1)
	go func() { runErr <- svr.Run() }()

	cli, err := echoservice.NewClient("echo", append(sdk.ClientOptions(sock), client.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 10; i++ {
		payload := []byte{byte(i), 0, 0xff}
		resp, err := cli.Echo(context.Background(), &echo.EchoRequest{Id: i, Payload: payload})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		checkEcho(t, resp, i, payload, "server-1")
	}

	if err := svr.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file after Stop: %v, want it removed", err)
	}
}
