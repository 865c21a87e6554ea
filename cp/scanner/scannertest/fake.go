package scannertest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/octomesh/octomesh/codec"
)

// Modes of a fake sidecar's answer to a health frame.
const (
	// OK answers health-ok.
	OK int32 = iota
	// Fail answers health-fail: its app cannot serve.
	Fail
	// Silent reads and never answers: a frozen process.
	Silent
	// FailFirst fails on the first connection it accepted and answers
	// OK on later ones: one scanner's path to it is broken.
	FailFirst
)

// Sidecar is one fake sidecar. Safe for concurrent use.
type Sidecar struct {
	// Asked counts the health frames it received.
	Asked atomic.Uint64
	ln    net.Listener
	mode  atomic.Int32
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	dead  bool
}

// Start listens on addr (host:port; port 0 picks one).
func Start(addr string) (*Sidecar, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &Sidecar{ln: ln, conns: map[net.Conn]struct{}{}}
	go f.serve()
	return f, nil
}

// Addr is where it listens (host:port).
func (f *Sidecar) Addr() string { return f.ln.Addr().String() }

// SetMode sets how it answers from now on.
func (f *Sidecar) SetMode(m int32) { f.mode.Store(m) }

// Kill closes the listener and every connection: a dead sidecar.
func (f *Sidecar) Kill() {
	f.mu.Lock()
	f.dead = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	_ = f.ln.Close()
}

func (f *Sidecar) serve() {
	for n := 0; ; n++ {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.dead {
			f.mu.Unlock()
			_ = c.Close()
			return
		}
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		go f.conn(c, n == 0)
	}
}

func (f *Sidecar) conn(c net.Conn, first bool) {
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		_ = c.Close()
	}()
	var h codec.Header
	buf := make([]byte, 0, 128)
	out := make([]byte, 0, 64)
	for {
		buf = buf[:codec.MetaSize]
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		size, err := codec.FrameSize(buf, 1<<16)
		if err != nil {
			return
		}
		for len(buf) < size {
			buf = append(buf, 0)
		}
		if _, err := io.ReadFull(c, buf[codec.MetaSize:size]); err != nil {
			return
		}
		frame := buf[:size]
		if h.Decode(frame) != nil || string(h.StrInfo(frame, codec.KeyControl)) != codec.ControlHealth {
			continue
		}
		f.Asked.Add(1)
		kind := codec.ControlHealthOK
		switch f.mode.Load() {
		case Fail:
			kind = codec.ControlHealthFail
		case Silent:
			continue
		case FailFirst:
			if first {
				kind = codec.ControlHealthFail
			}
		}
		out = codec.AppendControlFrameSeq(out[:0], kind, h.SeqID)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}
