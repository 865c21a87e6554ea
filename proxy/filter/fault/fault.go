package fault

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/filter"
)

// Def is the fault filter.
var Def = filter.Def{
	Name:       "fault",
	Counters:   []string{"fault.delayed", "fault.aborted"},
	Configured: func(r *config.Route, _ *filter.Env) bool { return r.Fault != nil },
	Build:      build,
}

// share turns a percentage into a threshold for a 32-bit draw.
func share(percent float64) uint64 { return uint64(percent / 100 * (1 << 32)) }

func draw(threshold uint64) bool { return threshold > 0 && uint64(rand.Uint32()) < threshold }

func build(route *config.Route, env *filter.Env) (filter.Middleware, *config.FieldError) {
	f := route.Fault
	var delayAt, abortAt uint64
	var delay time.Duration
	var abortPercent float64
	if f.Delay != nil {
		delayAt, delay = share(f.Delay.Percent), f.Delay.Duration.Std()
	}
	if f.Abort != nil {
		abortPercent = f.Abort.Percent
		abortAt = share(abortPercent)
	}
	match := make([][2]string, 0, len(f.Headers))
	for k, v := range f.Headers {
		match = append(match, [2]string{k, v})
	}
	sort.Slice(match, func(i, j int) bool { return match[i][0] < match[j][0] })
	delayed, aborted := env.Counters.Get("fault.delayed"), env.Counters.Get("fault.aborted")
	msg := fmt.Sprintf("octomesh: fault injected: route %s/%s of listener %s aborts %g%% of its calls", route.Service, route.Method, env.Listener, abortPercent)
	if len(match) > 0 {
		parts := make([]string, len(match))
		for i, kv := range match {
			parts[i] = kv[0] + "=" + kv[1]
		}
		msg += " marked " + strings.Join(parts, ", ")
	}
	return func(next filter.Handler) filter.Handler {
		abort := func(r *filter.Request) {
			if draw(abortAt) {
				aborted.Add(1)
				r.Reject(codec.KindFault, msg)
				return
			}
			next.Serve(r)
		}
		return filter.HandlerFunc(func(r *filter.Request) {
			for _, kv := range match {
				if v := r.Header.StrInfo(r.Frame, kv[0]); v == nil || string(v) != kv[1] {
					next.Serve(r)
					return
				}
			}
			if draw(delayAt) {
				delayed.Add(1)
				held := r.Hold()
				time.AfterFunc(delay, func() { abort(held) })
				return
			}
			abort(r)
		})
	}, nil
}
