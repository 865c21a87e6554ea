package xds

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
)

// Finding the pilot. Without Meta it is always Options.Pilot. With Meta:
//
//   - ask Meta which pilot serves the app, and open the stream there;
//   - a pilot that does not serve the app ends the stream with a redirect
//     naming the one that does: go there at once (at most maxRedirects in
//     a row, then back off and ask Meta again);
//   - when a working stream breaks otherwise, back off (with jitter) and
//     try the same pilot again, without asking Meta (which would name it
//     still): a broken connection to a live pilot costs no more than that;
//   - when a pilot cannot be reached (or the stream fails before its first
//     response) twice in a row, ask Meta naming that pilot as one to
//     avoid: that is also a report. Meta answers as soon as the app has
//     another owner: at once if it finds the pilot refusing connections
//     (it evicts it, cp/meta), else when the lost pilot's lease runs out;
//     or after metaWait with whatever owner it has;
//   - never a pilot that neither Meta nor a redirect named.
const (
	maxRedirects = 3
	metaWait     = 15 * time.Second
	// moveJitter spreads the sidecars of a lost pilot over this long
	// before they connect to the app's new owner: all at once, ten
	// thousand of them overflow its listen queue (4096 by default), and
	// the dropped SYNs come back after 1s, 3s, 7s...
	moveJitter = 2 * time.Second
)

func (c *Client) run() {
	defer close(c.done)
	backoff := 100 * time.Millisecond
	var next meta.PilotInfo // named by a redirect
	avoid := ""
	redirects := 0
	failed, failures := "", 0 // the pilot that failed before a first response, how often in a row
	lost := ""                // the pilot whose working stream broke, retried without a look-up
	for c.ctx.Err() == nil {
		target := next
		next = meta.PilotInfo{}
		if target.XDS == "" {
			var err error
			if target, err = c.findPilot(avoid); err != nil {
				if c.ctx.Err() != nil {
					return
				}
				c.mu.Lock()
				c.connected, c.lastErr = false, err.Error()
				c.mu.Unlock()
				wait := backoff/2 + rand.N(backoff/2+1)
				c.log.Warn("xds: cannot find the pilot; retrying", "meta", c.opts.Meta, "err", err, "in", wait)
				if !c.sleep(wait) {
					return
				}
				backoff = min(2*backoff, c.opts.ReconnectMax)
				continue
			}
			if avoid != "" && target.ID != avoid && !c.sleep(rand.N(moveJitter)) {
				return
			}
		}
		start := time.Now()
		err := c.session(target)
		if c.ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		wasConnected := c.connected
		c.connected, c.lastErr = false, err.Error()
		c.mu.Unlock()
		if to, ok := meta.RedirectOf(err); ok && c.meta != nil && redirects < maxRedirects {
			redirects++
			c.Stats.Redirects.Add(1)
			c.log.Info("xds: redirected", "from", target.ID, "to", to.ID, "xds", to.XDS)
			next, avoid = to, ""
			continue
		}
		redirects = 0
		avoid = ""
		_, redirected := meta.RedirectOf(err)
		switch {
		case redirected || grpcstatus.Code(err) == codes.Aborted:
			failed, failures, lost = "", 0, ""
		case wasConnected:
			// A working stream broke: try the same pilot again, without a
			// look-up (Meta would name it still; if the app moved, the
			// pilot redirects).
			failed, failures, lost = "", 0, target.ID
		default:
			// Not even a first response, twice in a row: the pilot is
			// gone. Do not come back unless Meta says so (asking it is
			// the report that lets Meta evict a dead pilot). Once may be
			// a busy pilot's full listen queue.
			if target.ID != failed {
				failed, failures = target.ID, 0
			}
			if failures++; failures >= 2 {
				avoid, failures, lost = target.ID, 0, ""
			}
		}
		if lost != "" && lost == target.ID && c.meta != nil {
			next = target
		}
		if time.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond // it had been working
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		c.log.Warn("xds: pilot stream ended; serving the last good configuration and reconnecting", "pilot", target.XDS, "err", err, "in", wait)
		if !c.sleep(wait) {
			return
		}
		backoff = min(2*backoff, c.opts.ReconnectMax)
	}
}

func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// findPilot returns the pilot to use: Options.Pilot, or Meta's answer.
func (c *Client) findPilot(avoid string) (meta.PilotInfo, error) {
	if c.meta == nil {
		return meta.PilotInfo{XDS: c.opts.Pilot}, nil
	}
	c.Stats.Lookups.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, metaWait+5*time.Second)
	defer cancel()
	wait := time.Duration(0)
	if avoid != "" {
		wait = metaWait
	}
	return c.meta.Owner(ctx, c.opts.App, avoid, wait)
}

// dial returns a connection to the target pilot, reusing the last one if
// it is the same pilot.
func (c *Client) dial(t meta.PilotInfo) (*grpc.ClientConn, error) {
	if c.conn != nil && c.connTo.XDS == t.XDS {
		return c.conn, nil
	}
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	network, address, err := config.ParseAddress(t.XDS)
	if err != nil {
		return nil, fmt.Errorf("xds: pilot %q: %w", t.XDS, err)
	}
	grpcTarget := "passthrough:///" + address
	if network == "unix" {
		grpcTarget = "unix://" + address
	}
	creds := insecure.NewCredentials()
	if c.opts.TLS != nil {
		creds = credentials.NewTLS(c.opts.TLS)
	}
	conn, err := grpc.NewClient(grpcTarget,
		grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		// Static windows (gRPC's default size): with dynamic ones gRPC
		// estimates the bandwidth with a ping after nearly every push,
		// which the pilot must answer, per sidecar per push.
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10),
	)
	if err != nil {
		return nil, fmt.Errorf("xds: pilot %s: %w", t.XDS, err)
	}
	c.conn, c.connTo = conn, t
	return conn, nil
}
