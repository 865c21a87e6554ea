package dispatcher_test

import (
	"context"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/scanner"
	"github.com/octomesh/octomesh/cp/scanner/scannertest"
)

// A scanner with --nats-url publishes a health notice when it marks an
// instance down and when it clears the mark; the dispatcher forwards it to
// the owner of the app whose record lists the service.
func TestScannerPublishesHealthNotices(t *testing.T) {
	st := startEtcd(t)
	d := startDispatcher(t, dispatcher.Options{DataDir: t.TempDir(), EtcdEndpoints: []string{st.Endpoints()}, BackCheck: time.Hour})
	defer d.Close()
	addApp(t, st, "web", "echo")
	p := startPilot(t, st, d.Addrs().NATS, "p1")
	waitFor(t, 10*time.Second, "p1 owns web", func() bool { return d.View.Current().Owner["web"] == "p1" })

	f, err := scannertest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := st.Register(ctx, registry.Instance{Service: "echo", App: "echo", Address: f.Addr(), Weight: 1, Zone: "z1"}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	s, err := scanner.Start(scanner.Options{ID: "s1", Zone: "z1", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{st.Endpoints()}, NATSURL: d.Addrs().NATS,
		LeaseTTL: 2 * time.Second, Period: 200 * time.Millisecond, Timeout: 200 * time.Millisecond, Fall: 2, Rise: 2, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, 10*time.Second, "the scanner checks the sidecar", func() bool { return f.Asked.Load() > 0 })

	f.SetMode(scannertest.Fail)
	waitFor(t, 20*time.Second, "marked down, its notice forwarded to p1", func() bool {
		return s.Stats.Marked.Load() == 1 && s.Stats.Notices.Load() >= 1 && d.Stats.ForwardedTo("p1") >= 1
	})
	f.SetMode(scannertest.OK)
	waitFor(t, 20*time.Second, "marked up, its notice forwarded to p1", func() bool {
		return s.Stats.Cleared.Load() == 1 && s.Stats.Notices.Load() >= 2 && d.Stats.ForwardedTo("p1") >= 2
	})
	waitFor(t, 10*time.Second, "p1 received both", func() bool { return p.Notices.Received.Load() >= 2 })
	if s.Stats.NoticeErrors.Load() != 0 {
		t.Errorf("%d notice errors", s.Stats.NoticeErrors.Load())
	}
}
