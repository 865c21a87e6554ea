package hotrestart

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "hr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func listenerFile(t *testing.T, network, addr string) (net.Listener, *os.File) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return ln, f
}

func TestHandOverSocketsAndState(t *testing.T) {
	dir := shortDir(t)
	ctl, err := Listen(filepath.Join(dir, "hr.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close(true)
	tcp, tcpFile := listenerFile(t, "tcp", "127.0.0.1:0")
	_, unixFile := listenerFile(t, "unix", filepath.Join(dir, "app.sock"))
	ctlFile, err := ctl.File()
	if err != nil {
		t.Fatal(err)
	}
	state := State{ConfigVersion: "v7", Subscriptions: []string{"echo", "user"}}

	oldDone := make(chan error, 1)
	go func() {
		h, err := ctl.Accept()
		if err != nil {
			oldDone <- err
			return
		}
		defer h.Close()
		if h.PID != os.Getpid() {
			oldDone <- errors.New("wrong pid in hello")
			return
		}
		if err := h.Send(Offer{Listeners: map[string]*os.File{"inbound": tcpFile, "outbound": unixFile, "hotrestart": ctlFile}, State: state}); err != nil {
			oldDone <- err
			return
		}
		oldDone <- h.WaitReady(5 * time.Second)
	}()

	taken, err := Take(ctl.Path(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := taken.Offer.State; got.ConfigVersion != "v7" || strings.Join(got.Subscriptions, ",") != "echo,user" {
		t.Errorf("state %+v", got)
	}
	if len(taken.Offer.Listeners) != 3 {
		t.Fatalf("got listeners %v", taken.Offer.Listeners)
	}
	// The inherited TCP socket is the same socket: it accepts a dial to
	// the old address.
	ln, err := net.FileListener(taken.Offer.Listeners["inbound"])
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcp.Close() // the old process's copy goes away; the socket lives on
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if a, err := ln.Accept(); err != nil {
		t.Fatalf("inherited listener does not accept: %v", err)
	} else {
		a.Close()
	}
	// And the hand-over socket can serve the next restart.
	next, err := FromFile(taken.Offer.Listeners["hotrestart"])
	if err != nil || next.Path() != ctl.Path() {
		t.Fatalf("inherited hand-over socket %v: %v", next, err)
	}
	next.Close(false)
	if err := taken.Ready(); err != nil {
		t.Fatal(err)
	}
	if err := <-oldDone; err != nil {
		t.Fatalf("old side: %v", err)
	}
}

func TestRollbackWhenTheNewProcessFails(t *testing.T) {
	dir := shortDir(t)
	ctl, err := Listen(filepath.Join(dir, "hr.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close(true)
	_, f := listenerFile(t, "tcp", "127.0.0.1:0")
	for _, tc := range []struct {
		name string
		end  func(*Taken)
		want string
	}{
		{"fails", func(tk *Taken) { tk.Fail(errors.New("config: bad cluster")) }, "failed: config: bad cluster"},
		{"dies", func(tk *Taken) { tk.conn.Close() }, "exited before it was ready"},
	} {
		res := make(chan error, 1)
		go func() {
			h, err := ctl.Accept()
			if err != nil {
				res <- err
				return
			}
			defer h.Close()
			if err := h.Send(Offer{Listeners: map[string]*os.File{"inbound": f}}); err != nil {
				res <- err
				return
			}
			res <- h.WaitReady(5 * time.Second)
		}()
		tk, err := Take(ctl.Path(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		tc.end(tk)
		if err := <-res; err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: old side got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestTakeWithNobodyToTakeFrom(t *testing.T) {
	_, err := Take(filepath.Join(shortDir(t), "none.sock"), time.Second)
	if !errors.Is(err, ErrNoPeer) {
		t.Fatalf("error %v, want ErrNoPeer", err)
	}
}

func TestListenRefusesALiveSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "hr.sock")
	ctl, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close(true)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another process listens") {
		t.Fatalf("second Listen: %v", err)
	}
}
