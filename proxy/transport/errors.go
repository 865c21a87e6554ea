package transport

import (
	"errors"
	"sync/atomic"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/stats"
)

// Reasons a connection is closed by the transport, for errors.Is.
var (
	// ErrFrameTimeout: a frame started but did not arrive whole in time.
	ErrFrameTimeout = errors.New("transport: frame not completed in time")
	// ErrWrite: a write or flush failed; the connection is unusable.
	ErrWrite = errors.New("transport: write failed")
)

// ErrorKind indexes Stats.ProtocolErrors.
type ErrorKind int

const (
	KindNotTTHeader ErrorKind = iota
	KindTooLarge
	KindBadLength
	KindBadHeader
	KindBadPayload
	KindFrameTimeout
	KindWrite
	KindOther
	numKinds
)

var kindNames = [numKinds]string{"not_ttheader", "too_large", "bad_length", "bad_header", "bad_payload", "frame_timeout", "write", "other"}

func (k ErrorKind) String() string { return kindNames[k] }

// Kind classifies a close reason.
func Kind(err error) ErrorKind {
	switch {
	case errors.Is(err, codec.ErrNotTTHeader):
		return KindNotTTHeader
	case errors.Is(err, codec.ErrFrameTooLarge):
		return KindTooLarge
	case errors.Is(err, codec.ErrBadLength):
		return KindBadLength
	case errors.Is(err, codec.ErrBadHeader):
		return KindBadHeader
	case errors.Is(err, codec.ErrBadPayload):
		return KindBadPayload
	case errors.Is(err, ErrFrameTimeout):
		return KindFrameTimeout
	case errors.Is(err, ErrWrite):
		return KindWrite
	}
	return KindOther
}

// Stats counts what the transport saw; every field may be read at any
// time. Per-frame counts are striped (stats.Counter); per-connection ones
// are plain atomics.
type Stats struct {
	Accepted, Dialed, Closed atomic.Uint64
	// AcceptErrors counts accepted sockets that could not be served and
	// failed accepts (out of descriptors).
	AcceptErrors atomic.Uint64
	// Refused counts connections closed on accept because their listener
	// had Options.MaxConns open; IdleClosed, connections closed after
	// Options.IdleTimeout without traffic.
	Refused, IdleClosed atomic.Uint64
	FramesIn, FramesOut stats.Counter
	BytesIn, BytesOut   stats.Counter
	// ProtocolErrors counts connections closed for each ErrorKind.
	ProtocolErrors [numKinds]atomic.Uint64
	// TLSHandshakes counts completed TLS handshakes (accepted and
	// dialled); TLSPlainAccepted, plain connections a permissive listener
	// served; TLSHandshakeFailures, failed handshakes by TLSReason.
	TLSHandshakes, TLSPlainAccepted atomic.Uint64
	TLSHandshakeFailures            [numReasons]atomic.Uint64
}

func (s *Stats) countError(err error) { s.ProtocolErrors[Kind(err)].Add(1) }

// ErrorCounts returns the protocol error counters by kind name.
func (s *Stats) ErrorCounts() map[string]uint64 {
	m := make(map[string]uint64, numKinds)
	for k := ErrorKind(0); k < numKinds; k++ {
		m[k.String()] = s.ProtocolErrors[k].Load()
	}
	return m
}
