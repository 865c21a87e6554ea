package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/proxy/hotrestart"
	"github.com/octomesh/octomesh/proxy/transport"
)

// Hot restart and draining (docs/operations.md, "Upgrading a sidecar").
//
// A process serving with hot_restart.socket set also listens there. A new
// process started with --hot-restart (TakeOver instead of Start) connects,
// takes every listening socket by name (listener:<name>, admin, and the
// hand-over socket itself), starts serving, and says ready. The old
// process then drains: it stops accepting; on app-facing (Unix socket)
// listeners it answers each new call with "restarting" and Kitex's crrst,
// so the app's sdk retries once on a fresh connection, which the new
// process accepts; on peer-facing (TCP) listeners it sends ProxyRestart on
// every connection and keeps forwarding what still arrives, while peers
// move their new requests to new connections. Calls in flight finish
// normally. The old process exits when its connections are gone, or after
// hot_restart.drain_time.

// Names of the sockets in a hand-over offer.
const (
	offerAdmin    = "admin"
	offerControl  = "hotrestart"
	offerListener = "listener:"
)

// handoverResult is the outcome of one hand-over attempt, for a waiting
// POST /hotrestart.
type handoverResult struct {
	newPID int
	err    error
}

// TakeOver starts the server on the sockets of the process now serving
// this config (hot_restart.socket), instead of binding them. If anything
// fails before this process serves, the old one is told and keeps
// serving.
func (s *Server) TakeOver() error {
	path := s.cfg.HotRestart.Socket
	if path == "" {
		return s.cfg.Errorf("hot_restart.socket", "--hot-restart needs the hand-over socket of the running sidecar")
	}
	t, err := hotrestart.Take(path, s.cfg.HotRestart.ReadyTimeout.Std())
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range t.Offer.Listeners {
			f.Close() // the listeners hold duplicates
		}
	}()
	if err := s.start(&t.Offer); err != nil {
		t.Fail(err)
		return err
	}
	if err := t.Ready(); err != nil {
		// The old process is gone: this one serves alone, as it should.
		s.log.Warn("hot restart: the old process left before the hand-over completed", "err", err)
	}
	// The sockets are this process's now: on a normal stop it removes
	// their paths (a failed take-over must not: the old one serves on).
	for _, l := range s.listeners {
		l.ln.Own()
	}
	if s.control != nil {
		s.control.Own()
	}
	s.log.Info("hot restart: took over", "from_config_version", t.Offer.State.ConfigVersion, "subscriptions", len(t.Offer.State.Subscriptions))
	return nil
}

// listen binds a listener, or serves the socket the old process offered
// for it when it is at the configured address.
func (s *Server) listen(l *listener, network, address string, offer *hotrestart.Offer, topts transport.Options) (*transport.Listener, error) {
	// A peer sidecar multiplexes many calls on a connection: coalesce the
	// responses. An app connection carries one call at a time.
	topts.CoalesceWrites = !l.appFacing
	newConn := l.dl.NewConn
	if f := offeredFile(offer, offerListener+l.name); f != nil {
		ln, err := transport.ListenFile(f, topts, &s.transport, newConn)
		if err == nil && ln.Network() == network && sameAddress(network, ln.Addr(), address) {
			return ln, nil
		}
		if err == nil {
			s.log.Warn("hot restart: not inheriting a listener whose address changed", "listener", l.name, "old", ln.Addr(), "new", address)
			ln.StopAccepting(true) // the old process still owns that socket
			ln.Close()
		}
	}
	return transport.Listen(network, address, topts, &s.transport, newConn)
}

func offeredFile(offer *hotrestart.Offer, name string) *os.File {
	if offer == nil {
		return nil
	}
	return offer.Listeners[name]
}

// sameAddress reports whether a bound address is the configured one (a
// configured TCP port 0 accepts any port).
func sameAddress(network, bound, configured string) bool {
	if network == "unix" || bound == configured {
		return bound == configured
	}
	_, port, err := net.SplitHostPort(configured)
	if err != nil || port != "0" {
		return false
	}
	bh, _, _ := net.SplitHostPort(bound)
	ch, _, _ := net.SplitHostPort(configured)
	return bh == ch
}

// adminListener returns the admin socket the old process offered, if any.
func adminListener(offer *hotrestart.Offer) net.Listener {
	f := offeredFile(offer, offerAdmin)
	if f == nil {
		return nil
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil
	}
	return ln
}

// startHandovers opens the hand-over socket (or serves the inherited one)
// and accepts hand-overs until one succeeds.
func (s *Server) startHandovers(offer *hotrestart.Offer) error {
	path := s.cfg.HotRestart.Socket
	if path == "" {
		return nil
	}
	var err error
	if f := offeredFile(offer, offerControl); f != nil {
		s.control, err = hotrestart.FromFile(f)
	} else {
		s.control, err = hotrestart.Listen(path)
	}
	if err != nil {
		return s.cfg.Errorf("hot_restart.socket", "%v", err)
	}
	if s.admin != nil {
		s.admin.HandleMutating("POST /hotrestart", http.HandlerFunc(s.serveHotRestart))
	}
	s.wg.Add(1)
	go s.serveHandovers()
	return nil
}

func (s *Server) serveHandovers() {
	defer s.wg.Done()
	for {
		h, err := s.control.Accept()
		if err != nil {
			if s.draining.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("hot restart: bad hand-over request", "err", err)
			continue
		}
		err = s.handOver(h)
		h.Close()
		select {
		case s.handovers <- handoverResult{newPID: h.PID, err: err}:
		default: // nobody waits (the new process was started from outside)
		}
		if err == nil {
			return
		}
	}
}

// handOver gives this process's sockets and state to the new process and,
// once it serves, drains. On any failure this process keeps serving.
func (s *Server) handOver(h *hotrestart.Handover) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, l := range s.listeners {
		f, err := l.ln.File()
		if err != nil {
			return err
		}
		files[offerListener+l.name] = f
	}
	if s.admin != nil {
		f, err := s.admin.File()
		if err != nil {
			return err
		}
		files[offerAdmin] = f
	}
	f, err := s.control.File()
	if err != nil {
		return err
	}
	files[offerControl] = f
	state := hotrestart.State{ConfigVersion: s.ConfigVersion()}
	if s.xds != nil {
		state.Subscriptions = s.xds.client.Status().Subscriptions
	}
	s.log.Info("hot restart: handing over", "new_pid", h.PID, "sockets", len(files))
	if err := h.Send(hotrestart.Offer{Listeners: files, State: state}); err != nil {
		s.stats.HotRestartFailures.Add(1)
		return err
	}
	if err := h.WaitReady(s.cfg.HotRestart.ReadyTimeout.Std()); err != nil {
		s.stats.HotRestartFailures.Add(1)
		s.log.Error("hot restart failed; this process keeps serving", "new_pid", h.PID, "err", err)
		return err
	}
	s.log.Info("hot restart: the new process serves; draining", "new_pid", h.PID)
	go s.drain(true)
	return nil
}

// Drain stops accepting and lets open connections finish, then closes the
// server (Done is closed). Peer sidecars get ProxyRestart so they stop
// sending on their connections.
func (s *Server) Drain() { go s.drain(false) }

// Done is closed once the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) drain(handedOver bool) {
	if !s.draining.CompareAndSwap(false, true) {
		return
	}
	if s.control != nil {
		_ = s.control.Close(!handedOver)
	}
	s.closeXDS() // the new process has its own session with the pilot
	for _, l := range s.listeners {
		if l.ln == nil {
			continue
		}
		l.ln.StopAccepting(handedOver)
		if l.appFacing {
			l.dl.Restarting.Store(handedOver) // the sdk retries on the new process
		}
	}
	// Peers are told once per connection; the drain loop repeats the round
	// for a connection whose accept raced StopAccepting.
	ctl := codec.AppendControlFrame(nil, codec.ControlProxyRestart)
	told := map[*transport.Conn]bool{}
	tellPeers := func() {
		for _, l := range s.listeners {
			if l.ln == nil || l.appFacing {
				continue
			}
			l.ln.Each(func(c *transport.Conn) {
				if !told[c] && c.WriteFrame(ctl) == nil {
					told[c] = true
					s.stats.ProxyRestartsSent.Add(1)
				}
			})
		}
	}
	tellPeers()
	if handedOver && s.admin != nil {
		_ = s.admin.Close() // the new process serves the same socket
	}
	drainTime := s.cfg.HotRestart.DrainTime.Std()
	deadline := time.Now().Add(drainTime)
	quietSince := time.Time{}
	for time.Now().Before(deadline) {
		tellPeers()
		idle := s.sidecar.Inflight.Load() == 0
		switch {
		case !idle:
			quietSince = time.Time{}
		case s.openConns() == 0:
			deadline = time.Now() // everyone has moved on
		case !handedOver && !quietSince.IsZero() && time.Since(quietSince) >= quietPeriod:
			deadline = time.Now() // nothing in flight for a while: close idle connections
		case quietSince.IsZero():
			quietSince = time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	// hotrestart_failures: the hand-overs that failed before, which only
	// this process counted (its admin endpoint is the new one's now).
	s.log.Info("drained", "handed_over", handedOver, "hotrestart_failures", s.stats.HotRestartFailures.Load(),
		"inflight", s.sidecar.Inflight.Load(), "connections", s.openConns())
	s.Close()
}

// quietPeriod is how long a draining server that did not hand over waits
// with nothing in flight before it closes idle connections.
const quietPeriod = 200 * time.Millisecond

func (s *Server) openConns() int {
	n := 0
	for _, l := range s.listeners {
		if l.ln != nil {
			n += l.ln.Conns()
		}
	}
	return n
}

// serveHotRestart (POST /hotrestart) starts a new process of this binary
// (or of ?binary=PATH) with the same arguments plus --hot-restart, waits for
// the hand-over, and says how it went. On failure this process serves on.
func (s *Server) serveHotRestart(w http.ResponseWriter, r *http.Request) {
	if !s.restartMu.TryLock() {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "a hot restart is already under way"})
		return
	}
	defer s.restartMu.Unlock()
	if s.draining.Load() {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "this sidecar is draining"})
		return
	}
	bin := r.FormValue("binary")
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
	}
	cmd := exec.Command(bin, successorArgs(os.Args[1:])...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives us
	if err := cmd.Start(); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("starting %s: %v", bin, err)})
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if it fails while we live
	timeout := time.NewTimer(s.cfg.HotRestart.ReadyTimeout.Std() + 5*time.Second)
	defer timeout.Stop()
	for {
		select {
		case res := <-s.handovers:
			if res.newPID != cmd.Process.Pid {
				continue // a hand-over to some other process
			}
			if res.err != nil {
				writeJSON(w, http.StatusBadGateway, map[string]any{"error": res.err.Error(), "new_pid": res.newPID, "serving_pid": os.Getpid()})
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"old_pid": os.Getpid(), "new_pid": res.newPID, "drain_time": s.cfg.HotRestart.DrainTime.Std().String()})
			return
		case err := <-exited:
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": fmt.Sprintf("new process exited before taking over: %v", err), "serving_pid": os.Getpid()})
			return
		case <-timeout.C:
			writeJSON(w, http.StatusGatewayTimeout, map[string]any{"error": "no hand-over in time", "new_pid": cmd.Process.Pid, "serving_pid": os.Getpid()})
			return
		}
	}
}

// successorArgs are this process's arguments for the new one: with
// --hot-restart, without --ready-fd (that descriptor is this process's).
func successorArgs(args []string) []string {
	out := make([]string, 0, len(args)+1)
	hot := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--ready-fd" || a == "-ready-fd":
			i++ // and its value
			continue
		case strings.HasPrefix(a, "--ready-fd=") || strings.HasPrefix(a, "-ready-fd="):
			continue
		case a == "--hot-restart" || a == "-hot-restart" || a == "--hot-restart=true":
			hot = true
		}
		out = append(out, a)
	}
	if !hot {
		out = append(out, "--hot-restart")
	}
	return out
}

// serveDrain (POST /drain) starts draining: no new connections, peers told
// to move, the process exits when its connections are done.
func (s *Server) serveDrain(w http.ResponseWriter, _ *http.Request) {
	s.Drain()
	writeJSON(w, http.StatusAccepted, map[string]string{"draining": "true", "drain_time": s.cfg.HotRestart.DrainTime.Std().String()})
}
