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
	if next := sw.Sweep(); next != NoDeadline {
		t.Fatalf("Sweep with nothing enlisted returned %v, want NoDeadline", next)
	}
	sw.Plan(Now() + time.Second) // as the sidecar's sweeper: a second away
	rec := newRecorder()
	forward(t, c, rec, 1, 2*time.Second) // due after the planned sweep
	frame := <-p.frames
	conn := <-p.conns
	select {
	case <-sw.Woken():
		t.Fatal("a request due after the planned sweep woke the sweeper")
	default:
	}
	if got := enlisted(sw); got != [2]int{1, 0} {
		t.Fatalf("enlisted %v with a request in flight, want [1 0]", got)
	}
	next := sw.Sweep()
	// Outlier detection's interval (20 ms) ends before the request's 2 s.
	if d := next - Now(); d <= 0 || d > 20*time.Millisecond || enlisted(sw) != [2]int{1, 0} {
		t.Fatalf("with a request due in 2 s in flight: Sweep says next in %v, enlisted %v; want the interval's end, within 20ms, [1 0]", d, enlisted(sw))
	}
	sw.Plan(Now() + time.Second)       // as if the interval were a second
	forward(t, c, rec, 3, time.Minute) // due later: no wake
	second := <-p.frames
	select {
	case <-sw.Woken():
		t.Fatal("a request due after the planned sweep woke the sweeper")
	default:
	}
	forward(t, c, rec, 5, 100*time.Millisecond) // due before it: wakes
	third := <-p.frames
	select {
	case <-sw.Woken():
	default:
		t.Fatal("a request due before the planned sweep did not wake the sweeper")
	}
	if d := sw.Sweep() - Now(); d <= 0 || d > 100*time.Millisecond {
		t.Fatalf("Sweep says next in %v, want the third request's deadline, within 100ms", d)
	}
	replyTo(t, conn, frame)
	replyTo(t, conn, second)
	replyTo(t, conn, third)
	rec.wait(t)
	rec.wait(t)
	rec.wait(t)
	// Nothing in flight, but an interval's counts to judge: slow list.
	if next := sw.Sweep(); next != NoDeadline {
		t.Fatalf("Sweep says next at %v with nothing in flight, want NoDeadline", next)
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

// Sweep returns the earliest deadline of the requests in flight, and a
// request due before the planned sweep wakes the sweeper.
func TestSweepPlansByTheEarliestDeadline(t *testing.T) {
	p := newPeer(t, shortDir(t), "p.sock") // never answers
	sw := NewSweeper()
	c, _ := newTestClusterWith(t, func(cfg *ClusterConfig) { cfg.Sweeper = sw }, p.addr)
	go func() {
		for range p.frames {
		}
	}()
	rec := newRecorder()
	forward(t, c, rec, 1, 3*time.Second)
	forward(t, c, rec, 2, 2*time.Second)
	start := Now()
	if d := sw.Sweep() - start; d < time.Second || d > 2*time.Second {
		t.Fatalf("Sweep says next in %v; want the earlier deadline, 1-2 s away", d)
	}
	sw.Plan(start + 2*time.Second)
	select { // the first requests woke it: nothing was planned
	case <-sw.Woken():
	default:
		t.Fatal("the first request did not wake a sweeper with nothing planned")
	}
	forward(t, c, rec, 3, 4*time.Second)
	select {
	case <-sw.Woken():
		t.Fatal("a request due after the planned sweep woke the sweeper")
	default:
	}
	forward(t, c, rec, 4, 50*time.Millisecond)
	select {
	case <-sw.Woken():
	default:
		t.Fatal("a request due before the planned sweep did not wake the sweeper")
	}
	if d := sw.Sweep() - Now(); d > 50*time.Millisecond {
		t.Fatalf("Sweep says next in %v; want the 50ms request's deadline", d)
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
	go func() { // the sidecar's sweeper, without its slow work
		defer wg.Done()
		for {
			wait := min(max(sw.Sweep()-Now(), time.Millisecond), time.Hour)
			sw.Plan(Now() + wait)
			select {
			case <-sw.Woken():
			case <-time.After(wait):
			case <-stop:
				return
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
