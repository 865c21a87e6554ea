package transport

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/cloudwego/netpoll"
)

// fakeLoop is an event loop whose Serve quits at once with quit, or, when
// quit is nil, blocks until Shutdown.
type fakeLoop struct {
	quit error
	shut chan struct{}
}

func (f *fakeLoop) Serve(net.Listener) error {
	if f.quit != nil {
		return f.quit
	}
	<-f.shut
	return errors.New("shut down")
}

func (f *fakeLoop) Shutdown(context.Context) error { close(f.shut); return nil }

// fakeListener is a Listener over a real listening socket whose event loops
// are fakes: the first quits by itself with "listener close", as netpoll's
// does on a hang-up it attributes to the listener.
func fakeListener(t *testing.T) (*Listener, chan *fakeLoop) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nl, err := netpoll.ConvertListener(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nl.Close() })
	made := make(chan *fakeLoop, 4)
	l := &Listener{
		ln:     nl,
		loop:   &fakeLoop{quit: errors.New("listener close"), shut: make(chan struct{})},
		served: make(chan error, 1),
		stats:  &Stats{},
		newLoop: func() (netpoll.EventLoop, error) {
			f := &fakeLoop{shut: make(chan struct{})}
			made <- f
			return f, nil
		},
	}
	return l, made
}

func TestListenerReplacesALoopThatQuitsByItself(t *testing.T) {
	l, made := fakeListener(t)
	go l.keepServing()
	var next *fakeLoop
	select {
	case next = <-made:
	case err := <-l.served:
		t.Fatalf("serving ended after the loop quit by itself: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no new event loop after the first quit")
	}
	l.loopMu.Lock()
	current := l.loop
	l.loopMu.Unlock()
	if current != next {
		t.Fatal("the listener does not hold the replacement loop")
	}
	if n := l.stats.LoopRestarts.Load(); n != 1 {
		t.Fatalf("LoopRestarts = %d, want 1", n)
	}
	l.StopAccepting(false)
	select {
	case err := <-l.served:
		if err == nil || err.Error() != "shut down" {
			t.Fatalf("served = %v, want the replacement's shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("StopAccepting did not end the replacement loop")
	}
	if len(made) != 0 {
		t.Fatal("a loop was replaced after StopAccepting")
	}
}

func TestListenerDoesNotReplaceALoopWhoseSocketIsClosed(t *testing.T) {
	l, made := fakeListener(t)
	l.ln.Close()
	go l.keepServing()
	select {
	case err := <-l.served:
		if err == nil || err.Error() != "listener close" {
			t.Fatalf("served = %v, want the loop's own error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serving did not end")
	}
	if len(made) != 0 || l.stats.LoopRestarts.Load() != 0 {
		t.Fatal("a loop was started on a closed socket")
	}
}
