package dispatcher_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/dispatcher/publish"
)

// TestNoticeLatency measures a rule change's way through the dispatcher:
// from the notice's publish (after the etcd write) to the sidecar holding
// the new route (JetStream, the durable consumer, core NATS to the pilot,
// the pilot's read of etcd, the push). It asserts only that every change
// arrives, and that each stage's delay was timed (the dispatcher's
// forward, the pilot's delivery and fetch); the figures are logged.
func TestNoticeLatency(t *testing.T) {
	st := startEtcd(t)
	d := startDispatcher(t, dispatcher.Options{DataDir: t.TempDir(), EtcdEndpoints: []string{st.Endpoints()}, BackCheck: time.Hour})
	defer d.Close()
	addApp(t, st, "web", "echo")
	putRoutes(t, st, "web", "echo-0")
	p := startPilot(t, st, d.Addrs().NATS, "p1")
	sc := startSidecar(t, "web", p.Addrs().XDS)
	waitFor(t, 10*time.Second, "the sidecar has echo-0", func() bool { c, _, _ := sc.state(); return c == "echo-0" })
	pub, err := publish.NewPublisher(d.Addrs().NATS, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const n = 100
	var lat []time.Duration
	for i := 1; i <= n; i++ {
		want := fmt.Sprintf("echo-%d", i)
		rev := putRoutes(t, st, "web", want)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := pub.Publish(ctx, rules.Notice{Kind: rules.KindRoutes, Key: "web", Revision: rev})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if c, _, _ := sc.state(); c == want {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("change %d did not arrive within 10s", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("publish -> sidecar, %d changes: p50 %v p90 %v p99 %v max %v", n, lat[n/2], lat[n*9/10], lat[n*99/100], lat[n-1])
	fwd, del, fetch := d.Stats.ForwardDelay.Snapshot(), p.Notices.DeliveryDelay.Snapshot(), p.Notices.FetchDelay.Snapshot()
	// Every notice of the loop was timed (the preload's read was not a
	// notice's; a back-check may add a few), except one that reached the
	// pilot as a back-check's repair, which carries no stored time: on a
	// loaded machine the pilot's 2 s shard lease can lapse, the shard map
	// then names no owner for a moment, a notice forwarded meanwhile goes
	// to no pilot, and the back-check after the map's change repairs it
	// (the change then arrives a second late). The last fetch may be
	// recorded just after the sidecar saw its change: wait for it, within a
	// deadline.
	timed := func() bool {
		fwd, del, fetch = d.Stats.ForwardDelay.Snapshot(), p.Notices.DeliveryDelay.Snapshot(), p.Notices.FetchDelay.Snapshot()
		return fwd.Count() >= n && del.Count()+d.Stats.BackCheckRepairs.Load() >= n && fetch.Count() >= n
	}
	for deadline := time.Now().Add(10 * time.Second); !timed() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !timed() {
		t.Fatalf("timed %d forwards, %d deliveries (and %d back-check repairs, %d notices forwarded to no pilot), %d fetches; want at least %d each",
			fwd.Count(), del.Count(), d.Stats.BackCheckRepairs.Load(), d.Stats.Dropped.Load(), fetch.Count(), n)
	}
	if q := del.Quantile(0.5); q <= 0 || q > 10*time.Second {
		t.Fatalf("delivery p50 %v: want more than 0, at most 10s", q)
	}
	t.Logf("stored -> forwarded p50 %v p99 %v; stored -> at the pilot p50 %v p99 %v; notice -> value read p50 %v p99 %v",
		fwd.Quantile(0.5), fwd.Quantile(0.99), del.Quantile(0.5), del.Quantile(0.99), fetch.Quantile(0.5), fetch.Quantile(0.99))
	page := d.StatsMap()
	if page["dispatcher.forward_delay.count"] < n {
		t.Fatalf("/stats dispatcher.forward_delay.count %d; want at least %d", page["dispatcher.forward_delay.count"], n)
	}
}
