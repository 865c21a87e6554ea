package meta

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	api "github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/registration"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
)

// Options configure a Meta Server.
type Options struct {
	// HTTPAddress serves the owner look-ups, the assignment and the
	// registration API: host:port (port 0 picks one) or unix:///path.
	HTTPAddress string
	// EtcdEndpoints are the registry's etcd; empty starts an embedded etcd
	// in DataDir (for a single-machine setup).
	EtcdEndpoints []string
	DataDir       string
	// EtcdClientAddress is where an embedded etcd serves clients.
	EtcdClientAddress string
	// EtcdTLS, when set, is the client TLS to the external etcd
	// (EtcdEndpoints).
	EtcdTLS *tls.Config
	// HTTPTLS, when set (api/ca.ServerTLS builds it), makes the HTTP port
	// mutual TLS: every client (sidecars, pilots, apps, tools) shows a
	// certificate of TrustDomain, and the registration API lets an app
	// register only its own instances of the services it owns
	// (registration.API.RequireIdentity).
	HTTPTLS *tls.Config
	// TrustDomain is the clients' trust domain; required with HTTPTLS.
	TrustDomain string
	Log         *slog.Logger
}

// Addrs says where a started Meta serves.
type Addrs struct {
	HTTP string `json:"http"`
	Etcd string `json:"etcd"`
}

// Stats counts what Meta answered.
type Stats struct {
	Lookups, Waits, AppsCreated, NoPilot atomic.Uint64
}

// Server is a running Meta Server.
type Server struct {
	Stats Stats
	View  *shardmap.View

	log    *slog.Logger
	cancel context.CancelFunc
	store  *store.Store
	http   *http.Server
	reg    *registration.API
	ln     net.Listener
	addrs  Addrs
	done   chan struct{}

	// Early death (deaths.go): Deaths counts the probes of pilots that
	// sidecars reported; ctx bounds them.
	Deaths   DeathStats
	ctx      context.Context
	suspects suspects
}

// Start starts Meta and waits (up to 30s) until its view of etcd has loaded.
func Start(opts Options) (_ *Server, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{log: log, cancel: cancel, done: make(chan struct{})}
	s.ctx = ctx
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.store, err = store.Open(store.Options{Endpoints: opts.EtcdEndpoints, DataDir: opts.DataDir, ClientAddress: opts.EtcdClientAddress, TLS: opts.EtcdTLS, Log: log}); err != nil {
		return nil, err
	}
	s.addrs.Etcd = s.store.Endpoints()
	s.View = shardmap.NewView(ctx, s.store, log)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = s.View.Ready(wctx)
	wcancel()
	if err != nil {
		return nil, fmt.Errorf("meta: etcd at %s: no state after 30s", s.addrs.Etcd)
	}
	network, address, err := config.ParseAddress(opts.HTTPAddress)
	if err != nil {
		return nil, fmt.Errorf("meta: http address: %w", err)
	}
	if network == "unix" {
		_ = os.Remove(address)
	}
	if s.ln, err = net.Listen(network, address); err != nil {
		return nil, fmt.Errorf("meta: http address: %w", err)
	}
	s.addrs.HTTP = network + "://" + s.ln.Addr().String()
	s.reg = registration.New(s.store, log)
	if opts.HTTPTLS != nil {
		if opts.TrustDomain == "" {
			return nil, errors.New("meta: http tls needs the clients' trust domain")
		}
		s.reg.RequireIdentity(opts.TrustDomain)
		s.ln = tls.NewListener(s.ln, opts.HTTPTLS)
	}
	// ErrorLog: refused TLS handshakes (HTTPTLS) are logged as warnings.
	s.http = &http.Server{Handler: s.Handler(s.reg), ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("meta: http server stopped", "err", err)
		}
	}()
	log.Info("meta ready", "http", s.addrs.HTTP, "etcd", s.addrs.Etcd)
	return s, nil
}

// Addrs says where Meta serves.
func (s *Server) Addrs() Addrs { return s.addrs }

// Close stops Meta (and its embedded etcd).
func (s *Server) Close() {
	s.cancel()
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.http.Shutdown(ctx)
		cancel()
		<-s.done
	}
	if s.store != nil {
		_ = s.store.Close()
	}
}

// Handler serves Meta's API; api (the registration API) gets the other
// /v1/ paths, if not nil:
//
//	GET /v1/owner?app=A[&avoid=P&wait=D]  the pilot serving A: api.OwnerResponse.
//	    With avoid, if P owns A, wait (at most D) until another does; the
//	    answer may still name P if nothing changed by then. An unknown app
//	    is added to the apps (and so assigned) first.
//	GET /v1/assignment                    pilots, their loads, every app's owner
//	GET /stats, GET /metrics (the same in the Prometheus text format), GET /healthz
//
// Errors are {"error": "..."}: 400 (bad app name or wait), 503 (no pilot).
func (s *Server) Handler(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	if api != nil {
		mux.Handle("/v1/", api)
	}
	mux.HandleFunc("GET /v1/owner", s.owner)
	mux.HandleFunc("GET /v1/assignment", s.assignment)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /metrics", metaStats.Handler(mux, "/stats"))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		a := s.View.Current()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "meta.apps %d\nmeta.apps_created %d\nmeta.assignments %d\nmeta.evictions %d\nmeta.lookups %d\nmeta.moves %d\nmeta.no_pilot %d\nmeta.pilots %d\nmeta.probe_rounds %d\nmeta.probes_alive %d\nmeta.waits %d\n",
			len(a.Apps), s.Stats.AppsCreated.Load(), s.View.Stats.Assignments.Load(), s.Deaths.Evictions.Load(), s.Stats.Lookups.Load(),
			s.View.Stats.Moves.Load(), s.Stats.NoPilot.Load(), len(a.Pilots), s.Deaths.Rounds.Load(), s.Deaths.Alive.Load(), s.Stats.Waits.Load())
		if s.reg != nil {
			s.reg.WriteStats(w)
		}
	})
	return mux
}

func (s *Server) owner(w http.ResponseWriter, r *http.Request) {
	s.Stats.Lookups.Add(1)
	q := r.URL.Query()
	app, avoid := q.Get("app"), q.Get("avoid")
	if err := api.CheckApp(app); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("app: %v", err))
		return
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > api.MaxWait {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("wait %q: want a duration up to %s", v, api.MaxWait))
			return
		}
		wait = d
	}
	ctx := r.Context()
	if _, ok := s.View.Current().Apps[app]; !ok {
		if err := s.addApp(ctx, app); err != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.View.Changed()
		p, ok := s.View.Current().OwnerOf(app)
		if ok && (avoid == "" || p.ID != avoid) {
			writeJSON(w, api.OwnerResponse{App: app, Pilot: p})
			return
		}
		if ok && wait > 0 {
			s.report(p) // the owner failed this sidecar: is it gone?
		}
		if wait == 0 {
			if ok {
				writeJSON(w, api.OwnerResponse{App: app, Pilot: p})
				return
			}
			s.Stats.NoPilot.Add(1)
			writeError(w, http.StatusServiceUnavailable, "meta: no pilot is alive")
			return
		}
		s.Stats.Waits.Add(1)
		select {
		case <-ch:
		case <-deadline.C:
			wait = 0
		case <-ctx.Done():
			return
		}
	}
}

// addApp creates app's record (if no one has) and waits until the view
// has it, so that the answer is the assignment every pilot computes.
func (s *Server) addApp(ctx context.Context, app string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, created, err := s.store.PutIfAbsent(ctx, shardmap.AppKey(app), []byte(`{"services":[]}`))
	if err != nil {
		return fmt.Errorf("meta: add app %s: %v", app, err)
	}
	if created {
		s.Stats.AppsCreated.Add(1)
		s.log.Info("meta: new app", "app", app)
	}
	if !s.View.WaitApp(ctx, app) {
		return fmt.Errorf("meta: app %s was added but has not been seen in 5s", app)
	}
	return nil
}

func (s *Server) assignment(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.View.Current().Info())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
