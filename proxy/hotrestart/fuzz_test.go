package hotrestart

import (
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The hand-over messages are bytes from another process: the new process
// reads the old one's offer (Take), the old one reads the new one's hello
// and its ready or failed (Accept, WaitReady). The fuzz targets play the
// other process over a Unix socket in a temp dir, sending arbitrary bytes
// with some file descriptors attached. Reading must never panic, never
// leak a descriptor, and succeed only on the message it expects.

// frame is a message as writeMessage sends it.
func frame(m message) []byte {
	body, _ := json.Marshal(m)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// sentMessage is what the bytes b say, read as the protocol frames them
// (ok false: not one whole message).
func sentMessage(b []byte) (m message, ok bool) {
	if len(b) < 4 {
		return m, false
	}
	size := int(binary.BigEndian.Uint32(b))
	if size > maxMessage || len(b)-4 < size {
		return m, false
	}
	return m, json.Unmarshal(b[4:4+size], &m) == nil
}

// openFDs counts this process's open descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

// fdCount is how many descriptors the fuzzer's n sends: mostly a few, and
// for the largest values more than readMessage's control buffer holds.
func fdCount(n uint8) int {
	if n >= 250 {
		return 70
	}
	return int(n % 5)
}

// writeWithFDs sends b on c with n descriptors (of /dev/null) attached,
// closing this side's copies once sent.
func writeWithFDs(c *net.UnixConn, b []byte, n int) {
	var fds []int
	for range n {
		if fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	var oob []byte
	if len(fds) > 0 && len(b) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	_, _, _ = c.WriteMsgUnix(b, oob, nil)
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

func fuzzDir(f *testing.F) string {
	d, err := os.MkdirTemp("", "hrf")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// FuzzTake plays an old process that answers the hello with arbitrary
// bytes and descriptors. Take succeeds only on an offer that carries one
// descriptor per name, each name once, and leaves no descriptor open but
// those of the offer's files.
func FuzzTake(f *testing.F) {
	f.Add(frame(message{Type: "offer", Names: []string{"inbound"}, State: &State{ConfigVersion: "v7", Subscriptions: []string{"echo"}}}), uint8(1))
	f.Add(frame(message{Type: "offer", Names: []string{"a", "b"}}), uint8(2))
	f.Add(frame(message{Type: "offer"}), uint8(0))
	f.Add(frame(message{Type: "offer", Names: []string{"a", "a"}}), uint8(2))
	f.Add(frame(message{Type: "ready"}), uint8(3))
	f.Add([]byte("\x00\x00\x00\x05{}"), uint8(1))
	f.Add([]byte("\x00\x10\x00\x00{"), uint8(0))
	f.Add(frame(message{Type: "offer", Names: []string{"a"}}), uint8(255))
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(fuzzDir(f), "old.sock"), Net: "unix"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	f.Fuzz(func(t *testing.T, offer []byte, nfds uint8) {
		before := openFDs(t)
		done := make(chan struct{})
		go func() { // the old process
			defer close(done)
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			defer c.Close()
			var hello message
			if readMessage(c, &hello, nil) != nil || hello.Type != "hello" {
				return
			}
			writeWithFDs(c, offer, fdCount(nfds))
		}()
		taken, err := Take(ln.Addr().String(), 5*time.Second)
		<-done
		if err != nil {
			if n := openFDs(t); n != before {
				t.Fatalf("Take failed (%v) with %d descriptors open, %d before", err, n, before)
			}
			return
		}
		m, ok := sentMessage(offer)
		if !ok || m.Type != "offer" {
			t.Fatalf("Take accepted %q", offer)
		}
		seen := map[string]bool{}
		for _, name := range m.Names {
			if seen[name] {
				t.Fatalf("Take accepted an offer naming %q twice", name)
			}
			seen[name] = true
		}
		if len(taken.Offer.Listeners) != len(m.Names) || len(m.Names) != fdCount(nfds) {
			t.Fatalf("%d files for %d names, %d descriptors sent", len(taken.Offer.Listeners), len(m.Names), fdCount(nfds))
		}
		if m.State != nil && taken.Offer.State.ConfigVersion != m.State.ConfigVersion {
			t.Fatalf("state %+v, sent %+v", taken.Offer.State, m.State)
		}
		for _, file := range taken.Offer.Listeners {
			file.Close()
		}
		taken.conn.Close()
		if n := openFDs(t); n != before {
			t.Fatalf("after closing the offer's files %d descriptors are open, %d before", n, before)
		}
	})
}

// FuzzAccept plays a new process that sends an arbitrary hello and then,
// once it is accepted, an arbitrary answer, both with descriptors
// attached. Accept succeeds only on a hello, WaitReady only on a ready,
// and neither leaves a descriptor open.
func FuzzAccept(f *testing.F) {
	f.Add(frame(message{Type: "hello", PID: 42}), frame(message{Type: "ready"}), uint8(0))
	f.Add(frame(message{Type: "hello", PID: 42}), frame(message{Type: "failed", Error: "config: bad cluster"}), uint8(0))
	f.Add(frame(message{Type: "hello"}), frame(message{Type: "ready"}), uint8(2))
	f.Add(frame(message{Type: "offer", Names: []string{"x"}}), []byte(nil), uint8(1))
	f.Add([]byte("\xff\xff\xff\xff"), []byte(nil), uint8(0))
	f.Add(frame(message{Type: "hello"}), []byte("\x00\x00\x00\x10{\"type\":\"ready\"}"), uint8(0))
	ctl, err := Listen(filepath.Join(fuzzDir(f), "ctl.sock"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ctl.Close(true) })
	f.Fuzz(func(t *testing.T, hello, answer []byte, nfds uint8) {
		before := openFDs(t)
		accepted := make(chan bool, 1)
		done := make(chan struct{})
		go func() { // the new process
			defer close(done)
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: ctl.Path(), Net: "unix"})
			if err != nil {
				accepted <- false
				return
			}
			defer c.Close()
			writeWithFDs(c, hello, fdCount(nfds))
			if _, whole := sentMessage(hello); !whole {
				// A new process that died before finishing its hello, not
				// one that hangs (Accept would wait out its deadline).
				_ = c.CloseWrite()
			}
			if <-accepted {
				writeWithFDs(c, answer, fdCount(nfds>>4))
			} else {
				_ = c.CloseWrite() // Accept reads to the end of what was sent
				var b [1]byte
				_, _ = c.Read(b[:]) // until Accept closes its end
			}
		}()
		h, err := ctl.Accept()
		if err != nil {
			accepted <- false
			<-done
			if n := openFDs(t); n != before {
				t.Fatalf("Accept failed (%v) with %d descriptors open, %d before", err, n, before)
			}
			return
		}
		accepted <- true
		if m, ok := sentMessage(hello); !ok || m.Type != "hello" || m.PID != h.PID {
			t.Fatalf("Accept took %q as a hello from pid %d", hello, h.PID)
		}
		err = h.WaitReady(5 * time.Second)
		h.Close()
		<-done
		if m, ok := sentMessage(answer); err == nil && (!ok || m.Type != "ready") {
			t.Fatalf("WaitReady took %q as ready", answer)
		}
		if n := openFDs(t); n != before {
			t.Fatalf("after the hand-over (%v) %d descriptors are open, %d before", err, n, before)
		}
	})
}
