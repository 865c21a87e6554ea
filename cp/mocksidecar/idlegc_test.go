package mocksidecar

import "testing"

func TestIdleGCDue(t *testing.T) {
	const quiet, min = 1 << 20, 128 << 20
	var g idleGC
	steps := []struct {
		allocated, cycles uint64
		want              bool
		why               string
	}{
		{10 << 20, 0, false, "the first tick only records"},
		{300 << 20, 0, false, "busy: 290 MiB in a tick"},
		{300<<20 + 512<<10, 0, true, "quiet, 290 MiB since the start"},
		{301 << 20, 1, false, "the cycle it asked for is recorded"},
		{301<<20 + 100, 1, false, "quiet, but nothing to collect"},
		{340 << 20, 1, false, "a push: busy"},
		{340<<20 + 100, 1, false, "quiet after the push: 39 MiB since the cycle, under the minimum"},
		{600 << 20, 1, false, "busy again"},
		{600<<20 + 100, 1, true, "quiet, 299 MiB since the cycle"},
		{900 << 20, 2, false, "a cycle at the memory limit resets the count"},
		{900<<20 + 100, 2, false, "quiet, nothing since that cycle"},
	}
	for i, s := range steps {
		if got := g.due(s.allocated, s.cycles, quiet, min); got != s.want {
			t.Fatalf("step %d (%s): due = %v, want %v", i, s.why, got, s.want)
		}
	}
}
