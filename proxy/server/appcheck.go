package server

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/codec"
)

// The app check: a health probe (from a scanner, or a peer sidecar that
// ejected this one) asks whether this sidecar can serve its app's calls,
// so the answer covers the app too. An app that died refuses connections
// on its Unix socket; an app frozen (SIGSTOP) or hung still accepts them
// into the socket's backlog but never answers. So the check is a real
// call: a Thrift call of a method no app has (appPingMethod), which a
// Kitex server answers at once with an "unknown method" exception; any
// answer, or the app closing the connection, means it runs, and silence
// until appCheckTimeout means it does not.
//
// Probes stay cheap: the answer is cached for appCheckEvery, and a probe
// that finds it older starts one check in the background and answers with
// the cached value (so a frozen app is reported one probe late). Without
// probes nothing is checked. Requests never pass here.
const (
	appCheckEvery   = 500 * time.Millisecond
	appCheckTimeout = 500 * time.Millisecond
	appPingMethod   = "__octomesh_health"
)

type appCheck struct {
	// sockets lists the app's Unix socket paths (the endpoints of the
	// clusters behind the peer-facing listeners).
	sockets func() []string
	ok      atomic.Bool
	at      atomic.Int64 // when the last check ended (UnixNano); 0: never
	running atomic.Bool
	// Checks and Failures count the checks made and the failed ones.
	Checks, Failures atomic.Uint64
}

func newAppCheck(sockets func() []string) *appCheck {
	a := &appCheck{sockets: sockets}
	a.ok.Store(true)
	return a
}

// healthy is the cached answer; a stale one starts a check.
func (a *appCheck) healthy() bool {
	if time.Now().UnixNano()-a.at.Load() > int64(appCheckEvery) && a.running.CompareAndSwap(false, true) {
		go a.check()
	}
	return a.ok.Load()
}

func (a *appCheck) check() {
	defer a.running.Store(false)
	ok := true
	for _, path := range a.sockets() {
		if err := pingApp(path, appCheckTimeout); err != nil {
			ok = false
			break
		}
	}
	a.Checks.Add(1)
	if !ok {
		a.Failures.Add(1)
	}
	a.ok.Store(ok)
	a.at.Store(time.Now().UnixNano())
}

// pingApp makes one call of appPingMethod to the app at the Unix socket
// path and waits for any answer.
func pingApp(path string, timeout time.Duration) error {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := c.Write(appendAppPing(nil)); err != nil {
		return err
	}
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return nil // an answer, or the app closed the connection: it runs
}

// appendAppPing appends a TTHeader frame carrying a Thrift binary call of
// appPingMethod with no arguments.
func appendAppPing(dst []byte) []byte {
	b, start, _ := codec.BeginFrame(dst, &codec.FrameHeader{SeqID: 1}) // fixed and small: cannot fail
	b = binary.BigEndian.AppendUint32(b, 0x80010001)                   // strict binary, CALL
	b = binary.BigEndian.AppendUint32(b, uint32(len(appPingMethod)))
	b = append(b, appPingMethod...)
	b = binary.BigEndian.AppendUint32(b, 1) // seqID
	b = append(b, 0)                        // the arguments: an empty struct
	codec.EndFrame(b, start)
	return b
}

// appSockets lists the Unix socket endpoints of the clusters that the
// peer-facing listeners route to: the app.
func (s *Server) appSockets() []string {
	set := *s.clusters.Load()
	var out []string
	for _, l := range s.listeners {
		if l.appFacing {
			continue
		}
		for _, r := range *l.routes.Load() {
			for _, name := range r.Clusters() {
				e := set[name]
				if e == nil {
					continue
				}
				for _, ep := range e.cfg.Endpoints {
					if p, ok := strings.CutPrefix(ep.Address, "unix://"); ok && ep.Weight > 0 {
						out = append(out, p)
					}
				}
			}
		}
	}
	return out
}
