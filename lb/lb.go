package lb

import (
	"errors"
	"fmt"
	"math"
	"sort"
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
	return nil, fmt.Errorf("lb: unknown balancer %q (known: %v)", name, namesLocked())
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
	// ewmaNanos is a peak-EWMA of the round-trip latency.
	ewmaNanos atomic.Int64
	lastNanos atomic.Int64 // unix nanos of the last update
}

// Begin records a request sent to the endpoint.
func (l *Load) Begin() { l.inflight.Add(1) }

// End records the completion of a request begun with Begin, with its round
// trip time; failed requests count as slow.
func (l *Load) End(rtt time.Duration, failed bool) {
	l.inflight.Add(-1)
	l.observe(rtt, failed)
}

// Inflight is the number of requests begun and not yet ended.
func (l *Load) Inflight() int64 { return l.inflight.Load() }

// ewmaDecay is the time constant of the latency estimate.
const ewmaDecay = 10 * time.Second

// failurePenalty is the latency charged for a failed request.
const failurePenalty = time.Second

// observe folds one round trip into the peak-EWMA: a sample above the estimate
// replaces it at once (peak), a lower one decays it toward the sample.
func (l *Load) observe(rtt time.Duration, failed bool) {
	if failed && rtt < failurePenalty {
		rtt = failurePenalty
	}
	now := time.Now().UnixNano()
	sample := int64(rtt)
	for {
		old := l.ewmaNanos.Load()
		next := sample
		if old != 0 && sample < old {
			elapsed := now - l.lastNanos.Load()
			w := math.Exp(-float64(elapsed) / float64(ewmaDecay))
			next = int64(float64(old)*w + float64(sample)*(1-w))
		}
		if l.ewmaNanos.CompareAndSwap(old, next) {
			l.lastNanos.Store(now)
			return
		}
	}
}

// Latency is the current peak-EWMA latency estimate (0 before any sample).
func (l *Load) Latency() time.Duration { return time.Duration(l.ewmaNanos.Load()) }
