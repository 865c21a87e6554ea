package sdk

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/cloudwego/kitex/pkg/remote"
	remoteconnpool "github.com/cloudwego/kitex/pkg/remote/connpool"
)

// restartPool is Kitex's long-connection pool plus a restart generation.
// When the sidecar answers "restarting", the pool is cleaned; but a call in
// flight on a connection to the old process still completes normally and
// would put that connection back, where a retry could pick it up and meet
// the old process again. So every connection remembers the generation it
// was first handed out in, and one from before the last restart is
// discarded instead of pooled: a retry only ever gets a connection dialled
// after the restart, which reaches the new process.
type restartPool struct {
	*remoteconnpool.LongPool

	mu       sync.Mutex
	gen      uint64
	lastBump time.Time
	born     map[net.Conn]uint64
	gets     int
}

func newRestartPool(lp *remoteconnpool.LongPool) *restartPool {
	return &restartPool{LongPool: lp, born: map[net.Conn]uint64{}}
}

// Get hands out a connection and records its generation on first sight.
func (p *restartPool) Get(ctx context.Context, network, address string, opt remote.ConnOption) (net.Conn, error) {
	c, err := p.LongPool.Get(ctx, network, address, opt)
	if err != nil {
		return c, err
	}
	p.mu.Lock()
	if _, seen := p.born[c]; !seen {
		p.born[c] = p.gen
	}
	if p.gets++; p.gets%1024 == 0 {
		p.forgetClosedLocked()
	}
	p.mu.Unlock()
	return c, nil
}

// Put pools a connection, unless it dates from before the last restart.
func (p *restartPool) Put(c net.Conn) error {
	p.mu.Lock()
	g, ok := p.born[c]
	stale := ok && g < p.gen
	if stale {
		delete(p.born, c)
	}
	p.mu.Unlock()
	if stale {
		return p.LongPool.Discard(c)
	}
	return p.LongPool.Put(c)
}

// Discard closes a connection for good.
func (p *restartPool) Discard(c net.Conn) error {
	p.mu.Lock()
	delete(p.born, c)
	p.mu.Unlock()
	return p.LongPool.Discard(c)
}

// restarted starts a new generation and drops the idle connections to
// address. The many callers that see one restart at about the same time
// count as one restart.
func (p *restartPool) restarted(network, address string) {
	p.mu.Lock()
	if time.Since(p.lastBump) > restartDebounce {
		p.gen++
		p.lastBump = time.Now()
	}
	p.mu.Unlock()
	p.LongPool.Clean(network, address)
}

// restartDebounce: answers within this of the first belong to one restart
// (a sidecar cannot hand over twice this fast).
const restartDebounce = 100 * time.Millisecond

// forgetClosedLocked drops the records of connections the pool closed on
// its own (idle eviction), which never come back through Put or Discard.
func (p *restartPool) forgetClosedLocked() {
	for c := range p.born {
		if a, ok := c.(remote.IsActive); ok && !a.IsActive() {
			delete(p.born, c)
		}
	}
}
