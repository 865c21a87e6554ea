package mocksidecar

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is what a run measured.
type Report struct {
	Script   string        `json:"script"`
	Sidecars int           `json:"sidecars"`
	Failed   int           `json:"failed"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Steps    []StepReport  `json:"steps"`
	// Counters add up every sidecar's.
	Counters map[string]int `json:"counters"`
	// Pilots counts the sidecars connected to each pilot at the end.
	Pilots map[string]int `json:"pilots"`
	// Moves: sidecars that lost their pilot (or were redirected away) and
	// were ACKed by another; from the loss to that ACK.
	Moves LatencyReport `json:"moves"`
	// LastMove is when the last move completed (Unix ns; 0: none).
	LastMove int64 `json:"last_move_unix_ns"`
	// Samples are every latency of every step (and "moves"), in ns, for
	// merging the reports of several processes; "move_end_unix_ns" holds
	// when each move completed, in the order of "moves"; RouteStampAtLabel
	// the stamp of each RouteStampLabel sample, in its order.
	Samples map[string][]int64 `json:"samples_ns,omitempty"`
}

// StepReport is one step label's latencies and failures.
type StepReport struct {
	Step     string   `json:"step"`
	Failures int      `json:"failures"`
	Errors   []string `json:"errors,omitempty"`
	LatencyReport
}

// LatencyReport summarises durations.
type LatencyReport struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

func summarise(d []time.Duration) LatencyReport {
	if len(d) == 0 {
		return LatencyReport{}
	}
	d = slices.Clone(d)
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return LatencyReport{Count: len(d), P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: d[len(d)-1]}
}

func (e *engine) report(sidecars []*sidecar, failed []bool, elapsed time.Duration) *Report {
	r := &Report{Script: e.script.Name, Sidecars: len(sidecars), Elapsed: elapsed, Counters: map[string]int{}, Pilots: map[string]int{}}
	for i, s := range sidecars {
		if failed[i] {
			r.Failed++
		}
		if s == nil {
			continue
		}
		s.mu.Lock()
		for c, v := range s.counts {
			if v != 0 {
				r.Counters[counterNames[c]] += v
			}
		}
		if s.connected {
			r.Pilots[s.pilot.id]++
		}
		s.mu.Unlock()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, label := range e.order {
		r.Steps = append(r.Steps, StepReport{Step: label, Failures: e.failures[label], Errors: e.errors[label], LatencyReport: summarise(e.lat[label])})
	}
	if len(e.stampLat) > 0 {
		r.Steps = append(r.Steps, StepReport{Step: RouteStampLabel, LatencyReport: summarise(e.stampLat)})
	}
	r.Moves = summarise(e.moves)
	r.Samples = map[string][]int64{}
	for label, d := range e.lat {
		r.Samples[label] = nanos(d)
	}
	r.Samples["moves"] = nanos(e.moves)
	r.Samples["move_end_unix_ns"] = append([]int64(nil), e.moveEnds...)
	if len(e.stampLat) > 0 {
		r.Samples[RouteStampLabel] = nanos(e.stampLat)
		r.Samples[RouteStampAtLabel] = append([]int64(nil), e.stampAt...)
	}
	if !e.lastMove.IsZero() {
		r.LastMove = e.lastMove.UnixNano()
	}
	return r
}

// OK reports whether every sidecar passed every step.
func (r *Report) OK() bool {
	if r.Failed > 0 {
		return false
	}
	for _, s := range r.Steps {
		if s.Failures > 0 {
			return false
		}
	}
	return true
}

// Write prints the report as a table.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "script %q: %d sidecars, %d failed, %s\n", r.Script, r.Sidecars, r.Failed, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "%-40s %8s %8s %10s %10s %10s %10s\n", "step", "count", "failed", "p50", "p90", "p99", "max")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%-40s %8d %8d %10s %10s %10s %10s\n", s.Step, s.Count, s.Failures, round(s.P50), round(s.P90), round(s.P99), round(s.Max))
		for _, e := range s.Errors {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
	if r.Moves.Count > 0 {
		m := r.Moves
		fmt.Fprintf(w, "%-40s %8d %8s %10s %10s %10s %10s\n", "moves (lost pilot -> acked by the next)", m.Count, "", round(m.P50), round(m.P90), round(m.P99), round(m.Max))
	}
	names := make([]string, 0, len(r.Counters))
	for k := range r.Counters {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", k, r.Counters[k]))
	}
	fmt.Fprintf(w, "counters: %s\n", strings.Join(parts, " "))
	pilots := make([]string, 0, len(r.Pilots))
	for p, n := range r.Pilots {
		pilots = append(pilots, fmt.Sprintf("%s=%d", p, n))
	}
	sort.Strings(pilots)
	fmt.Fprintf(w, "connected at the end: %s\n", strings.Join(pilots, " "))
}

func round(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func nanos(d []time.Duration) []int64 {
	out := make([]int64, len(d))
	for i, x := range d {
		out[i] = int64(x)
	}
	return out
}

func isCounter(name string) bool {
	_, ok := counterOf(name)
	return ok
}

func sortedCounters() []string {
	out := append([]string(nil), counterNames[:]...)
	sort.Strings(out)
	return out
}
