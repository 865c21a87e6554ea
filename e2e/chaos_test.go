package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/octomesh/octomesh/agent"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	"github.com/octomesh/octomesh/internal/faultrelay"
)

// The chaos run's knobs: the short form (go test ./e2e) runs every fault
// once; e2e/chaos/soak.sh runs them in rounds.
var (
	chaosRounds  = flag.Int("chaos.rounds", 1, "TestChaos: rounds of every fault")
	chaosMax     = flag.Duration("chaos.max", 20*time.Minute, "TestChaos: start no round after this long")
	chaosHold    = flag.Duration("chaos.hold", 3*time.Second, "TestChaos: how long a lasting fault lasts (a partition, an outage, a slow server, an overload)")
	chaosRate    = flag.Int("chaos.rate", 200, "TestChaos: the steady load, calls started per second (the overload is 10 times this)")
	chaosRecover = flag.Duration("chaos.recover", 45*time.Second, "TestChaos: the bound on each fault's recovery, from its injection")
)

const (
	// chaosTimeout is each call's deadline (Kitex's RPC timeout); a call
	// that has not returned chaosGrace after it is lost.
	chaosTimeout = 3 * time.Second
	chaosGrace   = 2 * time.Second
	// chaosWindow is the measurement window: recovery is the start of the
	// first window from which every window has ≥ 99% success.
	chaosWindow = 500 * time.Millisecond
	// chaosAfter is how long the run keeps measuring once recovered, to
	// see that it stays so.
	chaosAfter = 2 * time.Second
)

// chaosCall is one call of the load.
type chaosCall struct {
	start, end time.Time
	err        error
}

// chaosLoad starts calls at a paced rate (an open loop: a failure does
// not slow it down), each with its own goroutine and deadline.
type chaosLoad struct {
	client echoClient
	rate   atomic.Int64 // calls per second
	nextID atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup // the pacer
	calls  sync.WaitGroup // calls in flight

	mu       sync.Mutex
	done     []chaosCall
	inflight map[int64]time.Time
}

func startChaosLoad(c echoClient, rate int) *chaosLoad {
	l := &chaosLoad{client: c, stop: make(chan struct{}), inflight: map[int64]time.Time{}}
	l.rate.Store(int64(rate))
	l.wg.Add(1)
	go l.pace()
	return l
}

// pace starts rate/100 calls every 10ms, carrying fractions over, and
// catches up after a late tick.
func (l *chaosLoad) pace() {
	defer l.wg.Done()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	var owed float64
	for {
		select {
		case <-l.stop:
			return
		case now := <-tick.C:
			owed += float64(l.rate.Load()) * now.Sub(last).Seconds()
			last = now
			for ; owed >= 1; owed-- {
				l.call()
			}
		}
	}
}

func (l *chaosLoad) call() {
	id := l.nextID.Add(1)
	start := time.Now()
	l.mu.Lock()
	l.inflight[id] = start
	l.mu.Unlock()
	l.calls.Add(1)
	go func() {
		defer l.calls.Done()
		resp, err := l.client.Echo(context.Background(), &echogen.EchoRequest{Id: id, Payload: make([]byte, 128)}, callopt.WithRPCTimeout(chaosTimeout))
		if err == nil && resp.Id != id {
			err = fmt.Errorf("request %d answered with id %d", id, resp.Id)
		}
		end := time.Now()
		l.mu.Lock()
		delete(l.inflight, id)
		l.done = append(l.done, chaosCall{start, end, err})
		l.mu.Unlock()
	}()
}

// end stops starting calls and waits for those in flight up to their
// deadline and grace.
func (l *chaosLoad) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	done := make(chan struct{})
	go func() { l.calls.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(chaosTimeout + chaosGrace + time.Second):
	}
}

// windowResult is what calls started in [from, to) did, once each had
// its deadline and grace to return.
type windowResult struct {
	calls, failed, lost int
	firstErr            string
	// recovery is from `from` to the start of the first window of
	// chaosWindow from which every window has ≥ 99% success; -1 if
	// the last window is below.
	recovery time.Duration
	// worst is the lowest success rate of a window, in percent.
	worst float64
}

// result waits until every call started before to has returned or is
// past its deadline and grace, then counts [from, to).
func (l *chaosLoad) result(from, to time.Time) windowResult {
	limit := to.Add(chaosTimeout + chaosGrace)
	for time.Now().Before(limit) {
		l.mu.Lock()
		pending := 0
		for _, s := range l.inflight {
			if s.Before(to) && !s.Before(from) {
				pending++
			}
		}
		l.mu.Unlock()
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var r windowResult
	n := int(to.Sub(from)/chaosWindow) + 1
	ok, all := make([]int, n), make([]int, n)
	l.mu.Lock()
	for _, s := range l.inflight {
		if !s.Before(from) && s.Before(to) {
			r.calls++
			r.lost++
			r.failed++
			all[int(s.Sub(from)/chaosWindow)]++
		}
	}
	for _, c := range l.done {
		if c.start.Before(from) || !c.start.Before(to) {
			continue
		}
		i := int(c.start.Sub(from) / chaosWindow)
		r.calls++
		all[i]++
		if c.end.Sub(c.start) > chaosTimeout+chaosGrace {
			r.lost++
		}
		if c.err != nil {
			r.failed++
			if r.firstErr == "" {
				r.firstErr = c.err.Error()
			}
			continue
		}
		ok[i]++
	}
	l.mu.Unlock()
	r.worst = 100
	r.recovery = 0
	for i := range n {
		if all[i] == 0 {
			continue
		}
		rate := 100 * float64(ok[i]) / float64(all[i])
		r.worst = min(r.worst, rate)
		if rate < 99 {
			r.recovery = time.Duration(i+1) * chaosWindow
		}
	}
	if last := n - 1; all[last] > 0 && 100*float64(ok[last])/float64(all[last]) < 99 {
		r.recovery = -1
	}
	return r
}

// recentRate is the success rate of the calls that started in a window
// that ended 1.5s ago (a call still running counts as failed; -1 with
// none).
func (l *chaosLoad) recentRate() float64 {
	to := time.Now().Add(-1500 * time.Millisecond) // sidecar A times a call out after 1s
	from := to.Add(-chaosWindow)
	l.mu.Lock()
	defer l.mu.Unlock()
	ok, all := 0, 0
	for _, s := range l.inflight {
		if !s.Before(from) && s.Before(to) {
			all++
		}
	}
	for i := len(l.done) - 1; i >= 0 && i >= len(l.done)-20000; i-- {
		c := l.done[i]
		if !c.start.Before(from) && c.start.Before(to) {
			all++
			if c.err == nil {
				ok++
			}
		}
	}
	if all == 0 {
		return -1
	}
	return 100 * float64(ok) / float64(all)
}

// chaosFault is one fault of the run.
type chaosFault struct {
	name string
	// inject breaks something; restore (nil: nothing to do, an agent
	// restarts it) mends it after the hold (0: at once).
	inject  func(t *testing.T, m *chaosMesh, l *chaosLoad) (restore func())
	hold    bool
	promise string
	// zeroFailures: the design promises that no call fails.
	zeroFailures bool
}

func agentStatus(a *agentProc) (agent.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return agent.GetStatus(ctx, a.ready.Admin)
}

// killSidecar kills an agent's sidecar with SIGKILL and waits for the
// agent to report another one running.
func killSidecar(t *testing.T, a *agentProc) {
	t.Helper()
	st, err := agentStatus(a)
	if err != nil || st.Sidecar == nil {
		t.Fatalf("agent: %+v %v", st, err)
	}
	old := st.Sidecar.PID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !waitFor(60*time.Second, func() bool {
		st, err := agentStatus(a)
		return err == nil && st.State == agent.StateRunning && st.Sidecar != nil && st.Sidecar.PID != old
	}) {
		t.Fatalf("the agent did not restart its sidecar within 60s:\n%s", a.logs)
	}
}

// restartAfterKill kills p with SIGKILL; the returned func starts it
// again.
func restartAfterKill(t *testing.T, p *chaosProc) func() {
	p.kill()
	return func() {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
	}
}

func chaosFaults() []chaosFault {
	relayMode := func(mode faultrelay.Mode) func(*testing.T, *chaosMesh, *chaosLoad) func() {
		return func(_ *testing.T, m *chaosMesh, _ *chaosLoad) func() {
			m.relay.SetMode(mode)
			return func() { m.relay.SetMode(faultrelay.Pass) }
		}
	}
	return []chaosFault{
		{name: "kill -9 server app", hold: true,
			promise: "calls to it fail until the scanner marks it down (2 checks of 500ms) or sidecar A ejects it (5 failures in a row)",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				_ = m.app1.Process.Kill()
				_ = m.app1.Wait()
				return func() { m.startApp1(t) }
			}},
		{name: "kill -9 server sidecar",
			promise: "calls on its connections fail (at most those in flight to it) until the agent restarts it or it is ejected",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				killSidecar(t, m.agentB1)
				return nil
			}},
		{name: "kill -9 client sidecar",
			promise: "every call fails fast (connection refused) until the agent restarts it and it has its routes again",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				killSidecar(t, m.agentA)
				return nil
			}},
		{name: "kill -9 pilot", hold: true, zeroFailures: true,
			promise: "no call fails: sidecars keep their configuration; sidecar A moves to the other pilot after the lease (2s) and grace (3s)",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				p := m.sessionPilot() // the one that serves sidecar A
				if p == nil {
					t.Fatal("no pilot has sidecar A's session")
				}
				t.Logf("killing %s, which serves sidecar A", p.name)
				return restartAfterKill(t, p)
			}},
		{name: "kill -9 dispatcher", hold: true, zeroFailures: true,
			promise: "no call fails: the dispatcher carries rule changes, not traffic",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				return restartAfterKill(t, m.disp)
			}},
		{name: "kill -9 scanner", hold: true, zeroFailures: true,
			promise: "no call fails: marks stay as they are while no scanner checks",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				return restartAfterKill(t, m.scanner)
			}},
		// kill -9, not SIGTERM: the embedded etcd's graceful stop waits about
		// 8 s for its clients' streams, which with the hold made the outage
		// longer than the leases' 10 s, and the registrations expired in
		// one CI run of four. The promise is about an outage shorter than
		// the leases; a longer one is the scanner's and the leases' business.
		{name: "etcd killed and started", hold: true, zeroFailures: true,
			promise: "no call fails: pilots serve what they have; leases kept (10s TTL, outage shorter)",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				t0 := time.Now()
				m.etcd.kill()
				t.Logf("etcd killed in %v", time.Since(t0))
				return func() {
					t1 := time.Now()
					if err := m.etcd.start(); err != nil {
						t.Fatal(err)
					}
					t.Logf("etcd started in %v", time.Since(t1))
				}
			}},
		{name: "NATS stopped and started", hold: true, zeroFailures: true,
			promise: "no call fails: notices wait in JetStream; clients reconnect",
			inject: func(t *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				m.nats.stop()
				return func() {
					if err := m.nats.start(); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{name: "partition A-B2", hold: true, inject: relayMode(faultrelay.Partition),
			promise: "calls in flight on the reset connections fail; new ones go to echo-1 (connect failures are retried)"},
		{name: "blackhole A-B2", hold: true, inject: relayMode(faultrelay.Blackhole),
			promise: "calls to echo-2 time out in sidecar A (1s) until the scanner (its checks cross the link) or A's outlier detection ejects it"},
		{name: "5% loss A-B2 (200ms stalls)", hold: true, inject: relayMode(faultrelay.Loss), zeroFailures: true,
			promise: "no call fails: a stalled chunk costs 200ms, under the 1s timeout"},
		{name: "server 50x slower", hold: true, zeroFailures: true,
			promise: "no call fails: 50ms answers are within every timeout",
			inject: func(_ *testing.T, m *chaosMesh, _ *chaosLoad) func() {
				m.app2.delay.Store(int64(50 * time.Millisecond))
				return func() { m.app2.delay.Store(0) }
			}},
		{name: "10x overload", hold: true,
			promise: "no call is lost; calls may fail or wait while the load lasts; back to ≥ 99% once it ends",
			inject: func(_ *testing.T, _ *chaosMesh, l *chaosLoad) func() {
				base := l.rate.Load()
				l.rate.Store(10 * base)
				return func() { l.rate.Store(base) }
			}},
	}
}

// chaosRow is one line of the report.
type chaosRow struct {
	round               int
	fault, promise      string
	held                time.Duration
	xds                 time.Duration // from the injection until a pilot has A's session (after the restore)
	r                   windowResult
	rssMiB, rssStartMiB float64
}

// TestChaos runs steady Kitex load through a demo-sized mesh and breaks
// one part at a time (see chaosFaults and docs/reliability.md). For each
// fault: no call is lost (every call returns, with an answer or an error,
// by its deadline and a grace), the success rate is back to ≥ 99% within
// -chaos.recover of the injection and stays there, a pilot serves sidecar
// A's xDS session again within that bound, and a fault whose design
// promise is "no call fails" fails none. The table goes to
// $OCTOMESH_CHAOS_REPORT when set.
func TestChaos(t *testing.T) {
	m := startChaosMesh(t)
	if !waitFor(90*time.Second, func() bool { ok, _ := m.healthy(); return ok }) {
		_, why := m.healthy()
		t.Fatalf("sidecar A does not see both echo instances healthy: %s", why)
	}
	l := startChaosLoad(m.client, *chaosRate)
	defer l.end()
	waitSteady := func(t *testing.T) {
		t.Helper()
		if !waitFor(90*time.Second, func() bool {
			ok, _ := m.healthy()
			return ok && l.recentRate() >= 99 && m.xdsSession()
		}) {
			_, why := m.healthy()
			t.Fatalf("the mesh is not steady (last window %.1f%% ok, a pilot has sidecar A's session: %v): %s", l.recentRate(), m.xdsSession(), why)
		}
	}
	waitSteady(t)
	var rows []chaosRow
	began := time.Now()
	for round := 1; round <= *chaosRounds && (round == 1 || time.Since(began) < *chaosMax); round++ {
		for _, f := range chaosFaults() {
			name := strings.NewReplacer(" ", "_", "%", "pct").Replace(f.name)
			if *chaosRounds > 1 {
				name = fmt.Sprintf("round%d/%s", round, name)
			}
			ok := t.Run(name, func(t *testing.T) {
				waitSteady(t)
				row := chaosRow{round: round, fault: f.name, promise: f.promise}
				for _, pid := range m.sidecarPIDs() {
					row.rssStartMiB += rssMiB(pid)
				}
				// Sample the sidecars' memory while the fault lasts.
				var maxRSS atomic.Uint64
				sampling := make(chan struct{})
				var sampled sync.WaitGroup
				sampled.Add(1)
				go func() {
					defer sampled.Done()
					for {
						var sum float64
						for _, pid := range m.sidecarPIDs() {
							sum += rssMiB(pid)
						}
						if uint64(sum*1024) > maxRSS.Load() {
							maxRSS.Store(uint64(sum * 1024))
						}
						select {
						case <-sampling:
							return
						case <-time.After(250 * time.Millisecond):
						}
					}
				}()
				from := time.Now()
				restore := f.inject(t, m, l)
				if f.hold {
					time.Sleep(*chaosHold) // the fault's length, not a wait for a condition
				}
				if restore != nil {
					restore()
				}
				row.held = time.Since(from)
				if waitFor(*chaosRecover-time.Since(from), m.xdsSession) {
					row.xds = time.Since(from)
				} else {
					t.Errorf("%s: no pilot has sidecar A's xDS session %v after the injection", f.name, *chaosRecover)
				}
				recovered := waitFor(*chaosRecover-time.Since(from), func() bool {
					ok, _ := m.healthy()
					return ok && l.recentRate() >= 99
				})
				time.Sleep(chaosAfter) // measured: the success rate must stay up
				to := time.Now()
				close(sampling)
				sampled.Wait()
				row.r = l.result(from, to)
				row.rssMiB = float64(maxRSS.Load()) / 1024
				rows = append(rows, row)
				t.Logf("%s: %d calls, %d failed (first: %s), %d lost, recovery %v (worst window %.1f%%), sidecars' RSS %.0f MiB at most (%.0f before)",
					f.name, row.r.calls, row.r.failed, row.r.firstErr, row.r.lost, row.r.recovery, row.r.worst, row.rssMiB, row.rssStartMiB)
				if row.r.lost != 0 {
					t.Errorf("%s: %d calls lost (no answer and no error within %v + %v)", f.name, row.r.lost, chaosTimeout, chaosGrace)
				}
				if !recovered || row.r.recovery < 0 || row.r.recovery > *chaosRecover {
					_, why := m.healthy()
					t.Errorf("%s: not recovered to ≥ 99%% within %v (recovery %v; last window %.1f%%); sidecar A sees: %s", f.name, *chaosRecover, row.r.recovery, l.recentRate(), why)
				}
				if f.zeroFailures && row.r.failed != 0 {
					t.Errorf("%s: %d of %d calls failed; the design promises none (first: %s)", f.name, row.r.failed, row.r.calls, row.r.firstErr)
				}
				if t.Failed() {
					m.logTails(t, 30)
				}
			})
			if !ok && !waitFor(30*time.Second, func() bool { h, _ := m.healthy(); return h && l.recentRate() >= 99 }) {
				// A fault that left the mesh broken would fail every later one.
				writeChaosReport(t, rows)
				t.Fatalf("the mesh did not come back after %q: stopping the run", f.name)
			}
		}
	}
	writeChaosReport(t, rows)
}

// writeChaosReport writes the rows as a Markdown table to
// $OCTOMESH_CHAOS_REPORT, when set.
func writeChaosReport(t *testing.T, rows []chaosRow) {
	var b strings.Builder
	fmt.Fprintf(&b, "| round | fault | held | calls | failed | the design's bound on failures | lost | recovered after | worst window | A's xDS session after | sidecars' RSS max (before) |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		rec := "not recovered"
		if r.r.recovery >= 0 {
			rec = r.r.recovery.String()
		}
		fmt.Fprintf(&b, "| %d | %s | %.1fs | %d | %d | %s | %d | %s | %.0f%% | %.1fs | %.0f MiB (%.0f) |\n",
			r.round, r.fault, r.held.Seconds(), r.r.calls, r.r.failed, r.promise, r.r.lost, rec, r.r.worst, r.xds.Seconds(), r.rssMiB, r.rssStartMiB)
	}
	t.Logf("chaos report:\n%s", b.String())
	if file := os.Getenv("OCTOMESH_CHAOS_REPORT"); file != "" {
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}
