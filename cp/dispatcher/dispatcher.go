package dispatcher

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher/publish"
	cprelease "github.com/octomesh/octomesh/cp/release"
	cprules "github.com/octomesh/octomesh/cp/rules"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
	"github.com/octomesh/octomesh/stats"
)

// Options configure a dispatcher.
type Options struct {
	// NATSURL is an external NATS (with JetStream) to use; empty starts an
	// embedded nats-server with JetStream, its store in DataDir/jetstream,
	// listening on NATSAddress.
	NATSURL string
	// NATSTLS, when set, is the client TLS to the external NATS (NATSURL).
	NATSTLS *tls.Config
	// EtcdTLS, when set, is the client TLS to the external etcd
	// (EtcdEndpoints).
	EtcdTLS *tls.Config
	// NATSAddress is where the embedded NATS serves clients: host:port;
	// default 127.0.0.1:4222, port 0 picks a free one.
	NATSAddress string
	// EtcdEndpoints are an external etcd cluster's; empty starts an
	// embedded etcd in DataDir/etcd (EtcdClientAddress, default
	// 127.0.0.1:0).
	EtcdEndpoints     []string
	EtcdClientAddress string
	// DataDir holds the embedded NATS's and etcd's data and, by default,
	// the operator token. Required.
	DataDir string
	// APIAddress serves the publish API, /stats, /healthz and /debug/index
	// (host:port); default 127.0.0.1:15050. Keep it on loopback or a
	// trusted network: writes need the token, reads do not.
	APIAddress string
	// TokenFile holds the bearer token that POST /v1/notices (and handlers
	// wrapped with RequireToken) require; default DataDir/operator.token,
	// created with 32 random bytes (hex, mode 0600) when missing.
	TokenFile string
	// BackCheck is how often every pilot is back-checked (and it also runs
	// after each reassignment and when a pilot asks); default 30s.
	// Negative disables the back-check entirely (tests of the notice path
	// alone).
	BackCheck time.Duration
	// Consumer is the durable JetStream consumer's name; default
	// "octomesh-dispatcher". Dispatchers sharing it share the notices.
	Consumer string
	// Handlers are mounted on the API's mux as given (pattern -> handler),
	// e.g. "/v1/rules/" for the rule store. Wrap them with RequireToken to
	// require the operator token.
	Handlers map[string]http.Handler
	// AgentToken, when set, is what agents' release polls and reports
	// must carry; empty: agents are accepted from loopback only.
	AgentToken string
	// DropNotice is for tests only: a notice it returns true for is
	// acknowledged and not forwarded (counted as dispatcher.dropped_test),
	// as if it were lost.
	DropNotice func(rules.Notice) bool
	Log        *slog.Logger
}

// Addrs says where a started dispatcher serves.
type Addrs struct {
	// NATS is the NATS client URL (the embedded server's, or NATSURL).
	NATS string `json:"nats"`
	// API is the HTTP API's address (tcp://host:port).
	API string `json:"api"`
	// Etcd is the etcd endpoint used.
	Etcd string `json:"etcd"`
}

// Stats counts what the dispatcher did.
type Stats struct {
	// Received counts notices consumed from the stream; Bad those that did
	// not decode (terminated, not redelivered).
	Received, Bad atomic.Uint64
	// Forwarded counts notices sent to shard pilots (one per pilot);
	// ForwardedAll those sent to rules.AllPilots; Dropped the notices no
	// shard pilot was interested in; DroppedTest those Options.DropNotice
	// dropped.
	Forwarded, ForwardedAll, Dropped, DroppedTest atomic.Uint64
	// ForwardErrors counts notices that could not be forwarded (NAKed:
	// the stream delivers them again).
	ForwardErrors atomic.Uint64
	// BackCheckRuns counts pilots back-checked; BackCheckRepairs the
	// notices sent for gaps found; BackCheckErrors pilots that did not
	// answer or an etcd that did not.
	BackCheckRuns, BackCheckRepairs, BackCheckErrors atomic.Uint64
	// Published counts notices published through the API; PublishErrors
	// those the stream did not take.
	Published, PublishErrors atomic.Uint64
	// Unauthorized counts API writes refused for want of the token;
	// BadRequests those refused as invalid.
	Unauthorized, BadRequests atomic.Uint64

	// ForwardDelay is, for each notice forwarded, the time from the
	// stream storing it (its JetStream timestamp) to the dispatcher having
	// forwarded it: the dispatcher's share of a change's latency,
	// consumer delivery included.
	ForwardDelay stats.Histogram

	mu       sync.Mutex
	perPilot map[string]uint64
}

func (s *Stats) forwardedTo(id string) {
	s.mu.Lock()
	if s.perPilot == nil {
		s.perPilot = map[string]uint64{}
	}
	s.perPilot[id]++
	s.mu.Unlock()
	s.Forwarded.Add(1)
}

// ForwardedTo is the number of notices forwarded to shard pilot id.
func (s *Stats) ForwardedTo(id string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perPilot[id]
}

// Dispatcher routes the notices published on the stream to the pilots
// whose apps care, and back-checks the pilots.
type Dispatcher struct {
	Stats Stats
	// Store is the dispatcher's etcd; View its shard map.
	Store *store.Store
	View  *shardmap.View

	opts   Options
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	addrs  Addrs

	ns  *server.Server // the embedded NATS, or nil
	nc  *nats.Conn
	js  jetstream.JetStream
	cc  jetstream.ConsumeContext
	pub *publish.Publisher

	idx atomic.Pointer[index]

	token string
	mux   *http.ServeMux
	// The operator API's services (operator.go).
	rules    *cprules.Store
	releases *cprelease.Handler
	http     *http.Server
	ln       net.Listener

	bcMu      sync.Mutex
	bcPending map[string]bool // back-checks asked for: a pilot id, allTarget, everyTarget
	bcWake    chan struct{}
}

// Back-check targets besides a shard pilot's id.
const (
	allTarget   = "\x00all"   // the pilots that are not shards
	everyTarget = "\x00every" // every pilot
)

// Start starts a dispatcher. On error, whatever had started is stopped.
func Start(opts Options) (_ *Dispatcher, err error) {
	if opts.DataDir == "" {
		return nil, errors.New("dispatcher: data directory: required (embedded NATS and etcd data, operator token)")
	}
	if opts.APIAddress == "" {
		opts.APIAddress = "127.0.0.1:15050"
	}
	if opts.NATSAddress == "" {
		opts.NATSAddress = "127.0.0.1:4222"
	}
	if opts.TokenFile == "" {
		opts.TokenFile = filepath.Join(opts.DataDir, "operator.token")
	}
	if opts.BackCheck == 0 {
		opts.BackCheck = 30 * time.Second
	}
	if opts.Consumer == "" {
		opts.Consumer = "octomesh-dispatcher"
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{opts: opts, log: log, ctx: ctx, cancel: cancel, bcPending: map[string]bool{}, bcWake: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.token, err = cprules.LoadOrCreateToken(opts.TokenFile); err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	if d.Store, err = store.Open(store.Options{Endpoints: opts.EtcdEndpoints, DataDir: filepath.Join(opts.DataDir, "etcd"), ClientAddress: opts.EtcdClientAddress, TLS: opts.EtcdTLS, Log: log}); err != nil {
		return nil, err
	}
	d.addrs.Etcd = d.Store.Endpoints()
	d.View = shardmap.NewView(ctx, d.Store, log)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = d.View.Ready(wctx)
	wcancel()
	if err != nil {
		return nil, fmt.Errorf("dispatcher: no shard map from etcd %s: %w", d.addrs.Etcd, err)
	}
	d.View.OnChange(d.assigned)

	url := opts.NATSURL
	if url == "" && opts.NATSTLS != nil {
		return nil, errors.New("dispatcher: NATS TLS is for an external NATS (NATSURL); the embedded one serves plain")
	}
	if url == "" {
		if d.ns, url, err = startNATS(opts.NATSAddress, filepath.Join(opts.DataDir, "jetstream")); err != nil {
			return nil, err
		}
	}
	d.addrs.NATS = url
	if d.nc, err = nats.Connect(url, nats.Name("octomesh-dispatcher"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true), publish.Secure(opts.NATSTLS),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if ctx.Err() == nil {
				log.Warn("dispatcher: NATS connection lost; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			log.Info("dispatcher: NATS reconnected; back-checking every pilot")
			d.askBackCheck(everyTarget)
		})); err != nil {
		return nil, fmt.Errorf("dispatcher: nats %s: %w", url, err)
	}
	if d.js, err = jetstream.New(d.nc); err != nil {
		return nil, err
	}
	if d.pub, err = publish.NewPublisherConn(d.nc); err != nil {
		return nil, err
	}
	if err := d.startConsumer(); err != nil {
		return nil, err
	}
	if _, err := d.nc.Subscribe(rules.BackCheckSubject, d.onBackCheckRequest); err != nil {
		return nil, err
	}
	if opts.BackCheck > 0 {
		d.wg.Add(1)
		go d.backCheckLoop()
	}
	if err := d.serveAPI(); err != nil {
		return nil, err
	}
	log.Info("dispatcher ready", "nats", d.addrs.NATS, "api", d.addrs.API, "etcd", d.addrs.Etcd, "back_check", opts.BackCheck)
	return d, nil
}

// startNATS starts the embedded nats-server with JetStream.
func startNATS(addr, dir string) (*server.Server, string, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("dispatcher: nats address %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, "", fmt.Errorf("dispatcher: nats address %q: port must be 0-65535", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default, 4222
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "octomesh-dispatcher",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, "", fmt.Errorf("dispatcher: embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, "", fmt.Errorf("dispatcher: embedded nats on %s did not start", addr)
	}
	return ns, ns.ClientURL(), nil
}

// startConsumer creates the stream if needed and consumes it through the
// durable consumer: a notice is acknowledged once forwarded, so one that
// a dispatcher took but did not forward (it stopped) is delivered again.
func (d *Dispatcher) startConsumer() error {
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	if err := publish.EnsureStream(ctx, d.js); err != nil {
		return fmt.Errorf("dispatcher: %w", err)
	}
	cons, err := d.js.CreateOrUpdateConsumer(ctx, rules.Stream, jetstream.ConsumerConfig{
		Durable:       d.opts.Consumer,
		Description:   "OctoMesh dispatcher: forwards notices to the pilots",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       10 * time.Second, // a notice taken but not acknowledged (a dispatcher that stopped) comes again after this
		MaxAckPending: 10000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: rules.NoticeSubjects,
	})
	if err != nil {
		return fmt.Errorf("dispatcher: consumer %s: %w", d.opts.Consumer, err)
	}
	d.cc, err = cons.Consume(d.onNotice, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if d.ctx.Err() == nil {
			d.log.Debug("dispatcher: consumer", "err", err)
		}
	}))
	if err != nil {
		return fmt.Errorf("dispatcher: consume %s: %w", d.opts.Consumer, err)
	}
	return nil
}

// onNotice forwards one notice from the stream and acknowledges it.
func (d *Dispatcher) onNotice(m jetstream.Msg) {
	n, err := rules.DecodeNotice(m.Data())
	if err != nil {
		d.Stats.Bad.Add(1)
		d.log.Warn("dispatcher: dropping a bad notice", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return
	}
	d.Stats.Received.Add(1)
	if d.opts.DropNotice != nil && d.opts.DropNotice(n) {
		d.Stats.DroppedTest.Add(1)
		_ = m.Ack()
		return
	}
	var stored time.Time
	if md, err := m.Metadata(); err == nil {
		stored = md.Timestamp
	}
	if err := d.forward(n, stored); err != nil {
		d.Stats.ForwardErrors.Add(1)
		_ = m.NakWithDelay(250 * time.Millisecond)
		return
	}
	if !stored.IsZero() {
		d.Stats.ForwardDelay.Record(time.Since(stored))
	}
	_ = m.Ack()
}

// forward sends n to the shard pilots it concerns, and to the pilots that
// are not shards; stored (when known) is when the stream stored it, sent
// along as rules.StoredHeader.
func (d *Dispatcher) forward(n rules.Notice, stored time.Time) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	var hdr nats.Header
	if !stored.IsZero() {
		hdr = nats.Header{rules.StoredHeader: []string{strconv.FormatInt(stored.UnixNano(), 10)}}
	}
	targets := d.idx.Load().targets(n)
	for _, id := range targets {
		if err := d.nc.PublishMsg(&nats.Msg{Subject: rules.PilotSubject(id), Data: b, Header: hdr}); err != nil {
			return err
		}
		d.Stats.forwardedTo(id)
	}
	if err := d.nc.PublishMsg(&nats.Msg{Subject: rules.AllPilots, Data: b, Header: hdr}); err != nil {
		return err
	}
	d.Stats.ForwardedAll.Add(1)
	if len(targets) == 0 {
		d.Stats.Dropped.Add(1)
	}
	return nil
}

// assigned follows the shard map: a new index, and a back-check of every
// pilot a moment after apps moved (their new owners preload them first).
func (d *Dispatcher) assigned(prev, next *shardmap.Assignment) {
	d.idx.Store(newIndex(next))
	if prev == nil || d.opts.BackCheck < 0 {
		return
	}
	if shardmap.Diff(prev.Owner, next.Owner) == 0 && len(prev.Pilots) == len(next.Pilots) {
		return
	}
	time.AfterFunc(time.Second, func() { d.askBackCheck(everyTarget) })
}

// Addrs says where the dispatcher serves.
func (d *Dispatcher) Addrs() Addrs { return d.addrs }

// Publisher publishes to the dispatcher's stream on its own NATS
// connection (for a rule store in the same process).
func (d *Dispatcher) Publisher() *publish.Publisher { return d.pub }

// Close stops consuming and serving, and stops the embedded NATS and etcd
// (their data stays in DataDir).
func (d *Dispatcher) Close() {
	if d.cc != nil {
		// Forward (and acknowledge) what was taken already, so that a
		// stopped dispatcher leaves nothing to wait AckWait for.
		d.cc.Drain()
		select {
		case <-d.cc.Closed():
		case <-time.After(5 * time.Second):
			d.cc.Stop()
		}
	}
	d.cancel()
	if d.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = d.http.Shutdown(ctx)
		cancel()
	}
	if d.ln != nil {
		_ = d.ln.Close()
	}
	if d.releases != nil {
		_ = d.releases.Close()
	}
	d.wg.Wait()
	if d.nc != nil {
		d.nc.Close()
	}
	if d.ns != nil {
		d.ns.Shutdown()
		d.ns.WaitForShutdown()
	}
	if d.Store != nil {
		_ = d.Store.Close()
	}
}
