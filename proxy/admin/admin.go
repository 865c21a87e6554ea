package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Server is the admin HTTP endpoint.
type Server struct {
	token string // see RequireToken
	mux   *http.ServeMux
	csrf  *http.CrossOriginProtection
	srv   *http.Server
	ln    net.Listener
	ready atomic.Bool
}

// New returns an admin endpoint with /healthz, /ready and /debug/pprof/;
// Listen starts it.
func New() *Server {
	s := &Server{mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	s.mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	// The profiler, on this mux only (net/http/pprof also registers on
	// http.DefaultServeMux, which OctoMesh never serves). Index serves the
	// named profiles: heap, allocs, goroutine, block, mutex, threadcreate.
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return s
}

// Handle registers a read-only handler; patterns follow net/http.ServeMux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// RequireToken makes mutating endpoints require "Authorization: Bearer
// <token>" from every caller, loopback included. Without a token they
// accept only loopback callers. Call it before Listen.
func (s *Server) RequireToken(token string) { s.token = token }

// HandleMutating registers a handler that changes the sidecar. Callers are
// authorized as RequireToken says, and browsers' cross-origin requests are
// refused (a page on this host must not reach a loopback endpoint); both
// get 403. Register mutating handlers for POST or PUT, never GET.
func (s *Server) HandleMutating(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(r); err != nil {
			http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})))
}

func (s *Server) authorize(r *http.Request) error {
	if s.token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			return errors.New("this endpoint needs the admin token (Authorization: Bearer <token>)")
		}
		return nil
	}
	if !isLoopback(r.RemoteAddr) {
		return errors.New("this endpoint accepts only loopback callers (no admin token is configured)")
	}
	return nil
}

// isLoopback reports whether a RemoteAddr ("ip:port") is a loopback address.
func isLoopback(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// ServeHTTP serves one request as the endpoint would, for tests and for
// embedding the endpoint in another server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetReady sets what /ready answers.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Listen starts serving on addr (host:port; port 0 picks one). An empty
// host means loopback (127.0.0.1), not every interface: serving elsewhere
// takes an explicit address such as 0.0.0.0:9901.
func (s *Server) Listen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("admin: address %q: %w", addr, err)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin: %w", err) // "listen tcp host:port: ..." already
	}
	s.Serve(ln)
	return nil
}

// Serve starts serving on ln (for example one inherited from the process
// this one replaces).
func (s *Server) Serve(ln net.Listener) {
	s.ln = ln
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
}

// File duplicates the listening socket, to hand it to another process.
func (s *Server) File() (*os.File, error) {
	f, ok := s.ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("admin: listener %T cannot be handed over", s.ln)
	}
	return f.File()
}

// Addr is the address served on, once listening.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the endpoint, giving requests in flight a second to finish
// (a CPU profile being taken is cut short).
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}
