package upstream

import (
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh/config"
)

func enlisted(sw *Sweeper) [2]int {
	f, s := sw.Enlisted()
	return [2]int{f, s}
}

// A cluster is swept while it has requests in flight, then while outlier
// detection has counts to judge (slowly), then not at all.
func TestClusterEnlistsWhileItHasSomethingToTime(t *testing.T) {
	p := newPeer(t, shortDir(t), "p.sock")
	sw := NewSweeper()
	od := odConfig()
	od.Interval = config.Duration(20 * time.Millisecond)
	c, _ := newTestClusterWith(t, func(cfg *ClusterConfig) { cfg.Sweeper, cfg.Outlier = sw, &od }, p.addr)
	if got := enlisted(sw); got != [2]int{0, 0} {
		t.Fatalf("a cluster with nothing in flight is enlisted: %v", got)
	}
	sw.Sweep() // nothing enlisted: the sweeper would tick slowly now
	rec := newRecorder()
	forward(t, c, rec, 1, time.Minute)
	frame := <-p.frames
	conn := <-p.conns
	select {
	case <-sw.Woken():
	default:
		t.Fatal("the first request in flight did not wake the sweeper")
	}
	if got := enlisted(sw); got != [2]int{1, 0} {
		t.Fatalf("enlisted %v with a request in flight, want [1 0]", got)
	}
	if !sw.Sweep() || enlisted(sw) != [2]int{1, 0} {
		t.Fatalf("a cluster with a request in flight left the fast list: %v", enlisted(sw))
	}
	forward(t, c, rec, 3, time.Minute) // a second request: enlisted already
	second := <-p.frames
	select {
	case <-sw.Woken():
		t.Fatal("a request woke a sweeper that ticks fast already")
	default:
	}
	replyTo(t, conn, frame)
	replyTo(t, conn, second)
	rec.wait(t)
	rec.wait(t)
	// Nothing in flight, but an interval's counts to judge: slow list.
	if sw.Sweep() {
		t.Fatal("Sweep reports work left with nothing in flight")
	}
	if got := enlisted(sw); got != [2]int{0, 1} {
		t.Fatalf("enlisted %v after the answer, want [0 1] (outlier detection's counts)", got)
	}
	deadline := time.Now().Add(20 * time.Second)
	for enlisted(sw) != [2]int{0, 0} {
		if time.Now().After(deadline) {
			t.Fatalf("still enlisted %v after the interval was judged", enlisted(sw))
		}
		sw.SweepSlow()
		time.Sleep(5 * time.Millisecond)
	}
	// A new request enlists it again.
	forward(t, c, rec, 2, time.Minute)
	replyTo(t, conn, <-p.frames)
	rec.wait(t)
	if got := enlisted(sw); got[0] != 1 {
		t.Fatalf("enlisted %v after a new request, want it in the fast list", got)
	}
}

// Requests that begin while the sweeper decides a cluster is idle are
// never lost: every one times out, though the sweeper only ticks while
// something is enlisted (as the sidecar's does).
func TestNoRequestEscapesTheSweeper(t *testing.T) {
	p := newPeer(t, shortDir(t), "p.sock") // never answers
	sw := NewSweeper()
	c, stats := newTestClusterWith(t, func(cfg *ClusterConfig) { cfg.Sweeper, cfg.MaxRequestsPerConn = sw, 64 }, p.addr)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the sidecar's sweeper, without its slow tick
		defer wg.Done()
		for {
			if !sw.Sweep() {
				select {
				case <-sw.Woken():
				case <-stop:
					return
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	go func() { // drain what the peer receives
		for range p.frames {
		}
	}()
	const callers, each = 8, 25
	rec := &recorder{done: make(chan struct{}, callers*each)}
	var fwd sync.WaitGroup
	for g := range callers {
		fwd.Add(1)
		go func() {
			defer fwd.Done()
			for i := range each {
				forward(t, c, rec, int32(g*each+i+1), time.Duration(1+i%3)*time.Millisecond)
				time.Sleep(time.Duration(i%4) * time.Millisecond)
			}
		}()
	}
	fwd.Wait()
	for i := 0; i < callers*each; i++ {
		select {
		case <-rec.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of %d requests never ended (timeouts %d): one escaped the sweeper", callers*each-i, callers*each, stats.Timeouts.Load())
		}
	}
}
