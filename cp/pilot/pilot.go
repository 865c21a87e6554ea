package pilot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/registration"
	"github.com/octomesh/octomesh/cp/store"
	"github.com/octomesh/octomesh/internal/grpclite"
	"github.com/octomesh/octomesh/stats"
)

// Options configure a pilot process.
type Options struct {
	// XDSAddress is where sidecars connect (gRPC, ADS): host:port (port 0
	// picks one) or unix:///path.
	XDSAddress string
	// HTTPAddress serves the registration API and debug pages.
	HTTPAddress string
	// EtcdEndpoints are an external etcd cluster's endpoints; empty starts
	// an embedded etcd in DataDir.
	EtcdEndpoints []string
	// DataDir is the embedded etcd's data directory.
	DataDir string
	// EtcdClientAddress is where the embedded etcd serves clients
	// (host:port); default 127.0.0.1:0.
	EtcdClientAddress string
	// EtcdTLS, when set, is the client TLS to the external etcd
	// (EtcdEndpoints; api/ca.ExternalTLS builds it).
	EtcdTLS *tls.Config
	// Shard, when set, makes the pilot one shard of a sharded control
	// plane: it joins the shard map in etcd and serves only the apps
	// assigned to it (see cp/shardmap). Without it the pilot serves every app.
	Shard *ShardOptions
	// NATSURL, when set, makes the pilot learn rule changes (route rules,
	// policies) from the dispatcher's notices on NATS instead of watching
	// them in etcd: it subscribes to its subject (rules.PilotSubject of its
	// shard id, or rules.AllPilots without one), reads a key again when a
	// notice names it, answers the dispatcher's revisions requests, asks
	// for a back-check whenever it (re)connects, and publishes a notice
	// after each rule write through its registration API. Instances and
	// health marks are still watched. Empty: the pilot watches everything
	// in etcd (standalone).
	NATSURL string
	// NATSTLS, when set, is the client TLS to that NATS.
	NATSTLS *tls.Config
	// XDSTLS, when set (XDSTLS builds it), makes the xDS port mutual TLS:
	// every sidecar shows its certificate, and its stream serves only the
	// app the certificate names.
	XDSTLS *tls.Config
	// XDSTransport serves the xDS port's delta ADS streams: "lean" (the
	// default; lean.go, internal/grpclite: one event loop reads every
	// established plain-TCP connection, which keeps no goroutine of its
	// own) or "grpc" (gRPC-go's server, as everything else on the port).
	XDSTransport string
	// HTTPTLS, when set (api/ca.ServerTLS builds it), makes the HTTP port
	// mutual TLS: every client shows a certificate of TrustDomain, and the
	// registration API lets an app register only its own instances of the
	// services it owns (registration.API.RequireIdentity).
	HTTPTLS *tls.Config
	// ScannerTLS, when set (api/ca.ClientTLS accepting api/ca.ScannerApp,
	// with the pilot's own certificate), makes the check-now requests to
	// scanners mutual TLS: needed when the scanners have HTTPTLS.
	ScannerTLS *tls.Config
	// TrustDomain is the clients' trust domain; required with HTTPTLS.
	TrustDomain string
	// Pprof serves Go's profiles (net/http/pprof) under /debug/pprof/ on
	// the HTTP address.
	Pprof bool
	Log   *slog.Logger
}

// Addrs says where a started pilot serves.
type Addrs struct {
	// XDS and HTTP are in config address form: tcp://host:port or
	// unix:///path.
	XDS  string `json:"xds"`
	HTTP string `json:"http"`
	// Etcd is the etcd endpoint the pilot uses.
	Etcd string `json:"etcd"`
}

// Pilot is a running pilot: its store (etcd, embedded or not), xDS server
// and HTTP API.
type Pilot struct {
	XDS   *Server
	Store *store.Store
	// Notices counts what the pilot did with the dispatcher's notices
	// (Options.NATSURL).
	Notices NoticeStats

	log    *slog.Logger
	cancel context.CancelFunc
	grpc   *grpc.Server
	lean   *grpclite.Server // the xDS port's lean transport, or nil (Options.XDSTransport)
	http   *http.Server
	xdsLn  net.Listener
	httpLn net.Listener
	addrs  Addrs
	done   chan struct{}
	pprof  bool // serve /debug/pprof/ (Options.Pprof)
	shard  *shard
	fast   *fastPath // follows the scanners' records
	// drained is set once Drain has ended every session: Close then lets
	// the streams' final statuses (the redirects) reach the sidecars.
	drained atomic.Bool
	// registration is the registration API, which gives back the leases
	// etcd lost while it was out of reach.
	registration *registration.API
	// notices is the pilot's NATS connection (Options.NATSURL), or nil.
	notices *noticeClient
	// etcdDown, while etcd does not answer the pilot, says since when and
	// why (nil: it answers); /healthz reports it.
	etcdDown atomic.Pointer[etcdOutage]
}

// etcdOutage is a time etcd did not answer the pilot.
type etcdOutage struct {
	since time.Time
	err   error
}

// Probing etcd: how often, and how long a probe may take.
const (
	etcdProbeInterval = time.Second
	etcdProbeTimeout  = 2 * time.Second
)

// Start starts a pilot. On error, whatever had started is stopped again.
func Start(opts Options) (_ *Pilot, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pilot{log: log, cancel: cancel, done: make(chan struct{}), pprof: opts.Pprof}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.Store, err = store.Open(store.Options{Endpoints: opts.EtcdEndpoints, DataDir: opts.DataDir, ClientAddress: opts.EtcdClientAddress, TLS: opts.EtcdTLS, Log: log}); err != nil {
		return nil, err
	}
	p.addrs.Etcd = p.Store.Endpoints()
	var src Source = p.Store
	var reg registration.Store = p.Store
	if opts.NATSURL != "" {
		shardID := ""
		if opts.Shard != nil {
			shardID = opts.Shard.ID
		}
		ns := newNoticeSource(ctx, p.Store, log, &p.Notices)
		if p.notices, err = connectNotices(ctx, opts.NATSURL, opts.NATSTLS, shardID, ns, log); err != nil {
			return nil, err
		}
		src, reg = ns, noticingStore{Store: p.Store, c: p.notices}
	}
	p.XDS = NewServer(ctx, src, log)
	p.fast = startFastPath(ctx, p.Store, p.XDS, log, opts.ScannerTLS)
	p.registration = registration.New(reg, log)

	if p.xdsLn, p.addrs.XDS, err = listen(opts.XDSAddress); err != nil {
		return nil, fmt.Errorf("pilot: xds address: %w", err)
	}
	transport, err := checkTransport(opts.XDSTransport)
	if err != nil {
		return nil, err
	}
	gopts := XDSServerOptions()
	grpcLn := p.xdsLn
	if transport == TransportLean {
		// The lean transport takes the port; other connections are the
		// grpc.Server's, TLS already done.
		p.lean = p.XDS.LeanServer(opts.XDSTLS)
		grpcLn = p.lean.Fallback()
		if opts.XDSTLS != nil {
			gopts = append(gopts, grpc.Creds(grpclite.HandshakenTLS()))
		}
	} else if opts.XDSTLS != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(opts.XDSTLS)))
	}
	if opts.XDSTLS != nil {
		p.XDS.RequireIdentity()
	}
	p.grpc = grpc.NewServer(gopts...)
	p.XDS.Register(p.grpc)
	if p.httpLn, p.addrs.HTTP, err = listen(opts.HTTPAddress); err != nil {
		return nil, fmt.Errorf("pilot: http address: %w", err)
	}
	if opts.HTTPTLS != nil {
		if opts.TrustDomain == "" {
			return nil, errors.New("pilot: http tls needs the clients' trust domain")
		}
		p.registration.RequireIdentity(opts.TrustDomain)
		p.httpLn = tls.NewListener(p.httpLn, opts.HTTPTLS)
	}
	if opts.Shard != nil {
		if err := p.startShard(ctx, *opts.Shard); err != nil {
			return nil, err
		}
	}
	// ErrorLog: refused TLS handshakes (--http-tls-*) are logged as warnings.
	p.http = &http.Server{Handler: p.httpHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	grpcDone := make(chan struct{})
	go func() {
		defer close(grpcDone)
		if err := p.grpc.Serve(grpcLn); err != nil {
			log.Error("pilot: xds server stopped", "err", err)
		}
	}()
	if p.lean != nil {
		go func() {
			if err := p.lean.Serve(p.xdsLn); err != nil && !errors.Is(err, grpclite.ErrServerClosed) {
				log.Error("pilot: xds server stopped", "err", err)
			}
		}()
	}
	go func() {
		defer close(p.done)
		if err := p.http.Serve(p.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pilot: http server stopped", "err", err)
		}
		<-grpcDone
	}()
	go p.watchEtcd(ctx)
	log.Info("pilot ready", "xds", p.addrs.XDS, "http", p.addrs.HTTP, "etcd", p.addrs.Etcd)
	return p, nil
}

// watchEtcd probes etcd until ctx ends. It logs each change, not each
// probe: etcd unreachable (an error), and reachable again (with how long it
// was not); while it is unreachable /healthz says so. When it is back it
// gives back the leases etcd lost meanwhile whose apps kept renewing them
// (registration.API.Reinstate), so that their instances return at once.
func (p *Pilot) watchEtcd(ctx context.Context) {
	t := time.NewTicker(etcdProbeInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, etcdProbeTimeout)
		err := p.Store.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		down := p.etcdDown.Load()
		switch {
		case err != nil && down == nil:
			p.etcdDown.Store(&etcdOutage{since: time.Now(), err: err})
			p.log.Error("pilot: etcd unreachable; sidecars keep their configuration, registrations fail until it is back",
				"etcd", p.addrs.Etcd, "err", err)
		case err != nil:
			p.etcdDown.Store(&etcdOutage{since: down.since, err: err})
		case down != nil:
			n, rerr := p.registration.Reinstate(ctx)
			if rerr != nil {
				p.log.Warn("pilot: etcd answers again, but giving back lost leases failed; trying again", "etcd", p.addrs.Etcd, "err", rerr)
				break // still down for /healthz; the next probe tries again
			}
			p.etcdDown.Store(nil)
			p.log.Info("pilot: etcd reachable again", "etcd", p.addrs.Etcd, "after", time.Since(down.since).Round(time.Millisecond), "leases_given_back", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listen opens a config-style address and returns it with the port chosen.
func listen(addr string) (net.Listener, string, error) {
	network, address, err := config.ParseAddress(addr)
	if err != nil {
		return nil, "", err
	}
	if network == "unix" {
		if c, err := net.DialTimeout("unix", address, 100*time.Millisecond); err == nil {
			c.Close()
			return nil, "", fmt.Errorf("%s is in use by a live process", address)
		}
		_ = os.Remove(address) // a socket left by a pilot that died
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, "", err
	}
	return ln, network + "://" + ln.Addr().String(), nil
}

// startShard makes the pilot a shard: it follows the shard map, then
// joins it (once the xDS listener is open, so that sidecars sent here
// find it).
func (p *Pilot) startShard(ctx context.Context, o ShardOptions) error {
	if err := config.CheckName(o.ID); err != nil {
		return fmt.Errorf("pilot: shard id: %v", err)
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 5 * time.Second
	}
	if o.Advertise == "" {
		o.Advertise = p.addrs.XDS
	}
	if _, _, err := config.ParseAddress(o.Advertise); err != nil {
		return fmt.Errorf("pilot: advertised xds address: %v", err)
	}
	self := meta.PilotInfo{ID: o.ID, XDS: o.Advertise, HTTP: "", Started: time.Now().UTC()}
	if p.httpLn != nil {
		self.HTTP = p.addrs.HTTP
	}
	p.shard = newShard(ctx, self, o.LeaseTTL, p.Store, p.XDS, p.log)
	p.XDS.snapshot.shard = p.shard
	p.XDS.sessions.gate = p.shard
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return p.shard.start(wctx)
}

// Drain takes a shard pilot out of the shard map: its apps move to their
// successors at once and its sessions are redirected there. It waits (at
// most until ctx ends) until the pilot's own view has seen it leave and
// every session's stream has ended with its redirect. A pilot that is not
// a shard has nothing to drain.
func (p *Pilot) Drain(ctx context.Context) error {
	if p.shard == nil {
		return nil
	}
	p.log.Info("pilot: draining", "id", p.shard.self.ID)
	if err := p.shard.leave(ctx); err != nil {
		return err
	}
	// Every session was sent its redirect; wait until their streams have
	// carried it, so that closing the pilot does not cut one short.
	for p.XDS.Stats.Sessions.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("pilot: %d sessions still open after the drain: %w", p.XDS.Stats.Sessions.Load(), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.drained.Store(true)
	return nil
}

// Addrs says where the pilot serves.
func (p *Pilot) Addrs() Addrs { return p.addrs }

// Close stops serving (streams end, sidecars keep their configuration and
// reconnect) and closes its store (stopping an embedded etcd).
func (p *Pilot) Close() {
	if p.grpc != nil && p.drained.Load() {
		// The sessions' handlers have returned or are returning; wait
		// (a little) for their statuses to be written, then cut.
		done := make(chan struct{})
		go func() { p.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	p.cancel()
	if p.grpc != nil {
		p.grpc.Stop()
	}
	if p.lean != nil {
		p.lean.Close() // streams' trailers were written when they ended
	}
	if p.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = p.http.Shutdown(ctx)
		cancel()
		<-p.done
	}
	for _, ln := range []net.Listener{p.xdsLn, p.httpLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if p.shard != nil && p.shard.member != nil {
		p.shard.member.Abandon() // a pilot that did not drain leaves when its lease runs out
	}
	p.notices.close()
	if p.Store != nil {
		_ = p.Store.Close()
	}
}

// httpHandler serves the registration API (see registry.Handler) and:
//
//	GET /debug/sessions   every xDS session: node, subscriptions, ACKed versions, NACKs
//	GET /stats            counters, "name value" lines
//	GET /debug/push       the latest push's ACKs per millisecond after its change (PushAcks)
//	GET /metrics          the same in the Prometheus text format (metrics.go)
//	GET /debug/scanners   the live scanners' records (api/scanner.Info), as the pilot follows them
//	GET /healthz          "ok", or 503 and why while etcd is unreachable
//	GET /debug/pprof/     Go's profiles, with Options.Pprof
func (p *Pilot) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", p.registration)
	mux.HandleFunc("GET /debug/sessions", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.XDS.Sessions())
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		p.XDS.WriteStats(w)
		d := &p.Store.Stats
		m := map[string]uint64{
			"diplomat.watches":    uint64(d.Watches.Load()),
			"diplomat.events":     d.Events.Load(),
			"diplomat.bad_values": d.BadValues.Load(),
			"diplomat.resyncs":    d.Resyncs.Load(),

			registration.RefusedStat: p.registration.Stats.Refused.Load(),
		}
		if p.notices != nil {
			n := &p.Notices
			m["notices.received"] = n.Received.Load()
			m["notices.fetched"] = n.Fetched.Load()
			m["notices.stale"] = n.Stale.Load()
			m["notices.unheld"] = n.Unheld.Load()
			m["notices.fetch_errors"] = n.FetchErrors.Load()
			m["notices.revision_requests"] = n.RevisionRequests.Load()
			m["notices.backchecks_asked"] = n.BackChecksAsked.Load()
			m["notices.published"] = n.Published.Load()
			m["notices.publish_errors"] = n.PublishErrors.Load()
			m["notices.connected"] = uint64(n.Connected.Load())
			for name, h := range map[string]*stats.Histogram{"notices.delivery_delay": &n.DeliveryDelay, "notices.fetch_delay": &n.FetchDelay} {
				s := h.Snapshot()
				m[name+".count"] = s.Count()
				m[name+".p50_us"] = uint64(s.Quantile(0.5).Microseconds())
				m[name+".p99_us"] = uint64(s.Quantile(0.99).Microseconds())
				m[name+".max_us"] = uint64(s.Quantile(1).Microseconds())
			}
		}
		writeSorted(w, m)
	})
	mux.Handle("GET /metrics", p.metrics(mux))
	mux.HandleFunc("GET /debug/push", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.XDS.LastPush())
	})
	mux.HandleFunc("GET /debug/shard", func(w http.ResponseWriter, _ *http.Request) {
		if p.shard == nil {
			http.Error(w, "this pilot is not a shard: it serves every app", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.shard.info())
	})
	p.handleStatus(mux) // GET /debug/status, /debug/config, /debug/service (status.go)
	mux.HandleFunc("GET /debug/scanners", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.fast.scanners())
	})
	if p.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if down := p.etcdDown.Load(); down != nil {
			http.Error(w, fmt.Sprintf("etcd %s unreachable since %s (%s ago): %v", p.addrs.Etcd,
				down.since.UTC().Format(time.RFC3339), time.Since(down.since).Round(time.Second), down.err), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }
