package e2e

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssKiB is the resident memory of process pid.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// A burst of idle connections, more than the listener takes: the surplus
// is refused and counted, the rest close after the idle timeout, and the
// memory they held goes back to the system.
func TestConnectionBurstIsBoundedTimedOutAndItsMemoryReturned(t *testing.T) {
	const max, burst = 1500, 2000
	dir := tempDir(t)
	// It measures memory: a sidecar without the race detector (fastBin),
	// whose shadow memory would swamp what the burst costs.
	s := sidecarProcOf(t, fastBin, "limits.yaml", fmt.Sprintf(`
node: {id: limits-1, app: echo}
admin: {address: "127.0.0.1:0"}
limits: {max_connections: %d, idle_timeout: 1s}
listeners:
  - name: inbound
    address: "127.0.0.1:0"
    routes: [{cluster: app}]
clusters:
  - name: app
    endpoints: [{address: "unix://%s/none.sock"}]
`, max, dir), false)
	stat(t, s, "transport.accepted") // the admin endpoint's own first use is not the burst's
	base := rssKiB(t, s.PID())

	conns := make([]net.Conn, 0, burst)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for len(conns) < burst {
		c, err := net.Dial("tcp", addr(s))
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	if !waitFor(time.Minute, func() bool {
		return stat(t, s, "transport.accepted") == max && stat(t, s, "transport.refused") == burst-max
	}) {
		t.Fatalf("accepted %d refused %d, want %d and %d", stat(t, s, "transport.accepted"), stat(t, s, "transport.refused"), max, burst-max)
	}
	peak := rssKiB(t, s.PID())
	if peak-base < 2048 {
		t.Fatalf("RSS %d KiB with %d connections open, %d before: the burst should cost more than 2 MiB", peak, max, base)
	}

	if !waitFor(time.Minute, func() bool { return stat(t, s, "transport.idle_closed") == max }) {
		t.Fatalf("idle_closed %d, want %d", stat(t, s, "transport.idle_closed"), max)
	}
	if !waitFor(time.Minute, func() bool { return stat(t, s, "memory.releases") >= 1 }) {
		t.Fatal("no memory release after the burst closed")
	}
	// What stays is netpoll's tables, sized for the peak (docs/operations.md):
	// at least a third of the burst's cost must go back.
	want := peak - (peak-base)/3
	if !waitFor(time.Minute, func() bool { return rssKiB(t, s.PID()) <= want }) {
		t.Fatalf("RSS %d KiB after the burst closed; %d before it, %d at its peak: want at most %d", rssKiB(t, s.PID()), base, peak, want)
	}
	t.Logf("RSS: %d KiB before, %d with %d connections, %d after", base, peak, max, rssKiB(t, s.PID()))
}
