package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/filter"
	"github.com/octomesh/octomesh/proxy/upstream"
)

// Def is the rate_limit filter.
var Def = filter.Def{
	Name:       "rate_limit",
	Counters:   []string{"rate_limit.limited"},
	Configured: func(r *config.Route, _ *filter.Env) bool { return r.RateLimit != nil },
	Build:      build,
}

// MaxCallers bounds the per-caller buckets of one route; calls of further
// callers share one bucket.
const MaxCallers = 10000

func build(route *config.Route, env *filter.Env) (filter.Middleware, *config.FieldError) {
	rl := *route.RateLimit
	key := fmt.Sprintf("rate_limit %s/%s %v %+v", route.Service, route.Method, route.Match(), rl)
	lim := env.State.Keep(env.Listener, key, func() any { return newLimiter(rl) }).(*limiter)
	limited := env.Counters.Get("rate_limit.limited")
	per := ""
	if rl.PerCaller {
		per = " per caller"
	}
	msg := fmt.Sprintf("octomesh: rate limited: route %s/%s of listener %s takes %g requests per second%s (burst %d)",
		route.Service, route.Method, env.Listener, rl.RequestsPerSecond, per, rl.BurstOrDefault())
	return func(next filter.Handler) filter.Handler {
		return filter.HandlerFunc(func(r *filter.Request) {
			now := r.Arrived
			if r.Held() { // held back by a filter before this one: judge it now
				now = upstream.Now()
			}
			if lim.allow(callerOf(r), now) {
				next.Serve(r)
				return
			}
			limited.Add(1)
			r.Reject(codec.KindRateLimited, msg)
		})
	}, nil
}

// callerOf is who a per-caller bucket is for: the identity the caller's
// certificate proved when the connection is mutual TLS (a header is the
// caller's to write), else its TTHeader from-service. The identity is
// viewed as bytes without a copy; allow only reads it.
func callerOf(r *filter.Request) []byte {
	if r.Peer != "" {
		return unsafe.Slice(unsafe.StringData(r.Peer), len(r.Peer))
	}
	return r.Header.FromService
}

// limiter is a route's bucket, or its buckets by caller.
type limiter struct {
	interval  int64 // nanoseconds per call
	tolerance int64 // how far ahead of now the full time may run
	perCaller bool
	shared    bucket
	mu        sync.Mutex // serialises adding callers
	callers   atomic.Pointer[map[string]*bucket]
}

type bucket struct{ tat atomic.Int64 } // theoretical arrival time, ns

func newLimiter(rl config.RateLimit) *limiter {
	interval := int64(float64(time.Second) / rl.RequestsPerSecond)
	l := &limiter{interval: max(interval, 1), perCaller: rl.PerCaller}
	l.tolerance = int64(rl.BurstOrDefault()-1) * l.interval
	m := map[string]*bucket{}
	l.callers.Store(&m)
	return l
}

// allow admits one call of caller at now (upstream.Now), or reports that
// it is over the limit.
func (l *limiter) allow(caller []byte, now time.Duration) bool {
	b := &l.shared
	if l.perCaller && len(caller) > 0 {
		b = l.bucketOf(caller)
	}
	t := int64(now)
	for {
		tat := b.tat.Load()
		next := max(tat, t)
		if next-t > l.tolerance {
			return false
		}
		if b.tat.CompareAndSwap(tat, next+l.interval) {
			return true
		}
	}
}

// bucketOf returns caller's bucket: a map read without a lock; a new
// caller copies the map (rare: callers are apps).
func (l *limiter) bucketOf(caller []byte) *bucket {
	if b := (*l.callers.Load())[string(caller)]; b != nil {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := *l.callers.Load()
	if b := m[string(caller)]; b != nil {
		return b
	}
	if len(m) >= MaxCallers {
		return &l.shared
	}
	next := make(map[string]*bucket, len(m)+1)
	for k, v := range m {
		next[k] = v
	}
	b := new(bucket)
	next[string(caller)] = b
	l.callers.Store(&next)
	return b
}
