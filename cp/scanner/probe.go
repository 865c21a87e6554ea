package scanner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/octomesh/octomesh/codec"
)

// ErrDown is the kind of a failed check: the sidecar answered that it (or
// its app) cannot serve. Other check errors are the network's (refused,
// reset, timed out).
var ErrDown = errors.New("scanner: the sidecar answered health-fail")

// maxAnswer bounds a frame read while waiting for a probe's answer.
const maxAnswer = 64 << 10

// probeConn is a kept connection to one sidecar's inbound address: one
// check at a time uses it (the target's checking flag). A broken one is
// closed and dialled again at the next check.
type probeConn struct {
	c   net.Conn
	seq int32
	buf []byte
	hdr codec.Header
}

func (p *probeConn) close() {
	if p != nil && p.c != nil {
		_ = p.c.Close()
		p.c = nil
	}
}

// probe checks the sidecar at addr within timeout over *pc (dialled if
// nil or broken). A sidecar being replaced (hot restart) says so with a
// proxy-restart frame: the probe then dials again, reaching the new
// process, and asks once more.
func probe(pc **probeConn, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for attempt := 0; ; attempt++ {
		if *pc == nil || (*pc).c == nil {
			c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
			if err != nil {
				return err
			}
			*pc = &probeConn{c: c, buf: make([]byte, 0, 256)}
		}
		restarting, err := (*pc).ask(deadline)
		if err != nil && !errors.Is(err, ErrDown) || restarting {
			(*pc).close() // broken, or to the old process: dial again
		}
		if restarting && err == nil && attempt == 0 && time.Now().Before(deadline) {
			continue
		}
		if restarting && err == nil {
			return errors.New("scanner: the sidecar is restarting")
		}
		return err
	}
}

// ask writes one health frame and reads until its answer; restarting
// reports a proxy-restart frame seen on the way.
func (p *probeConn) ask(deadline time.Time) (restarting bool, err error) {
	if err := p.c.SetDeadline(deadline); err != nil {
		return false, err
	}
	p.seq++
	p.buf = codec.AppendControlFrameSeq(p.buf[:0], codec.ControlHealth, p.seq)
	if _, err := p.c.Write(p.buf); err != nil {
		return false, err
	}
	for {
		frame, err := p.read()
		if err != nil {
			return restarting, err
		}
		if err := p.hdr.Decode(frame); err != nil {
			return restarting, err
		}
		switch string(p.hdr.StrInfo(frame, codec.KeyControl)) {
		case codec.ControlProxyRestart:
			restarting = true
		case codec.ControlHealthOK:
			if p.hdr.SeqID == p.seq {
				return restarting, nil
			}
		case codec.ControlHealthFail:
			if p.hdr.SeqID == p.seq {
				return restarting, ErrDown
			}
		}
	}
}

// read reads one whole frame into p.buf.
func (p *probeConn) read() ([]byte, error) {
	p.buf = p.buf[:codec.MetaSize]
	if _, err := io.ReadFull(p.c, p.buf); err != nil {
		return nil, err
	}
	size, err := codec.FrameSize(p.buf, maxAnswer)
	if err != nil {
		return nil, err
	}
	if size < codec.MetaSize {
		return nil, fmt.Errorf("scanner: a %d-byte frame", binary.BigEndian.Uint32(p.buf))
	}
	p.buf = append(p.buf, make([]byte, size-codec.MetaSize)...)
	if _, err := io.ReadFull(p.c, p.buf[codec.MetaSize:]); err != nil {
		return nil, err
	}
	return p.buf, nil
}
