package grpclite

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/octomesh/octomesh/internal/rawpoll"
	"github.com/octomesh/octomesh/internal/uring"
)

// recvEq reads the next message of cs and checks it is want.
func recvEq(t *testing.T, cs grpc.ClientStream, want []byte) {
	t.Helper()
	var got []byte
	if err := cs.RecvMsg(&got); err != nil {
		t.Fatalf("recv: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestBatchSendsToManyStreams: one Batch sends to streams on three
// connections; a message sent on one of them while the batch holds its
// bytes (another Send of the batch, and Stream.Send) arrives after them,
// in order; a Batch reused after Flush works again.
func TestBatchSendsToManyStreams(t *testing.T) {
	h := startServer(t, Options{}, nil)
	var css []grpc.ClientStream
	for i := range 3 {
		cs := openStream(t, context.Background(), dial(t, h.addr))
		roundTrip(t, cs, []byte("hello"))
		css = append(css, cs)
		h.stream(i)
	}
	var b Batch
	for round := range 2 {
		for i := range 3 {
			if err := b.Send(h.stream(i).st, fmt.Appendf(nil, "push %d to %d", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		if r := uring.New(); r != nil {
			_ = r.Close()
			if len(b.conns) != 3 {
				t.Fatalf("%d connections gathered for one submission, want 3", len(b.conns))
			}
		}
		if err := b.Send(h.stream(0).st, []byte("second")); err != nil {
			t.Fatal(err)
		}
		if err := h.stream(1).st.Send([]byte("direct")); err != nil {
			t.Fatal(err)
		}
		b.Flush()
		for i, cs := range css {
			recvEq(t, cs, fmt.Appendf(nil, "push %d to %d", round, i))
		}
		recvEq(t, css[0], []byte("second"))
		recvEq(t, css[1], []byte("direct"))
	}
}

// TestBatchPartialSend: what the socket did not take (a partial send, or
// -EAGAIN) is written the usual way, and what was built meanwhile after it.
func TestBatchPartialSend(t *testing.T) {
	h := startServer(t, Options{}, nil)
	cs := openStream(t, context.Background(), dial(t, h.addr))
	roundTrip(t, cs, []byte("hello"))
	st := h.stream(0).st
	st.c.mu.Lock()
	fd := st.c.fd
	st.c.mu.Unlock()
	if fd < 0 {
		t.Fatal("a plain TCP connection without its descriptor")
	}
	for _, sent := range []int{3, -int(unix.EAGAIN)} {
		var b Batch
		b.ring = nil
		// Gather by hand, as Send does, without a ring.
		c := st.c
		c.mu.Lock()
		st.frameLocked([]byte("partly sent"))
		c.inflight = true
		b.conns, b.fds, b.bufs, b.outps = append(b.conns, c), append(b.fds, c.fd), append(b.bufs, c.out), append(b.outps, c.outp)
		c.out, c.outp = nil, nil
		c.mu.Unlock()
		if err := st.Send([]byte("after")); err != nil {
			t.Fatal(err)
		}
		if sent > 0 {
			// The socket's descriptor, which the loop, once it has the
			// connection, does not share with a net.Conn.
			if n, errno := rawpoll.Send(b.fds[0], b.bufs[0][:sent]); n != sent {
				t.Fatal(n, errno)
			}
		}
		b.done(0, c, b.bufs[0], sent)
		recvEq(t, cs, []byte("partly sent"))
		recvEq(t, cs, []byte("after"))
	}
}

// TestBatchTLS: a TLS connection is sent Stream.Send's way.
func TestBatchTLS(t *testing.T) {
	serverCfg, clientCfg := testTLS(t)
	h := startServer(t, Options{TLS: serverCfg}, HandshakenTLS())
	cs := openStream(t, context.Background(), dial(t, h.addr, grpc.WithTransportCredentials(credentials.NewTLS(clientCfg))))
	roundTrip(t, cs, []byte("hello"))
	var b Batch
	if err := b.Send(h.stream(0).st, []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	b.Flush()
	recvEq(t, cs, []byte("over tls"))
}
