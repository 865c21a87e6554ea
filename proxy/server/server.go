package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sidecarapi "github.com/octomesh/octomesh/api/sidecar"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/admin"
	"github.com/octomesh/octomesh/proxy/downstream"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/filter/authz"
	"github.com/octomesh/octomesh/proxy/filter/fault"
	"github.com/octomesh/octomesh/proxy/filter/ratelimit"
	"github.com/octomesh/octomesh/proxy/hotrestart"
	"github.com/octomesh/octomesh/proxy/identity"
	"github.com/octomesh/octomesh/proxy/transport"
	"github.com/octomesh/octomesh/proxy/upstream"
	"github.com/octomesh/octomesh/stats"
)

// The sweeper's ticks (sweep): sweepInterval is the resolution of request
// timeouts; slowSweep, of outlier detection's timers and of an idle
// sidecar's wake-ups; idleSweep, of clusters' idle_timeout.
const (
	sweepInterval = upstream.SweepResolution
	slowSweep     = time.Second
	idleSweep     = 10 * time.Second
)

// Stats counts what the server itself does: hot restart and draining. The
// request path counts in downstream.Stats.
type Stats struct {
	ProxyRestartsSent  stats.Counter
	HotRestartFailures stats.Counter // hand-overs that failed (this process served on)
	MemoryReleases     stats.Counter // memory returned after a burst of connections closed
	Sweeps             stats.Counter // runs of the clusters' timers (sweep)
}

// Server is one sidecar: its listeners, clusters and admin endpoint, built
// from one config.
type Server struct {
	cfg *config.Config
	log *slog.Logger

	stats     Stats
	sidecar   downstream.Sidecar // the request path's limits, counters, calls in flight
	app       *appCheck          // does the app answer (health probes ask)
	transport transport.Stats
	upstream  upstream.Stats
	// The filter chain: the filters this sidecar knows, their counters,
	// and their state across route table rebuilds.
	filters  *filter.Registry
	counters filter.Counters
	state    filter.State
	// Mutual TLS (security.go): the workload identity, and the TLS of each
	// mode, built from it; nil without an identity section.
	identity *identity.Source
	tls      [3]*transport.TLS // by transport.TLSMode

	applyMu  sync.Mutex // serialises config changes; guards retiring
	clusters atomic.Pointer[clusterSet]
	retiring []*upstream.Cluster
	sweeper  *upstream.Sweeper // the clusters' timers (sweep)

	listeners []*listener
	admin     *admin.Server
	levelVar  atomic.Pointer[slog.LevelVar] // what /logging changes; nil: fixed
	dropText  atomic.Bool                   // releases drop text pages too (ReleaseStartupMemory)
	built     atomic.Int64                  // clusters and endpoints ApplyClusters built (memory.go)
	version   atomic.Pointer[string]        // the active config's version

	xds *xdsLink // nil without an xds section (xds.go)

	// Hot restart (restart.go).
	control   *hotrestart.Control // nil without hot_restart.socket
	handovers chan handoverResult
	restartMu sync.Mutex // one POST /hotrestart at a time
	draining  atomic.Bool

	stop chan struct{}
	done chan struct{} // closed when Close has finished
	wg   sync.WaitGroup
	once sync.Once
}

type listener struct {
	name string
	cfg  config.Listener
	// appFacing: a Unix socket, where the local app calls in; otherwise a
	// TCP port where peer sidecars call in. They drain differently.
	appFacing bool
	dl        *downstream.Listener // the request path: routes, restarting
	chain     filter.Chain
	ln        *transport.Listener
	routes    atomic.Pointer[[]config.Route] // what dl.Routes was built from
	// pushedAuthz: the rule sets the pilot pushed (ApplyAuthorization),
	// beside cfg.Authorization; under applyMu once serving.
	pushedAuthz []config.AuthzPolicy
}

// Builtin lists the filters every sidecar knows, in their default chain
// order.
var Builtin = []filter.Def{authz.Def, ratelimit.Def, fault.Def}

// New builds a sidecar from cfg; nothing listens until Start.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: log, stop: make(chan struct{}), done: make(chan struct{}), handovers: make(chan handoverResult, 1),
		sweeper: upstream.NewSweeper()}
	s.SetConfigVersion("static")
	reg, err := filter.NewRegistry(Builtin...)
	if err != nil {
		return nil, err
	}
	s.filters = reg
	s.sidecar.Limits = downstream.Limits{MaxInflight: int64(cfg.Limits.MaxInflight), MaxInflightPerConnection: int32(cfg.Limits.MaxInflightPerConnection)}
	s.sidecar.Healthy = s.healthy
	s.app = newAppCheck(s.appSockets)
	if err := s.openIdentity(); err != nil {
		return nil, err
	}
	built := false
	defer func() {
		if !built && s.identity != nil {
			s.identity.Close() // stops renewing
		}
	}()
	set := clusterSet{}
	s.clusters.Store(&set)
	for i, cc := range cfg.Clusters {
		c, fe := s.buildCluster(cc)
		if fe != nil {
			s.closeClusters()
			return nil, s.fieldErrorf(fmt.Sprintf("clusters[%d]", i), fe)
		}
		set[cc.Name] = &clusterEntry{cfg: cc, c: c}
	}
	for i, lc := range cfg.Listeners {
		network, _, _ := config.ParseAddress(lc.Address) // checked by config
		l := &listener{name: lc.Name, cfg: lc, appFacing: network == "unix", dl: &downstream.Listener{Name: lc.Name, Sidecar: &s.sidecar}}
		chain, fe := s.filters.Chain(lc.Filters)
		if fe != nil {
			s.closeClusters()
			return nil, s.fieldErrorf(fmt.Sprintf("listeners[%d]", i), fe)
		}
		l.chain = chain
		if len(lc.AuthorizationFromPilot) > 0 && !chain.Has(authz.Def.Name) {
			s.closeClusters()
			return nil, s.fieldErrorf(fmt.Sprintf("listeners[%d]", i), &config.FieldError{Field: "filters", Msg: `authorization_from_pilot needs the "authz" filter in the chain`})
		}
		routes := append([]config.Route(nil), lc.Routes...)
		l.routes.Store(&routes)
		s.state.Begin(l.name)
		t, fe := s.routeTable(l, routes, set)
		if fe != nil {
			s.closeClusters()
			return nil, s.fieldErrorf(fmt.Sprintf("listeners[%d]", i), fe)
		}
		l.dl.Routes.Store(t)
		s.state.End(l.name)
		s.listeners = append(s.listeners, l)
	}
	if err := s.initXDS(); err != nil {
		s.closeClusters()
		return nil, err
	}
	built = true
	return s, nil
}

// upstreamTransportOptions: connections to clusters carry many requests
// at once, so their writes are coalesced.
func (s *Server) upstreamTransportOptions() transport.Options {
	o := s.transportOptions()
	o.CoalesceWrites = true
	return o
}

// clusterTransportOptions: a cluster's, with its mutual TLS.
func (s *Server) clusterTransportOptions(cc config.Cluster) transport.Options {
	o := s.upstreamTransportOptions()
	o.TLS = s.tlsOf(cc.TLS)
	return o
}

func (s *Server) transportOptions() transport.Options {
	l := s.cfg.Limits
	return transport.Options{MaxFrameSize: int(l.MaxFrameSize), FrameTimeout: l.FrameTimeout.Std(), WriteTimeout: l.WriteTimeout.Std()}
}

// listenerOptions: the limits, and the listener's own connection bounds
// where it sets them.
func (s *Server) listenerOptions(lc config.Listener) transport.Options {
	o := s.transportOptions()
	o.MaxConns, o.IdleTimeout = s.cfg.Limits.MaxConnections, s.cfg.Limits.IdleTimeout.Std()
	o.TLS = s.tlsOf(lc.TLS)
	if lc.MaxConnections > 0 {
		o.MaxConns = lc.MaxConnections
	}
	if lc.IdleTimeout > 0 {
		o.IdleTimeout = lc.IdleTimeout.Std()
	}
	return o
}

// Start opens the listeners and the admin endpoint. On error everything
// already started is closed again.
func (s *Server) Start() error { return s.start(nil) }

// start serves on fresh sockets, or on those an old process offers.
func (s *Server) start(offer *hotrestart.Offer) error {
	for i, l := range s.listeners {
		network, address, _ := config.ParseAddress(l.cfg.Address)
		ln, err := s.listen(l, network, address, offer, s.listenerOptions(l.cfg))
		if err != nil {
			s.Close()
			return s.cfg.Errorf(fmt.Sprintf("listeners[%d].address", i), "listener %s: %v%s", l.name, err, inUseHint(err))
		}
		l.ln = ln
		s.log.Info("listener ready", "name", l.name, "network", network, "address", ln.Addr())
	}
	if err := s.startAdmin(adminListener(offer)); err != nil {
		s.Close()
		return err
	}
	if err := s.startHandovers(offer); err != nil {
		s.Close()
		return err
	}
	if offer != nil && s.xds != nil && len(offer.State.Subscriptions) > 0 {
		if err := s.xds.client.Subscribe(offer.State.Subscriptions...); err != nil {
			s.log.Warn("hot restart: subscriptions not carried over", "err", err)
		}
	}
	s.startXDS()
	s.wg.Add(1)
	go s.sweep()
	return nil
}

// sweep runs the clusters' timers (upstream.Sweeper): at the earliest
// deadline of the requests in flight (within upstream.SweepResolution,
// never twice within it), and at least once a slowSweep, so that an idle
// sidecar wakes once a second whatever its configuration's size, and a busy
// one whose requests answer in time no more often (or once per request
// timeout, when that is shorter), not at a fixed tick. The slow tick also
// judges outlier detection's intervals, returns memory after a burst of
// connections (memory.go), and every idleSweep closes upstream connections
// idle for their cluster's idle_timeout.
func (s *Server) sweep() {
	defer s.wg.Done()
	t := time.NewTimer(slowSweep)
	defer t.Stop()
	mem := memoryReleaser{release: func() {
		if err := releaseMemory(s.dropText.Load()); err != nil {
			s.log.Warn("memory not released", "error", err)
		}
	}}
	lastSlow, lastIdle := time.Now(), time.Now()
	last := upstream.Now() - sweepInterval // the last sweep
	for {
		select {
		case <-s.stop:
			return
		case <-s.sweeper.Woken():
			// Something is due before the planned sweep: sweep now, or
			// once sweepInterval has passed since the last.
			if early := last + sweepInterval - upstream.Now(); early > 0 {
				t.Reset(early)
				s.sweeper.Plan(last + sweepInterval)
				continue
			}
		case <-t.C:
		}
		now := time.Now()
		last = upstream.Now()
		s.stats.Sweeps.Add(1)
		next := s.sweepClusters()
		if now.Sub(lastSlow) >= slowSweep {
			lastSlow = now
			s.sweeper.SweepSlow()
			if mem.check(s.openConns(), s.built.Load(), now) {
				s.stats.MemoryReleases.Add(1)
			}
			if now.Sub(lastIdle) >= idleSweep {
				lastIdle = now
				for _, e := range *s.clusters.Load() {
					e.c.SweepIdle()
				}
			}
		}
		wait := min(max(next-last, sweepInterval), slowSweep)
		s.sweeper.Plan(last + wait)
		t.Reset(wait)
	}
}

// Ready describes the started server, as it tells what started it.
func (s *Server) Ready() sidecarapi.ReadyInfo {
	r := sidecarapi.ReadyInfo{PID: os.Getpid(), Listeners: map[string]string{}}
	for _, l := range s.listeners {
		if l.ln != nil {
			r.Listeners[l.name] = l.ln.Network() + "://" + l.ln.Addr()
		}
	}
	if s.admin != nil {
		r.Admin = s.admin.Addr()
	}
	return r
}

// ListenerAddr returns the address listener name is bound to, or "".
func (s *Server) ListenerAddr(name string) string {
	for _, l := range s.listeners {
		if l.name == name && l.ln != nil {
			return l.ln.Addr()
		}
	}
	return ""
}

// Close stops accepting, closes every connection and stops the admin
// endpoint. Requests in flight fail; Drain lets them finish first.
func (s *Server) Close() {
	s.once.Do(func() {
		defer close(s.done)
		if s.control != nil && !s.draining.Load() {
			_ = s.control.Close(true)
		}
		s.closeXDS()
		for _, l := range s.listeners {
			if l.ln != nil {
				_ = l.ln.Close()
			}
		}
		s.closeClusters()
		close(s.stop)
		s.wg.Wait()
		if s.identity != nil {
			s.identity.Close()
		}
		if s.admin != nil {
			_ = s.admin.Close()
		}
	})
}

// serveStats writes every counter as "name value" lines, sorted.
func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.WriteStats(w)
}

// WriteStats writes every counter and gauge as "name value" lines, sorted
// by name, with each live cluster's round-trip latency in microseconds
// (cluster.<name>.latency.p50_us and so on).
func (s *Server) WriteStats(w io.Writer) {
	ds := &s.sidecar.Stats
	m := map[string]uint64{
		"downstream.requests":              ds.Requests.Load(),
		"downstream.no_route":              ds.NoRoute.Load(),
		"downstream.no_instances":          ds.NoInstances.Load(),
		"downstream.overloaded_conn":       ds.OverloadedConn.Load(),
		"downstream.overloaded_sidecar":    ds.OverloadedSidecar.Load(),
		"downstream.error_responses":       ds.ErrorResponses.Load(),
		"downstream.oneway_dropped":        ds.OnewayDropped.Load(),
		"downstream.requests_waited":       ds.RequestsWaited.Load(),
		"downstream.deadline_exceeded":     ds.DeadlineExceeded.Load(),
		"downstream.health_probes":         ds.HealthProbes.Load(),
		"app_check.checks":                 s.app.Checks.Load(),
		"app_check.failures":               s.app.Failures.Load(),
		"retry.retries":                    ds.Retries.Load(),
		"retry.refused":                    ds.RetriesRefused.Load(),
		"retry.budget_exhausted":           s.upstream.RetryBudgetExhausted.Load(),
		"retry.overflow":                   s.upstream.RetryOverflow.Load(),
		"mirror.sent":                      ds.Mirrored.Load(),
		"mirror.dropped":                   ds.MirrorDropped.Load(),
		"mirror.failed":                    ds.MirrorFailed.Load(),
		"circuit_breaker.open":             s.upstream.CircuitOpen.Load(),
		"circuit_breaker.pending_overflow": s.upstream.PendingOverflow.Load(),
		"outlier.ejections":                s.upstream.Ejections.Load(),
		"outlier.ejections_refused":        s.upstream.EjectionsRefused.Load(),
		"outlier.returns":                  s.upstream.Returns.Load(),
		"outlier.degraded":                 s.upstream.Degraded.Load(),
		"outlier.probes":                   s.upstream.Probes.Load(),
		"outlier.probe_failures":           s.upstream.ProbeFailures.Load(),
		"hotrestart.restart_answers":       ds.RestartAnswers.Load(),
		"hotrestart.proxy_restarts_sent":   s.stats.ProxyRestartsSent.Load(),
		"hotrestart.failures":              s.stats.HotRestartFailures.Load(),
		"memory.releases":                  s.stats.MemoryReleases.Load(),
		"sweeper.sweeps":                   s.stats.Sweeps.Load(),
		"upstream.proxy_restarts":          s.upstream.ProxyRestarts.Load(),
		"downstream.inflight":              uint64(s.sidecar.Inflight.Load()),
		"transport.accepted":               s.transport.Accepted.Load(),
		"transport.dialed":                 s.transport.Dialed.Load(),
		"transport.closed":                 s.transport.Closed.Load(),
		"transport.accept_errors":          s.transport.AcceptErrors.Load(),
		"transport.refused":                s.transport.Refused.Load(),
		"transport.idle_closed":            s.transport.IdleClosed.Load(),
		"transport.frames_in":              s.transport.FramesIn.Load(),
		"transport.frames_out":             s.transport.FramesOut.Load(),
		"transport.bytes_in":               s.transport.BytesIn.Load(),
		"transport.bytes_out":              s.transport.BytesOut.Load(),
		"upstream.requests":                s.upstream.Requests.Load(),
		"upstream.responses":               s.upstream.Responses.Load(),
		"upstream.late_responses":          s.upstream.LateResponses.Load(),
		"upstream.timeouts":                s.upstream.Timeouts.Load(),
		"upstream.connection_lost":         s.upstream.ConnLost.Load(),
		"upstream.overloaded":              s.upstream.Overloaded.Load(),
		"upstream.unreachable":             s.upstream.Unreachable.Load(),
		"upstream.write_errors":            s.upstream.WriteErrors.Load(),
		"upstream.dial_failures":           s.upstream.DialFails.Load(),
		"upstream.idle_closed":             s.upstream.IdleClosed.Load(),
		"upstream.connections_open":        uint64(s.upstream.ConnsOpen.Load()),
	}
	for kind, n := range s.transport.ErrorCounts() {
		m["transport.protocol_errors."+kind] = n
	}
	s.securityStats(m)
	for _, c := range s.filters.CounterNames() { // at 0 before they count
		m[c] = 0
	}
	s.counters.Each(func(name string, v uint64) { m[name] = v })
	for name, e := range *s.clusters.Load() {
		h := e.c.Latency().Snapshot()
		m["cluster."+name+".failures"] = e.c.Failures()
		m["cluster."+name+".error_responses"] = e.c.ErrorResponses()
		p := "cluster." + name + ".latency."
		m[p+"count"] = h.Count()
		for _, q := range latencyQuantiles {
			m[p+q.name+"_us"] = uint64(h.Quantile(q.q) / time.Microsecond)
		}
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s %d\n", n, m[n])
	}
}

// inUseHint says what to do about an address another process listens on.
func inUseHint(err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return " (another process listens there: stop it, or choose another port; port 0 picks a free one)"
	}
	return ""
}
