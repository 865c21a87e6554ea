package lb

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestLoadPeakEWMA(t *testing.T) {
	const (
		ms  = float64(time.Millisecond)
		sec = int64(time.Second)
		tau = int64(ewmaDecay)
	)
	e1 := math.Exp(-1)
	type step struct {
		at     int64 // virtual nanos
		rtt    time.Duration
		failed bool
		want   float64 // estimate right after, in nanos
	}
	tests := []struct {
		name  string
		steps []step
		read  int64   // read the estimate at this time
		want  float64 // ... and expect this
	}{
		{"first sample is the estimate", []step{{sec, 10 * time.Millisecond, false, 10 * ms}}, sec, 10 * ms},
		{"peak replaces at once", []step{
			{sec, 10 * time.Millisecond, false, 10 * ms},
			{2 * sec, 50 * time.Millisecond, false, 50 * ms},
		}, 2 * sec, 50 * ms},
		{"lower sample blends by elapsed time", []step{
			{sec, 50 * time.Millisecond, false, 50 * ms},
			{sec + tau, 10 * time.Millisecond, false, 50*ms*e1 + 10*ms*(1-e1)},
		}, sec + tau, 50*ms*e1 + 10*ms*(1-e1)},
		{"estimate decays toward zero when idle", []step{{sec, 40 * time.Millisecond, false, 40 * ms}}, sec + 2*tau, 40 * ms * e1 * e1},
		{"failure costs at least the penalty", []step{{sec, time.Millisecond, true, float64(failurePenalty)}}, sec, float64(failurePenalty)},
		{"slow failure keeps its time", []step{{sec, 3 * time.Second, true, 3 * float64(time.Second)}}, sec, 3 * float64(time.Second)},
		{"zero rtt is a sample", []step{{sec, 0, false, 1}}, sec, 1},
		{"clock behind the last update does not inflate", []step{
			{2 * sec, 20 * time.Millisecond, false, 20 * ms},
			{sec, 10 * time.Millisecond, false, 20 * ms},
		}, sec, 20 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l Load
			if l.latencyAt(0) != 0 {
				t.Fatal("a new Load has a latency")
			}
			for k, s := range tc.steps {
				l.Begin()
				l.endAt(s.rtt, s.failed, s.at)
				if got := float64(l.ewmaNanos.Load()); math.Abs(got-s.want) > 1 {
					t.Fatalf("step %d: estimate %v ns, want %v", k, got, s.want)
				}
			}
			if got := l.latencyAt(tc.read); math.Abs(got-tc.want) > 1 {
				t.Errorf("estimate at %v: %v ns, want %v", tc.read, got, tc.want)
			}
			if l.Inflight() != 0 {
				t.Errorf("in flight %d after matched Begin/End", l.Inflight())
			}
		})
	}
}

func TestLoadConcurrent(t *testing.T) {
	var l Load
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				l.Begin()
				l.End(time.Duration(g*1000+i)*time.Microsecond, false)
				_ = l.Latency()
			}
		}()
	}
	wg.Wait()
	if l.Inflight() != 0 {
		t.Fatalf("in flight %d after matched Begin/End", l.Inflight())
	}
	// Peak: nothing above the largest sample, and at least a recent one.
	if lat := l.Latency(); lat <= 0 || lat > 8*time.Millisecond {
		t.Fatalf("latency %v outside (0, 8ms]", lat)
	}
}

func TestLoadDoesNotAllocate(t *testing.T) {
	var l Load
	if a := testing.AllocsPerRun(1000, func() {
		l.Begin()
		l.End(time.Millisecond, false)
		_ = l.Latency()
	}); a != 0 {
		t.Fatalf("Begin/End/Latency allocate %v", a)
	}
}
