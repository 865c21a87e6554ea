package faultrelay

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what the relay does to the bytes it carries.
type Mode int

const (
	// Pass carries every byte at once.
	Pass Mode = iota
	// Partition resets every connection (RST) and each new one as it
	// arrives.
	Partition
	// Blackhole carries nothing and resets nothing: bytes wait until the
	// mode changes.
	Blackhole
	// Loss holds a chunk, with probability LossRate, for LossDelay before
	// it passes.
	Loss
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Partition:
		return "partition"
	case Blackhole:
		return "blackhole"
	case Loss:
		return "loss"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Relay accepts on a loopback port and carries each connection to Target.
// Its methods are safe for concurrent use.
type Relay struct {
	// LossRate and LossDelay shape Loss: set before the relay starts
	// (Start's defaults: 0.05 and 200ms).
	LossRate  float64
	LossDelay time.Duration

	target string
	ln     net.Listener
	mode   atomic.Int32
	// changed is closed and replaced at each mode change: pumps held by
	// Blackhole wait on it.
	mu      sync.Mutex
	changed chan struct{}
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup

	// Counters, for tests and reports.
	Accepted, Reset, Held atomic.Int64
}

// Start listens on listen (host:port; port 0 picks one) and relays to
// target (host:port) in mode Pass.
func Start(listen, target string) (*Relay, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("faultrelay: target %q: %v", target, err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("faultrelay: %w", err)
	}
	r := &Relay{LossRate: 0.05, LossDelay: 200 * time.Millisecond, target: target, ln: ln,
		changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is the address the relay listens on.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Mode is the current mode.
func (r *Relay) Mode() Mode { return Mode(r.mode.Load()) }

// SetMode switches the relay to m: Partition resets every open
// connection at once; leaving Blackhole lets the held bytes flow.
func (r *Relay) SetMode(m Mode) {
	r.mu.Lock()
	r.mode.Store(int32(m))
	close(r.changed)
	r.changed = make(chan struct{})
	var reset []net.Conn
	if m == Partition {
		for c := range r.conns {
			reset = append(reset, c)
		}
	}
	r.mu.Unlock()
	for _, c := range reset {
		r.reset(c)
	}
}

// Close stops the relay and closes every connection.
func (r *Relay) Close() error {
	err := r.ln.Close()
	r.mu.Lock()
	r.closed = true
	close(r.changed)
	r.changed = make(chan struct{})
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.Accepted.Add(1)
		if r.Mode() == Partition {
			r.reset(c)
			continue
		}
		r.wg.Add(1)
		go r.serve(c)
	}
}

// reset closes c with an RST (SO_LINGER 0), as a partition that a peer's
// stack answers does.
func (r *Relay) reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	r.Reset.Add(1) // before the close, so that whoever sees the reset sees the count
	c.Close()
}

func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

func (r *Relay) serve(down net.Conn) {
	defer r.wg.Done()
	if !r.track(down) {
		down.Close()
		return
	}
	defer r.untrack(down)
	up, err := net.DialTimeout("tcp", r.target, 5*time.Second)
	if err != nil {
		r.reset(down)
		return
	}
	if !r.track(up) {
		up.Close()
		down.Close()
		return
	}
	defer r.untrack(up)
	done := make(chan struct{}, 2)
	go func() { r.pump(up, down); done <- struct{}{} }()
	go func() { r.pump(down, up); done <- struct{}{} }()
	<-done
	// One side ended: end the other (a reset stays a reset).
	down.Close()
	up.Close()
	<-done
}

// pump copies from src to dst chunk by chunk, applying the mode to each.
func (r *Relay) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !r.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or an error: serve ends both sides
		}
	}
}

// gate waits while the mode says a chunk must wait; false means the
// connection is to end (a partition, or the relay closed).
func (r *Relay) gate() bool {
	for {
		r.mu.Lock()
		m, changed, closed := r.Mode(), r.changed, r.closed
		r.mu.Unlock()
		switch {
		case closed || m == Partition:
			return false
		case m == Blackhole:
			r.Held.Add(1)
			<-changed
		case m == Loss && rand.Float64() < r.LossRate:
			r.Held.Add(1)
			select {
			case <-time.After(r.LossDelay):
				return true
			case <-changed:
			}
		default:
			return true
		}
	}
}
