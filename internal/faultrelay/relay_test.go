package faultrelay

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *Relay {
	t.Helper()
	r, err := Start("127.0.0.1:0", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func dial(t *testing.T, r *Relay) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back within limit.
func roundTrip(c net.Conn, msg string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetDeadline(start.Add(limit))
	if _, err := c.Write([]byte(msg)); err != nil {
		return 0, err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return time.Since(start), err
	}
	if !bytes.Equal(got, []byte(msg)) {
		return 0, errors.New("echo differs: " + string(got))
	}
	return time.Since(start), nil
}

func TestPassCarriesBytes(t *testing.T) {
	r := start(t)
	c := dial(t, r)
	for range 10 {
		if _, err := roundTrip(c, "hello", 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPartitionResetsOpenAndNewConnections(t *testing.T) {
	r := start(t)
	c := dial(t, r)
	if _, err := roundTrip(c, "before", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r.SetMode(Partition)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("open connection after the partition: read %v, want it reset", err)
	}
	// The kernel completes the handshake and the relay resets it: the reset
	// reaches the dial itself when it comes before connect returns, or
	// the first read after.
	n, err := net.Dial("tcp", r.Addr())
	if err == nil {
		defer n.Close()
		n.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = n.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Fatalf("new connection in a partition: %v, want it reset", err)
	}
	r.SetMode(Pass)
	if _, err := roundTrip(dial(t, r), "after", 10*time.Second); err != nil {
		t.Fatalf("after the partition: %v", err)
	}
	if r.Reset.Load() < 2 {
		t.Errorf("%d connections reset, want at least 2", r.Reset.Load())
	}
}

func TestBlackholeHoldsBytesWithoutResetAndReleasesThem(t *testing.T) {
	r := start(t)
	c := dial(t, r)
	if _, err := roundTrip(c, "before", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r.SetMode(Blackhole)
	if _, err := roundTrip(c, "held", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("in a blackhole: %v, want a timeout (nothing passes, nothing is reset)", err)
	}
	r.SetMode(Pass)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "held" {
		t.Fatalf("after the blackhole: %q %v, want the held bytes", got, err)
	}
}

func TestLossDelaysChunks(t *testing.T) {
	echo := echoServer(t)
	r, err := Start("127.0.0.1:0", echo)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.LossRate, r.LossDelay = 1, 100*time.Millisecond
	r.SetMode(Loss)
	c := dial(t, r)
	d, err := roundTrip(c, "slow", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d < 200*time.Millisecond { // held once each way
		t.Errorf("round trip with every chunk held 100ms took %v", d)
	}
	if r.Held.Load() < 2 {
		t.Errorf("%d chunks held, want 2", r.Held.Load())
	}
}

func TestBadTarget(t *testing.T) {
	if _, err := Start("127.0.0.1:0", "no-port"); err == nil {
		t.Fatal("target without a port accepted")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
