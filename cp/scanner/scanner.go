package scanner

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/dispatcher/publish"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
)

// Options configure a scanner.
type Options struct {
	// ID names the scanner in the shard map: a scanner that restarts
	// with the same id takes its share back.
	ID string
	// Zone is the zone whose instances it checks ("" checks instances
	// registered without a zone).
	Zone string
	// HTTPAddress serves /v1/check, /v1/confirm, /stats, /debug/instances
	// (host:port; port 0 picks one).
	HTTPAddress string
	// Advertise is the HTTP address other scanners and pilots use; default
	// the bound HTTPAddress.
	Advertise string
	// EtcdEndpoints, DataDir and EtcdClientAddress say which etcd holds
	// the registry (cp/store.Open): an external cluster, else an embedded
	// one.
	EtcdEndpoints     []string
	DataDir           string
	EtcdClientAddress string
	// LeaseTTL is how long its share stays with it after it dies
	// (default 5s, at least 2s).
	LeaseTTL time.Duration
	// Period is how often each instance is checked (default 1s); Timeout
	// a check's limit (default 500ms, at most Period).
	Period, Timeout time.Duration
	// Fall is the failures in a row (default 3) before the double check;
	// Rise the successes in a row (default 2) that clear a mark.
	Fall, Rise int
	// MaxChecks bounds the checks in flight (default 4096: a busy machine
	// stretches checks towards Timeout, and Owned × Timeout / Period are
	// then in flight).
	MaxChecks int
	// NATSURL, when set, is the dispatcher's NATS: after writing or
	// clearing a mark the scanner publishes a health notice
	// (rules.KindHealth, key "<service>/<address>") there, in the
	// background (errors counted as scanner.notice_errors).
	NATSURL string
	// NATSTLS, when set, is the client TLS to that NATS.
	NATSTLS *tls.Config
	// HTTPTLS, when set (api/ca.ServerTLS builds it), makes the HTTP port
	// mutual TLS: check-now requests are served only from pilots
	// (octomesh-pilot), confirm requests only from scanners
	// (octomesh-scanner), reads from any certificate of TrustDomain.
	HTTPTLS *tls.Config
	// ClientTLS, when set (api/ca.ClientTLS, accepting ScannerApp), is the
	// TLS with which it asks other scanners to confirm: needed when they
	// have HTTPTLS.
	ClientTLS *tls.Config
	// TrustDomain is the callers' trust domain; required with HTTPTLS.
	TrustDomain string
	// EtcdTLS, when set, is the client TLS to the external etcd.
	EtcdTLS *tls.Config
	Log     *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.HTTPTLS != nil && o.TrustDomain == "" {
		return errors.New("scanner: http tls needs the callers' trust domain")
	}
	if err := config.CheckName(o.ID); err != nil {
		return fmt.Errorf("scanner: id: %v", err)
	}
	if o.Zone != "" {
		if err := config.CheckName(o.Zone); err != nil {
			return fmt.Errorf("scanner: zone: %v", err)
		}
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 5 * time.Second
	}
	if o.Period == 0 {
		o.Period = time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = min(500*time.Millisecond, o.Period)
	}
	if o.Fall == 0 {
		o.Fall = 3
	}
	if o.Rise == 0 {
		o.Rise = 2
	}
	if o.MaxChecks == 0 {
		o.MaxChecks = 4096
	}
	switch {
	case o.LeaseTTL < 2*time.Second:
		return fmt.Errorf("scanner: lease ttl %s is less than 2s", o.LeaseTTL)
	case o.Period < 10*time.Millisecond || o.Timeout <= 0 || o.Timeout > o.Period:
		return fmt.Errorf("scanner: period %s and timeout %s: want period at least 10ms and 0 < timeout <= period", o.Period, o.Timeout)
	case o.Fall < 1 || o.Rise < 1:
		return fmt.Errorf("scanner: fall %d and rise %d must be at least 1", o.Fall, o.Rise)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Scanner is a running scanner.
type Scanner struct {
	Stats Stats
	// Store is its etcd (embedded or not).
	Store *store.Store

	opts   Options
	log    *slog.Logger
	info   scanner.Info
	ctx    context.Context
	cancel context.CancelFunc
	member *store.Membership
	client *scanner.Client
	http   *http.Server
	ln     net.Listener
	done   chan struct{}
	loop   chan struct{}
	slots  chan struct{}

	mu             sync.Mutex
	inv            inventory
	regroupPending bool

	pub     *publish.Publisher
	notices chan rules.Notice
	pubDone chan struct{}
}

// Start opens the store, joins the shard map and starts checking.
func Start(opts Options) (_ *Scanner, err error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scanner{opts: opts, log: opts.Log, ctx: ctx, cancel: cancel, done: make(chan struct{}), loop: make(chan struct{}),
		slots: make(chan struct{}, opts.MaxChecks), client: scanner.NewClientTLS(2*opts.Timeout+time.Second, opts.ClientTLS)}
	s.inv.init(opts.ID, opts.Zone)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Store, err = store.Open(store.Options{Endpoints: opts.EtcdEndpoints, DataDir: opts.DataDir, ClientAddress: opts.EtcdClientAddress, TLS: opts.EtcdTLS, Log: s.log}); err != nil {
		return nil, err
	}
	if opts.NATSURL != "" {
		if err := s.startNotices(); err != nil {
			return nil, err
		}
	}
	if s.ln, err = net.Listen("tcp", opts.HTTPAddress); err != nil {
		return nil, fmt.Errorf("scanner: http address: %w", err)
	}
	adv := opts.Advertise
	if adv == "" {
		adv = s.ln.Addr().String()
	}
	s.info = scanner.Info{ID: opts.ID, Zone: opts.Zone, HTTP: adv, Started: time.Now().UTC()}
	if opts.HTTPTLS != nil {
		s.ln = tls.NewListener(s.ln, opts.HTTPTLS)
	}
	// ErrorLog: refused TLS handshakes (HTTPTLS) are logged as warnings.
	s.http = &http.Server{Handler: s.callers(s.handler()), ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("scanner: http server stopped", "err", err)
		}
	}()
	go s.Store.WatchPrefix(ctx, shardmap.ScannerPrefix, s.setScanners)
	go s.Store.WatchInstances(ctx, s.setInstances)
	go s.Store.WatchHealthMarks(ctx, s.setMarks)
	rec, _ := json.Marshal(s.info)
	jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
	s.member, err = s.Store.Hold(jctx, shardmap.ScannerKey(opts.ID), rec, opts.LeaseTTL)
	jcancel()
	if err != nil {
		return nil, fmt.Errorf("scanner: joining the shard map: %w", err)
	}
	go s.run()
	s.log.Info("scanner ready", "id", opts.ID, "zone", opts.Zone, "http", adv, "etcd", s.Store.Endpoints(), "period", opts.Period)
	return s, nil
}

// Addrs says where a scanner serves.
type Addrs struct {
	HTTP string `json:"http"`
	// Etcd is the etcd endpoint it uses.
	Etcd string `json:"etcd"`
}

// Addrs says where it serves.
func (s *Scanner) Addrs() Addrs { return Addrs{HTTP: s.info.HTTP, Etcd: s.Store.Endpoints()} }

// Addr is where it serves HTTP (host:port).
func (s *Scanner) Addr() string { return s.info.HTTP }

// ID is its id.
func (s *Scanner) ID() string { return s.opts.ID }

// Close leaves the shard map (its share moves at once), stops checking
// and closes the store. Marks stay in the registry.
func (s *Scanner) Close() {
	if s.member != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.member.Release(ctx)
		cancel()
	}
	s.stop()
}

// Abandon stops as if the process died: its key stays until the lease
// runs out (tests of a scanner's death).
func (s *Scanner) Abandon() {
	if s.member != nil {
		s.member.Abandon()
	}
	s.stop()
}

func (s *Scanner) stop() {
	s.cancel()
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.http.Shutdown(ctx)
		cancel()
		<-s.done
	}
	if s.ln != nil {
		_ = s.ln.Close()
	}
	if s.member != nil {
		<-s.loop
	}
	s.mu.Lock()
	s.inv.closeAll()
	s.mu.Unlock()
	s.client.Close()
	s.stopNotices()
	if s.Store != nil {
		_ = s.Store.Close()
	}
}

// setScanners follows the scanners' membership keys.
func (s *Scanner) setScanners(state map[string][]byte, _ int64) {
	infos := map[string]scanner.Info{}
	for key, v := range state {
		info, err := shardmap.DecodeScanner(v)
		if err != nil || shardmap.ScannerKey(info.ID) != key {
			s.log.Warn("scanner: skipping a bad scanner record", "key", key, "err", err)
			continue
		}
		infos[info.ID] = info
	}
	s.mu.Lock()
	s.inv.setScanners(infos)
	s.scheduleRegroupLocked()
	s.mu.Unlock()
}

func (s *Scanner) setInstances(changes []store.InstanceChange, reset bool) {
	s.mu.Lock()
	s.inv.applyInstances(changes, reset)
	s.scheduleRegroupLocked()
	s.mu.Unlock()
}

func (s *Scanner) setMarks(marks map[string]registry.HealthMark) {
	s.mu.Lock()
	s.inv.setMarks(marks)
	s.scheduleRegroupLocked()
	s.mu.Unlock()
}

// scheduleRegroupLocked regroups the share soon (regroupDelay): a burst
// of registry changes (thousands of instances registering) costs one
// regroup, not one each.
func (s *Scanner) scheduleRegroupLocked() {
	if s.regroupPending {
		return
	}
	s.regroupPending = true
	time.AfterFunc(regroupDelay, func() {
		s.mu.Lock()
		s.regroupPending = false
		s.regroupLocked()
		s.mu.Unlock()
	})
}

// regroupDelay bounds how long a change of the registry or of the scanners
// waits before the share is recomputed.
const regroupDelay = 50 * time.Millisecond

// regroupLocked recomputes what this scanner owns after a change, and
// deletes (in the background) the marks of instances that left.
func (s *Scanner) regroupLocked() {
	orphans := s.inv.rebuild()
	s.Stats.Owned.Store(int64(s.inv.count))
	var down int64
	for _, sl := range s.inv.owned {
		for _, t := range sl {
			if s.inv.down(t.addr) {
				down++
			}
		}
	}
	s.Stats.Down.Store(down)
	if len(orphans) > 0 && s.ctx.Err() == nil {
		go func() {
			for _, m := range orphans {
				s.clearOrphan(m)
			}
		}()
	}
}
