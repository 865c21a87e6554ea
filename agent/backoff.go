package agent

import "time"

// Backoff is how the agent spaces restarts of a sidecar that keeps
// crashing: Initial after the first crash, doubling up to Max. A sidecar
// that ran for StableAfter before it crashed starts the count again. After
// CrashLoopAfter crashes in a row without such a run, the agent reports a
// crash loop (and keeps trying, every Max).
type Backoff struct {
	Initial, Max   time.Duration
	StableAfter    time.Duration
	CrashLoopAfter int
}

// delay is the wait before restart number n (1 is the first) of a run of
// crashes.
func (b Backoff) delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
