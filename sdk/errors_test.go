package sdk_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// meshAnswering imitates a sidecar that answers every call itself with a
// mesh error of kind, and records the string info of the calls it gets.
type meshAnswering struct {
	kind codec.ErrorKind
	mu   sync.Mutex
	seen []map[string]string // string info of each call
}

func (s *meshAnswering) serve(t *testing.T, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			for {
				frame, err := readFrame(c)
				if err != nil {
					return
				}
				var args echo.EchoEchoArgs
				d, err := decodeFrame(frame, &args)
				if err != nil {
					t.Error(err)
					return
				}
				s.mu.Lock()
				s.seen = append(s.seen, d.hdr.StrInfo)
				s.mu.Unlock()
				b, start, _ := codec.BeginFrame(nil, &codec.FrameHeader{SeqID: d.seq, StrInfo: []codec.StrKV{{Key: codec.KeyError, Value: s.kind.String()}}})
				b = codec.AppendException(b, codec.PayloadThriftFramed, []byte(d.method), d.seq, codec.ExceptionKind(s.kind), []byte("octomesh: "+s.kind.String()+": from the test"))
				codec.EndFrame(b, start)
				if _, err := c.Write(b); err != nil {
					return
				}
			}
		}()
	}
}

func TestMeshErrorsBecomeKitexErrors(t *testing.T) {
	cases := []struct {
		kind         codec.ErrorKind
		kitex        error
		notForwarded bool
	}{
		{codec.KindRateLimited, kerrors.ErrOverlimit, true},
		{codec.KindCircuitOpen, kerrors.ErrCircuitBreak, true},
		{codec.KindTimeout, kerrors.ErrRPCTimeout, false},
		{codec.KindDeadlineExceeded, kerrors.ErrRPCTimeout, true},
		{codec.KindNoRoute, kerrors.ErrRoute, true},
		{codec.KindNoInstances, kerrors.ErrServiceDiscovery, true},
		{codec.KindPermissionDenied, kerrors.ErrACL, true},
		{codec.KindUnreachable, kerrors.ErrGetConnection, true},
		{codec.KindConnLost, kerrors.ErrRemoteOrNetwork, false},
		{codec.KindFault, kerrors.ErrRemoteOrNetwork, true},
	}
	for _, tc := range cases {
		t.Run(tc.kind.String(), func(t *testing.T) {
			path := socketPath(t, "s.sock")
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			s := &meshAnswering{kind: tc.kind}
			go s.serve(t, ln)
			cli, err := echoservice.NewClient("echo", append(sdk.ClientOptions(path), sdk.CallerName("web"))...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(sdk.WithTag(context.Background(), "lane", "canary"), 5*time.Second)
			defer cancel()
			_, err = cli.Echo(ctx, &echo.EchoRequest{Id: 1})
			if !errors.Is(err, tc.kitex) {
				t.Fatalf("error %v (%T); want errors.Is %v", err, err, tc.kitex)
			}
			me, ok := sdk.AsMeshError(err)
			if !ok || me.Kind != tc.kind || me.Message != "octomesh: "+tc.kind.String()+": from the test" {
				t.Fatalf("AsMeshError = %+v, %v", me, ok)
			}
			if sdk.IsNotForwarded(err) != tc.notForwarded {
				t.Fatalf("IsNotForwarded = %v; want %v", !tc.notForwarded, tc.notForwarded)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.seen) == 0 || s.seen[0][config.TagKey("lane")] != "canary" {
				t.Fatalf("the call carried string info %v; want the tag lane=canary", s.seen)
			}
		})
	}
	if sdk.IsNotForwarded(errors.New("some other error")) {
		t.Error("a plain error is reported as a mesh error")
	}
}
