package hotrestart

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTakeRefusesMalformedOffers: each malformed offer from the old
// process is refused with an error that says what was wrong, no
// descriptor stays open, and the next, well-formed offer on the same
// socket is taken: a bad offer loses nothing.
func TestTakeRefusesMalformedOffers(t *testing.T) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(t.TempDir(), "old.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// offer plays the old process once: it answers the hello with b and
	// nfds descriptors.
	offer := func(b []byte, nfds int) (*Taken, error) {
		done := make(chan struct{})
		go func() {
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
			writeWithFDs(c, b, nfds)
		}()
		taken, err := Take(ln.Addr().String(), 10*time.Second)
		<-done
		return taken, err
	}
	for _, tc := range []struct {
		name string
		b    []byte
		nfds int
		want string
	}{
		{"a ready, not an offer", frame(message{Type: "ready"}), 0, `got "ready"`},
		{"more names than descriptors", frame(message{Type: "offer", Names: []string{"a", "b"}}), 1, "expected an offer of 2 sockets"},
		{"more descriptors than names", frame(message{Type: "offer", Names: []string{"a"}}), 3, "expected an offer of 1 sockets"},
		{"a name twice", frame(message{Type: "offer", Names: []string{"a", "a"}}), 2, `names socket "a" twice`},
		{"not JSON", []byte("\x00\x00\x00\x03{{{"), 1, "receiving sockets"},
		{"a length over the limit", []byte("\x7f\xff\xff\xff{}"), 0, "message of"},
		{"a frame shorter than its length", []byte("\x00\x00\x00\x02"), 0, "receiving sockets"},
		{"more descriptors than a message may carry", frame(message{Type: "offer", Names: []string{"a"}}), 70, "expected an offer of 1 sockets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := openFDs(t)
			taken, err := offer(tc.b, tc.nfds)
			if err == nil {
				taken.conn.Close()
				t.Fatalf("Take accepted %q with %d descriptors", tc.b, tc.nfds)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "hotrestart: ") {
				t.Errorf("Take: %v; want an error of hotrestart's naming %q", err, tc.want)
			}
			if n := openFDs(t); n != before {
				t.Errorf("%d descriptors open after the refusal, %d before", n, before)
			}
		})
	}
	taken, err := offer(frame(message{Type: "offer", Names: []string{"inbound"}, State: &State{ConfigVersion: "v7"}}), 1)
	if err != nil {
		t.Fatalf("a good offer after the bad ones: %v", err)
	}
	defer taken.conn.Close()
	if len(taken.Offer.Listeners) != 1 || taken.Offer.Listeners["inbound"] == nil || taken.Offer.State.ConfigVersion != "v7" {
		t.Fatalf("offer %+v", taken.Offer)
	}
	taken.Offer.Listeners["inbound"].Close()
}

// TestAcceptRefusesMalformedHellosAndAnswers: the old process refuses a
// malformed hello, and a new process's answer other than ready, each with
// an error that says what was wrong; it keeps serving the hand-over socket,
// and a proper hand-over after them goes through.
func TestAcceptRefusesMalformedHellosAndAnswers(t *testing.T) {
	ctl, err := Listen(filepath.Join(t.TempDir(), "ctl.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close(true)
	// newProcess sends hello (with nfds descriptors) and no more.
	newProcess := func(hello []byte, nfds int) (*Handover, chan struct{}, error) {
		done := make(chan struct{})
		accepted := make(chan bool, 1)
		go func() {
			defer close(done)
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: ctl.Path(), Net: "unix"})
			if err != nil {
				return
			}
			defer c.Close()
			writeWithFDs(c, hello, nfds)
			_ = c.CloseWrite()
			<-accepted
		}()
		h, err := ctl.Accept()
		accepted <- h != nil
		return h, done, err
	}
	for _, tc := range []struct {
		name  string
		hello []byte
		nfds  int
		want  string
	}{
		{"an offer, not a hello", frame(message{Type: "offer", Names: []string{"x"}}), 0, `expected hello, got "offer"`},
		{"descriptors with the hello", frame(message{Type: "hello", PID: 7}), 2, "unexpected file descriptors"},
		{"not JSON", []byte("\x00\x00\x00\x02]]"), 0, "reading hello"},
		{"a length over the limit", []byte("\xff\xff\xff\xff"), 0, "message of"},
		{"nothing at all", []byte("\x00"), 0, "reading hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := openFDs(t)
			h, done, err := newProcess(tc.hello, tc.nfds)
			<-done
			if err == nil {
				h.Close()
				t.Fatalf("Accept took %q", tc.hello)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Accept: %v; want it to say %q", err, tc.want)
			}
			if n := openFDs(t); n != before {
				t.Errorf("%d descriptors open after the refusal, %d before", n, before)
			}
		})
	}
	// Answers other than ready, after a good hello.
	for _, tc := range []struct {
		name   string
		answer []byte
		want   string
	}{
		{"failed", frame(message{Type: "failed", Error: "config: bad cluster"}), "new process 42 failed: config: bad cluster"},
		{"an unknown type", frame(message{Type: "offer"}), `new process 42 sent "offer"`},
		{"gone before answering", nil, "new process 42 exited before it was ready"},
		{"not JSON", []byte("\x00\x00\x00\x01x"), "waiting for new process 42"},
	} {
		t.Run("answer "+tc.name, func(t *testing.T) {
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: ctl.Path(), Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			writeWithFDs(c, frame(message{Type: "hello", PID: 42}), 0)
			h, err := ctl.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if tc.answer != nil {
				writeWithFDs(c, tc.answer, 0)
			} else {
				c.Close()
			}
			if err := h.WaitReady(10 * time.Second); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("WaitReady: %v; want it to say %q", err, tc.want)
			}
		})
	}
	// The socket still serves a proper hand-over.
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: ctl.Path(), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	writeWithFDs(c, frame(message{Type: "hello", PID: 43}), 0)
	h, err := ctl.Accept()
	if err != nil || h.PID != 43 {
		t.Fatalf("a good hello after the bad ones: %v", err)
	}
	defer h.Close()
	writeWithFDs(c, frame(message{Type: "ready"}), 0)
	if err := h.WaitReady(10 * time.Second); err != nil {
		t.Fatalf("a ready after the bad ones: %v", err)
	}
}
