package echo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
)

// The per-id request counts are split into idShards independently locked
// parts.
const (
	idShardBits = 6
	idShards    = 1 << idShardBits
)

// Handler implements the generated echo service. It answers every request
// with the request's id and payload and its own name, and counts the
// requests it handled per id, so that a test can check that each request
// reached exactly one server exactly once.
//
// A Handler is safe for concurrent use. Counting costs one uncontended
// lock of one of idShards shards and a map update per request.
type Handler struct {
	name   string
	shards [idShards]idShard

	total    atomic.Int64 // requests handled
	distinct atomic.Int64 // ids seen at least once
	repeated atomic.Int64 // ids seen more than once
}

// idShard holds the counts of the ids that hash to it. The padding keeps
// neighbouring shards' locks off one cache line.
type idShard struct {
	mu     sync.Mutex
	counts map[int64]int64
	_      [48]byte
}

// errNilRequest answers a call whose request struct is missing.
var errNilRequest = errors.New("echo: request has no EchoRequest")

// NewHandler returns a Handler that puts name in the server field of every
// response.
func NewHandler(name string) *Handler {
	h := &Handler{name: name}
	for i := range h.shards {
		h.shards[i].counts = make(map[int64]int64)
	}
	return h
}

// Name returns the name the handler puts in its responses.
func (h *Handler) Name() string {
	return h.name
}

// Echo implements the generated echo.Echo interface.
func (h *Handler) Echo(_ context.Context, req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
	if req == nil {
		return nil, errNilRequest
	}
	h.record(req.Id)
	return &echogen.EchoResponse{Id: req.Id, Payload: req.Payload, Server: h.name}, nil
}

func (h *Handler) record(id int64) {
	s := h.shard(id)
	s.mu.Lock()
	n := s.counts[id] + 1
	s.counts[id] = n
	s.mu.Unlock()
	h.total.Add(1)
	switch n {
	case 1:
		h.distinct.Add(1)
	case 2:
		h.repeated.Add(1)
	}
}

func (h *Handler) shard(id int64) *idShard {
	// Fibonacci hashing spreads sequential ids over the shards.
	return &h.shards[(uint64(id)*0x9E3779B97F4A7C15)>>(64-idShardBits)]
}

// Count returns how many requests with this id the handler has answered.
func (h *Handler) Count(id int64) int64 {
	s := h.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[id]
}

// Total returns how many requests the handler has answered.
func (h *Handler) Total() int64 {
	return h.total.Load()
}

// DistinctIDs returns how many different ids the handler has seen.
func (h *Handler) DistinctIDs() int64 {
	return h.distinct.Load()
}

// RepeatedIDs returns how many ids the handler has seen more than once.
// After a run in which every request has its own id, it must be 0.
func (h *Handler) RepeatedIDs() int64 {
	return h.repeated.Load()
}
