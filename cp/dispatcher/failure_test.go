package dispatcher_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/dispatcher/publish"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/cp/store"
)

// (a) A notice dropped on purpose while an app moves between two pilots:
// the back-check finds the gap, and the app's sidecar, now on the new
// owner, gets the new route.
func TestBackCheckRepairsANoticeLostInAMove(t *testing.T) {
	st := startEtcd(t)
	var dropWeb atomic.Bool
	d := startDispatcher(t, dispatcher.Options{DataDir: t.TempDir(), EtcdEndpoints: []string{st.Endpoints()}, BackCheck: 2 * time.Second,
		DropNotice: func(n rules.Notice) bool { return dropWeb.Load() && n.Kind == rules.KindRoutes && n.Key == "web" }})
	defer d.Close()
	addApp(t, st, "web", "echo")
	putRoutes(t, st, "web", "echo-v1")
	pilots := map[string]*pilot.Pilot{"p1": startPilot(t, st, d.Addrs().NATS, "p1"), "p2": startPilot(t, st, d.Addrs().NATS, "p2")}
	var owner string
	waitFor(t, 10*time.Second, "web has an owner with both pilots in the dispatcher's view", func() bool {
		a := d.View.Current()
		owner = a.Owner["web"]
		return len(a.Pilots) == 2 && owner != ""
	})
	other := map[string]string{"p1": "p2", "p2": "p1"}[owner]
	sc := startSidecar(t, "web", pilots[owner].Addrs().XDS)
	waitFor(t, 10*time.Second, "the sidecar has route echo-v1", func() bool { c, _, _ := sc.state(); return c == "echo-v1" })

	// The move: the owner drains, web goes to the other pilot, the sidecar
	// is redirected there.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := pilots[owner].Drain(ctx); err != nil {
		t.Fatal(err)
	}
	pilots[owner].Close()
	waitFor(t, 10*time.Second, "the other pilot owns web and the sidecar is on it", func() bool {
		_, addr, _ := sc.state()
		return pilots[other].XDS.Shard.Owned.Load() == 1 && "tcp://"+addr == pilots[other].Addrs().XDS
	})
	waitFor(t, 10*time.Second, "the new owner holds web's rules", func() bool {
		_, ok := held(t, d.Addrs().NATS, rules.PilotSubject(other)).Revisions[rules.KindRoutes]["web"]
		return ok
	})

	// The change, and its notice lost.
	dropWeb.Store(true)
	repairs := d.Stats.BackCheckRepairs.Load()
	rev := putRoutes(t, st, "web", "echo-v2")
	pub, err := publish.NewPublisher(d.Addrs().NATS, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx, rules.Notice{Kind: rules.KindRoutes, Key: "web", Revision: rev}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the notice was dropped", func() bool { return d.Stats.DroppedTest.Load() >= 1 })
	waitFor(t, 20*time.Second, "the sidecar gets echo-v2 from the back-check", func() bool { c, _, _ := sc.state(); return c == "echo-v2" })
	if got := d.Stats.BackCheckRepairs.Load(); got <= repairs {
		t.Errorf("backcheck_repairs %d, want more than %d", got, repairs)
	}
	if got := d.StatsMap()["dispatcher.backcheck_repairs"]; got == 0 {
		t.Errorf("/stats has no repairs")
	}
}

// (b) The dispatcher is stopped and started again on the same data
// directory (its embedded NATS and stream too) under a stream of 200
// changes: every notice reaches a dispatcher (the durable consumer), and
// every final value reaches the pilot.
func TestRestartUnderAStreamLosesNothing(t *testing.T) {
	st := startEtcd(t)
	dir := t.TempDir()
	var seenMu sync.Mutex
	seen := map[string]bool{}
	observe := func(n rules.Notice) bool {
		seenMu.Lock()
		seen[fmt.Sprintf("%s@%d", n.Key, n.Revision)] = true
		seenMu.Unlock()
		return false
	}
	o := dispatcher.Options{DataDir: dir, EtcdEndpoints: []string{st.Endpoints()}, BackCheck: time.Hour, DropNotice: observe}
	d := startDispatcher(t, o)
	natsURL := d.Addrs().NATS
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(natsURL, "nats://"))
	o.NATSAddress = "127.0.0.1:" + port
	o.APIAddress = "127.0.0.1:0"

	const apps, rounds = 50, 4
	for i := range apps {
		addApp(t, st, fmt.Sprintf("app%d", i), "echo")
	}
	p := startPilot(t, st, natsURL, "p1")
	waitFor(t, 10*time.Second, "the pilot holds every app's rules", func() bool {
		return len(held(t, natsURL, rules.PilotSubject("p1")).Revisions[rules.KindRoutes]) == apps
	})

	pub, err := publish.NewPublisher(natsURL, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var published atomic.Int64
	var sent []string
	writerDone := make(chan error, 1)
	go func() {
		for r := range rounds {
			for i := range apps {
				app := fmt.Sprintf("app%d", i)
				rev, err := writeRoutes(st, app, fmt.Sprintf("echo-r%d", r))
				if err != nil {
					writerDone <- err
					return
				}
				n := rules.Notice{Kind: rules.KindRoutes, Key: app, Revision: rev}
				// A publisher retries while NATS is away (the dispatcher,
				// and its embedded NATS, restarting).
				deadline := time.Now().Add(60 * time.Second)
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					err := pub.Publish(ctx, n)
					cancel()
					if err == nil {
						break
					}
					if time.Now().After(deadline) {
						writerDone <- fmt.Errorf("publish %v: %v", n, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				sent = append(sent, fmt.Sprintf("%s@%d", app, rev))
				published.Add(1)
			}
		}
		writerDone <- nil
	}()
	waitFor(t, 30*time.Second, "70 changes published", func() bool { return published.Load() >= 70 })
	d.Close()
	time.Sleep(200 * time.Millisecond) // a few changes meanwhile, published on the dispatcher's return
	d = startDispatcher(t, o)
	defer d.Close()
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if len(sent) != apps*rounds {
		t.Fatalf("sent %d changes, want %d", len(sent), apps*rounds)
	}
	waitFor(t, 40*time.Second, "every published notice reached a dispatcher", func() bool {
		seenMu.Lock()
		defer seenMu.Unlock()
		for _, s := range sent {
			if !seen[s] {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want, _, err := st.ModRevisions(ctx, store.RoutesPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]int64
	waitFor(t, 40*time.Second, "the pilot holds every final value", func() bool {
		h = held(t, natsURL, rules.PilotSubject("p1")).Revisions[rules.KindRoutes]
		for app, rev := range want {
			if h[app] != rev {
				return false
			}
		}
		return true
	})
	t.Logf("pilot: %d notices received, %d reads; dispatchers' repairs after the restart: %d", p.Notices.Received.Load(), p.Notices.Fetched.Load(), d.Stats.BackCheckRepairs.Load())
}

// startNATS starts a NATS server with JetStream in dir on port (0: any),
// as an external NATS would be.
func startNATS(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats did not start")
	}
	return ns
}

// (c) NATS stops for a while: the pilot keeps serving (its sidecar keeps
// its stream, a new sidecar gets the current rules from etcd), and the
// changes written meanwhile, whose notices could not be published, arrive
// once it is back.
func TestNATSAwayThenBack(t *testing.T) {
	st := startEtcd(t)
	natsDir := t.TempDir()
	ns := startNATS(t, natsDir, 0)
	url := ns.ClientURL()
	_, portText, _ := net.SplitHostPort(strings.TrimPrefix(url, "nats://"))
	var port int
	fmt.Sscan(portText, &port)
	d := startDispatcher(t, dispatcher.Options{DataDir: t.TempDir(), NATSURL: url, EtcdEndpoints: []string{st.Endpoints()}, BackCheck: time.Hour})
	defer d.Close()
	addApp(t, st, "web", "echo")
	addApp(t, st, "api", "echo")
	putRoutes(t, st, "web", "echo-v1")
	putRoutes(t, st, "api", "echo-v1")
	p := startPilot(t, st, url, "p1")
	sc := startSidecar(t, "web", p.Addrs().XDS)
	waitFor(t, 10*time.Second, "the sidecar has echo-v1", func() bool { c, _, _ := sc.state(); return c == "echo-v1" })

	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, 10*time.Second, "the pilot saw NATS go", func() bool { return p.Notices.Connected.Load() == 0 })
	pub, err := publish.NewPublisher(url, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	revWeb := putRoutes(t, st, "web", "echo-v2")
	putRoutes(t, st, "api", "echo-v2")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	if err := pub.Publish(ctx, rules.Notice{Kind: rules.KindRoutes, Key: "web", Revision: revWeb}); err == nil {
		t.Fatal("a publish succeeded with NATS stopped")
	}
	cancel()
	// The pilot serves on: a new sidecar connects and gets api's rules as
	// the pilot holds them (the pilot preloaded them: echo-v1).
	sc2 := startSidecar(t, "api", p.Addrs().XDS)
	waitFor(t, 10*time.Second, "a new sidecar is served while NATS is away", func() bool { c, _, _ := sc2.state(); return c != "" })
	if c, _, conns := sc.state(); c != "echo-v1" || conns != 1 {
		t.Errorf("the first sidecar: cluster %q after %d connections, want echo-v1 on its one stream", c, conns)
	}
	time.Sleep(300 * time.Millisecond)

	ns = startNATS(t, natsDir, port)
	defer ns.Shutdown()
	waitFor(t, 20*time.Second, "both sidecars get echo-v2 once NATS is back", func() bool {
		c1, _, _ := sc.state()
		c2, _, _ := sc2.state()
		return c1 == "echo-v2" && c2 == "echo-v2"
	})
	if d.Stats.BackCheckRepairs.Load() == 0 {
		t.Error("no back-check repair counted")
	}
	waitFor(t, 10*time.Second, "the pilot asked for a back-check at start and again after NATS returned", func() bool {
		return p.Notices.BackChecksAsked.Load() >= 2
	})
}

// (d) A notice for an app no pilot owns is counted dropped; (e) the
// publish API refuses bad input naming the field, and writes without the
// token (counted).
func TestDroppedAndPublishAPI(t *testing.T) {
	st := startEtcd(t)
	dir := t.TempDir()
	d := startDispatcher(t, dispatcher.Options{DataDir: dir, EtcdEndpoints: []string{st.Endpoints()}, BackCheck: time.Hour})
	defer d.Close()
	addApp(t, st, "web", "echo")
	startPilot(t, st, d.Addrs().NATS, "p1")
	waitFor(t, 10*time.Second, "p1 owns web", func() bool { return d.View.Current().Owner["web"] == "p1" })

	tokenFile := filepath.Join(dir, "operator.token")
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(b))
	if len(token) != 64 {
		t.Errorf("token %q: want 64 hex characters", token)
	}
	api := "http://" + strings.TrimPrefix(d.Addrs().API, "tcp://")

	// (e) no token, a wrong one: 401, counted.
	if code, body := httpDo(t, "POST", api+"/v1/notices", "", `{"kind":"routes","key":"web"}`); code != 401 || !strings.Contains(body, "token") {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, _ := httpDo(t, "POST", api+"/v1/notices", "not-the-token", `{"kind":"routes","key":"web"}`); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if got := d.Stats.Unauthorized.Load(); got != 2 {
		t.Errorf("api.unauthorized %d, want 2", got)
	}
	for body, want := range map[string]string{
		`{"kind":"rutes","key":"web"}`: `notice kind \"rutes\"`,
		`{"kind":"routes"}`:            `notice key`,
		`[{"kind":"routes","key":"web"},{"kind":"health","key":"echo"}]`: `notices[1]: notice key`,
		`{"kind":"routes","key":"web","revison":3}`:                      `unknown field \"revison\"`,
	} {
		if code, got := httpDo(t, "POST", api+"/v1/notices", token, body); code != 400 || !strings.Contains(got, want) {
			t.Errorf("POST %s: %d %s, want 400 naming %s", body, code, got, want)
		}
	}
	if d.Stats.Received.Load() != 0 {
		t.Errorf("refused notices were published: received %d", d.Stats.Received.Load())
	}

	// (d) ghost has no record and so no owner: dropped. web is p1's.
	if code, body := httpDo(t, "POST", api+"/v1/notices", token, `[{"kind":"routes","key":"ghost"},{"kind":"routes","key":"web"}]`); code != 202 {
		t.Fatalf("good notices: %d %s", code, body)
	}
	// Received counts a notice before it is forwarded or dropped: wait
	// for both outcomes.
	waitFor(t, 10*time.Second, "both notices received and handled", func() bool {
		return d.Stats.Received.Load() == 2 && d.Stats.Dropped.Load()+d.Stats.ForwardedTo("p1") >= 2
	})
	if got := d.Stats.Dropped.Load(); got != 1 {
		t.Errorf("dropped %d, want 1 (ghost)", got)
	}
	if got := d.Stats.ForwardedTo("p1"); got != 1 {
		t.Errorf("forwarded to p1 %d, want 1 (web)", got)
	}
	code, stats := httpDo(t, "GET", api+"/stats", "", "")
	if code != 200 || !strings.Contains(stats, "dispatcher.dropped 1\n") || !strings.Contains(stats, "api.unauthorized 2\n") || !strings.Contains(stats, "dispatcher.forwarded.pilot.p1 1\n") {
		t.Errorf("/stats: %d\n%s", code, stats)
	}
	if code, body := httpDo(t, "GET", api+"/debug/index", "", ""); code != 200 || !strings.Contains(body, `"web": "p1"`) {
		t.Errorf("/debug/index: %d %s", code, body)
	}
	if code, body := httpDo(t, "GET", api+"/healthz", "", ""); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}

	// Another handler on the API, its writes behind the token.
	d.Handle("/v1/example/", d.RequireToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "example %s %s", r.Method, r.URL.Path)
	})))
	if code, body := httpDo(t, "GET", api+"/v1/example/web", "", ""); code != 200 || body != "example GET /v1/example/web" {
		t.Errorf("GET a mounted handler: %d %s", code, body)
	}
	if code, _ := httpDo(t, "PUT", api+"/v1/example/web", "", "{}"); code != 401 {
		t.Errorf("PUT a mounted handler without the token: %d, want 401", code)
	}
	if code, body := httpDo(t, "PUT", api+"/v1/example/web", token, "{}"); code != 200 || body != "example PUT /v1/example/web" {
		t.Errorf("PUT a mounted handler with the token: %d %s", code, body)
	}
	if got := d.Stats.Unauthorized.Load(); got != 3 {
		t.Errorf("api.unauthorized %d, want 3", got)
	}
}
