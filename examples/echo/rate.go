package echo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// RateConfig is an open-loop load: calls started at a fixed rate, whatever
// the answers, as many callers do.
type RateConfig struct {
	// Rate is the calls started per second; Duration how long to start them.
	Rate     float64
	Duration time.Duration
	// MaxInFlight bounds the calls waiting for an answer; a call due while
	// it is reached waits (and is counted Late).
	MaxInFlight int
	// Timeout bounds each call (sent as the RPC timeout); 0 means none.
	Timeout time.Duration
}

// RateResult is what an open-loop run saw. Failures count the mesh errors
// by kind (sdk.MeshError; "other" for the rest), with one message each.
type RateResult struct {
	Sent, OK, Late int
	Elapsed        time.Duration
	Failures       map[string]int
	Messages       map[string]string
	// Latency percentiles of the answered calls, from each call's start.
	P50, P99 time.Duration
}

// RunRate starts cfg.Rate calls a second through c for cfg.Duration and
// waits for their answers.
func RunRate(ctx context.Context, c echoservice.Client, cfg RateConfig) (RateResult, error) {
	if !(cfg.Rate > 0) || cfg.Duration <= 0 || cfg.MaxInFlight < 1 || cfg.Timeout < 0 {
		return RateResult{}, errors.New("echo: rate load: want a positive rate, duration and max in flight")
	}
	r := RateResult{Failures: map[string]int{}, Messages: map[string]string{}}
	var latencies []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.MaxInFlight)
	n := int(cfg.Rate * cfg.Duration.Seconds())
	payload := []byte("rate")
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			mu.Lock()
			r.Late++
			mu.Unlock()
			sem <- struct{}{}
		}
		r.Sent++
		wg.Add(1)
		go func(id int64) {
			defer func() { <-sem; wg.Done() }()
			callCtx := ctx
			if cfg.Timeout > 0 {
				var cancel context.CancelFunc
				callCtx, cancel = context.WithTimeout(ctx, cfg.Timeout)
				defer cancel()
			}
			t0 := time.Now()
			_, err := c.Echo(callCtx, &echogen.EchoRequest{Id: id, Payload: payload})
			took := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				r.OK++
				latencies = append(latencies, took)
				return
			}
			kind := "other"
			if me, ok := sdk.AsMeshError(err); ok {
				kind = me.Kind.String()
			}
			r.Failures[kind]++
			if _, ok := r.Messages[kind]; !ok {
				r.Messages[kind] = err.Error()
			}
		}(int64(i))
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	r.P50, r.P99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	return r, nil
}

// String formats the result as one line.
func (r RateResult) String() string {
	return fmt.Sprintf("sent=%d ok=%d late=%d elapsed=%s p50=%s p99=%s failures=%v", r.Sent, r.OK, r.Late, r.Elapsed.Round(time.Millisecond), r.P50, r.P99, r.Failures)
}
