package lb

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint is one upstream instance as a Balancer sees it.
type Endpoint struct {
	Address  string
	Weight   uint32 // 0 excludes the endpoint from every picker
	Zone     string
	Set      string // the SET (deployment unit) the instance belongs to
	Metadata map[string]string
	// Healthy is false for an endpoint that health checking has marked down.
	Healthy bool
	// Load is the live load of the endpoint, fed back by the upstream after each
	// request. It outlives pickers: the upstream keeps one per address and hands
	// the same pointer to every Build. Never nil.
	Load *Load
}

// Picker chooses an endpoint for one request. A Picker is immutable, safe for
// concurrent use without locks, and Pick allocates nothing.
type Picker interface {
	// Pick returns the index, in the slice given to Build, of the endpoint for a
	// request whose hash key is key (nil when the request carries none), or -1
	// when no endpoint can take it.
	Pick(key []byte) int
}

// Options carry what a Balancer needs beyond the endpoints.
type Options struct {
	LocalZone string
	LocalSet  string
	// PanicThreshold is the healthy share (0..1) of the local group below
	// which locality falls back to the wider set.
	PanicThreshold float64
}

// Balancer builds Pickers. Build validates its input and never returns a
// Picker that can fail later for reasons Build could have seen.
type Balancer interface {
	Name() string
	Build(endpoints []Endpoint, opts Options) (Picker, error)
}

// ErrNoEndpoints is returned by Build when no endpoint has a positive weight.
var ErrNoEndpoints = errors.New("lb: no endpoint with positive weight")

var (
	registryMu sync.RWMutex
	registry   = map[string]Balancer{}
)

// Register adds a Balancer under its name. Registering a name twice panics:
// it is a programming error found at init.
func Register(b Balancer) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[b.Name()]; dup {
		panic(fmt.Sprintf("lb: balancer %q registered twice", b.Name()))
	}
	registry[b.Name()] = b
}

// Get returns the Balancer registered under name, or an error naming the
// known balancers.
func Get(name string) (Balancer, error) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	if b, ok := registry[name]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("lb: unknown balancer %q (known: %s)", name, strings.Join(namesLocked(), ", "))
}

// Names lists the registered balancers, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load is the live load of one endpoint: requests in flight and a latency
// estimate. Safe for concurrent use; Begin and End allocate nothing.
type Load struct {
	inflight atomic.Int64
	// ewmaNanos is a peak-EWMA of the round-trip latency as of lastNanos;
	// 0 means no sample yet.
	ewmaNanos atomic.Int64
	lastNanos atomic.Int64 // monotonic nanos (see monoNow) of the last update
}

// Begin records a request sent to the endpoint.
func (l *Load) Begin() { l.inflight.Add(1) }

// End records the completion of a request begun with Begin, with its round
// trip time; failed requests count as slow.
func (l *Load) End(rtt time.Duration, failed bool) {
	now := monoNow()
	endClock.advance(now)
	l.endAt(rtt, failed, now)
}

func (l *Load) endAt(rtt time.Duration, failed bool, now int64) {
	l.inflight.Add(-1)
	l.observe(rtt, failed, now)
}

// Inflight is the number of requests begun and not yet ended.
func (l *Load) Inflight() int64 { return l.inflight.Load() }

// ewmaDecay is the time constant of the latency estimate.
const ewmaDecay = 10 * time.Second

// failurePenalty is the latency charged for a failed request.
const failurePenalty = time.Second

// clockBase anchors monoNow: time.Since reads the monotonic clock, so a step
// of the wall clock cannot make elapsed time negative or huge.
var clockBase = time.Now()

func monoNow() int64 { return int64(time.Since(clockBase)) }

// endClock is the time of the latest End, to within endClockStep. Pickers
// read it instead of the system clock, which costs more than the rest of a
// p2c Pick; when no request ends, no estimate changes and nothing is lost.
var endClock coarseClock

const endClockStep = int64(time.Millisecond)

type coarseClock struct{ nanos atomic.Int64 }

// advance moves the clock to now if it is a step ahead. Stores are rare, so
// the clock's cache line stays shared among cores.
func (c *coarseClock) advance(now int64) {
	if now-c.nanos.Load() >= endClockStep {
		c.nanos.Store(now)
	}
}

func (c *coarseClock) now() int64 { return c.nanos.Load() }

// decay is the weight left to an estimate after elapsed nanoseconds.
func decay(elapsed int64) float64 {
	if elapsed <= 0 {
		return 1
	}
	x := float64(elapsed) / float64(ewmaDecay)
	if x < 1.0/1024 {
		// Within 2e-11 of the exponential, at a fraction of its cost: the
		// common case when an endpoint is in steady use.
		return 1 - x + x*x/2
	}
	return math.Exp(-x)
}

// observe folds one round trip into the peak-EWMA. The estimate decays toward
// zero with time (see latencyAt); a sample above the decayed estimate replaces
// it at once (peak), a lower one is blended in with the weight time has given
// it. Decaying toward zero lets an endpoint that was slow once, and so is no
// longer picked, be tried again after a while instead of being shunned forever.
func (l *Load) observe(rtt time.Duration, failed bool, now int64) {
	if failed && rtt < failurePenalty {
		rtt = failurePenalty
	}
	sample := max(int64(rtt), 1) // 0 is reserved for "no sample"
	for {
		old := l.ewmaNanos.Load()
		next := sample
		if old != 0 {
			w := decay(now - l.lastNanos.Load())
			if cur := float64(old) * w; float64(sample) < cur {
				next = int64(cur + float64(sample)*(1-w))
			}
		}
		if l.ewmaNanos.CompareAndSwap(old, next) {
			// A racing End may carry an earlier time: never move backwards.
			if now > l.lastNanos.Load() {
				l.lastNanos.Store(now)
			}
			return
		}
	}
}

// Latency is the current peak-EWMA latency estimate (0 before any sample).
func (l *Load) Latency() time.Duration { return time.Duration(l.latencyAt(monoNow())) }

// latencyAt is the estimate decayed to now, in nanoseconds.
func (l *Load) latencyAt(now int64) float64 {
	e := l.ewmaNanos.Load()
	if e == 0 {
		return 0
	}
	return float64(e) * decay(now-l.lastNanos.Load())
}
