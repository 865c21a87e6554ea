package echo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
)

// LoadConfig describes a closed-loop load run: Concurrency callers share
// Requests requests, or call for Duration, each sending its next request as
// soon as its previous one is answered.
type LoadConfig struct {
	// Requests is the number of requests to send; 0 means as many as the
	// callers send in Duration.
	Requests int
	// Duration, when Requests is 0, is how long the callers start
	// requests; it must then be positive. With Requests it must be 0.
	Duration time.Duration
	// Concurrency is the number of concurrent callers, at least 1; it is
	// capped at Requests when Requests is given.
	Concurrency int
	// PayloadSize is the payload of each request in bytes, at least 0.
	PayloadSize int
	// Timeout bounds each call (sent as the RPC timeout); 0 means none.
	Timeout time.Duration
	// MaxDuration bounds the whole run: no request is started after it,
	// and the calls in flight then are bounded by Timeout. 0 means no
	// bound other than ctx.
	MaxDuration time.Duration
	// FirstID is the id of the first request; request i has id FirstID+i.
	// Runs against one server with disjoint id ranges keep ids unique.
	FirstID int64
}

func (c LoadConfig) validate() error {
	switch {
	case c.Requests < 0:
		return fmt.Errorf("echo: load: requests = %d, want at least 1 (or 0 with a duration)", c.Requests)
	case c.Requests == 0 && c.Duration <= 0:
		return fmt.Errorf("echo: load: no requests and duration = %v: give a number of requests or a positive duration", c.Duration)
	case c.Requests > 0 && c.Duration != 0:
		return fmt.Errorf("echo: load: both %d requests and duration %v: give one", c.Requests, c.Duration)
	case c.Concurrency < 1:
		return fmt.Errorf("echo: load: concurrency = %d, want at least 1", c.Concurrency)
	case c.PayloadSize < 0:
		return fmt.Errorf("echo: load: payload size = %d, want at least 0", c.PayloadSize)
	case c.Timeout < 0 || c.MaxDuration < 0:
		return errors.New("echo: load: negative timeout")
	case c.FirstID > math.MaxInt64-int64(c.Requests) || c.Requests == 0 && c.FirstID > math.MaxInt64/2:
		return errors.New("echo: load: ids overflow int64")
	}
	return nil
}

// LoadResult is what a load run did. Latencies are those of the requests
// answered correctly. Its JSON form (durations in nanoseconds) is what
// `echo-client -json` prints.
type LoadResult struct {
	Wanted    int    `json:"wanted"`   // requests the run was asked to send; 0 for a run of a duration
	Sent      int    `json:"sent"`     // requests sent; less than Wanted if the run was cut short
	Errors    int    `json:"errors"`   // calls that returned an error
	Mismatch  int    `json:"mismatch"` // answers with a wrong id or payload
	FirstFail string `json:"first_fail,omitempty"`
	// Elapsed runs from the first request's start to the last answer.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Servers counts correct answers per responding server name.
	Servers map[string]int `json:"servers"`

	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
}

// OK returns the correctly answered requests.
func (r LoadResult) OK() int {
	return r.Sent - r.Errors - r.Mismatch
}

// Throughput returns correct answers per second of the run.
func (r LoadResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK()) / r.Elapsed.Seconds()
}

// Err returns nil if every wanted request (for a run of a duration: at
// least one) was sent and answered correctly, and otherwise an error that
// says what went wrong.
func (r LoadResult) Err() error {
	allSent := r.Sent == r.Wanted
	if r.Wanted == 0 {
		allSent = r.Sent > 0
	}
	if allSent && r.Errors == 0 && r.Mismatch == 0 {
		return nil
	}
	msg := fmt.Sprintf("echo: load: %d of %d requests sent, %d errors, %d wrong answers",
		r.Sent, r.Wanted, r.Errors, r.Mismatch)
	if r.FirstFail != "" {
		msg += "; first failure: " + r.FirstFail
	}
	return errors.New(msg)
}

// String formats the result as one line.
func (r LoadResult) String() string {
	names := make([]string, 0, len(r.Servers))
	for name := range r.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	var servers strings.Builder
	for i, name := range names {
		if i > 0 {
			servers.WriteByte(',')
		}
		fmt.Fprintf(&servers, "%s:%d", name, r.Servers[name])
	}
	return fmt.Sprintf("requests=%d errors=%d wrong=%d elapsed=%s throughput=%.0freq/s "+
		"p50=%s p90=%s p99=%s p99.9=%s max=%s servers=%s",
		r.Sent, r.Errors, r.Mismatch, r.Elapsed.Round(time.Millisecond), r.Throughput(),
		r.P50, r.P90, r.P99, r.P999, r.Max, servers.String())
}

// RunLoad sends cfg.Requests echo requests through c from cfg.Concurrency
// callers and checks each answer's id and payload. Request i has id
// cfg.FirstID+i and a payload derived from its id, so an answer to another
// request is caught.
//
// The run ends when every request has been answered (for a run of
// cfg.Duration: when it has passed and the calls in flight are answered),
// or early when ctx is done or cfg.MaxDuration has passed: then no new
// request starts, and those in flight finish within cfg.Timeout. RunLoad returns an error only
// for an invalid cfg; failed requests are counted in the result (see
// LoadResult.Err).
func RunLoad(ctx context.Context, c echoservice.Client, cfg LoadConfig) (LoadResult, error) {
	if err := cfg.validate(); err != nil {
		return LoadResult{}, err
	}
	if cfg.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.MaxDuration)
		defer cancel()
	}
	var callOpts []callopt.Option
	if cfg.Timeout > 0 {
		callOpts = append(callOpts, callopt.WithRPCTimeout(cfg.Timeout))
	}
	callers, perCaller := cfg.Concurrency, 1024
	if cfg.Requests > 0 {
		callers = min(callers, cfg.Requests)
		perCaller = cfg.Requests/callers + 1
	}
	var end time.Time // of a run of a duration: no request starts after it

	var (
		next    atomic.Int64 // index of the next request to send
		wg      sync.WaitGroup
		results = make([]callerResult, callers)
	)
	start := time.Now()
	if cfg.Requests == 0 {
		end = start.Add(cfg.Duration)
	}
	for i := range results {
		wg.Add(1)
		go func(r *callerResult) {
			defer wg.Done()
			r.latencies = make([]time.Duration, 0, perCaller)
			r.servers = make(map[string]int)
			payload := make([]byte, cfg.PayloadSize)
			for ctx.Err() == nil {
				n := next.Add(1) - 1
				if cfg.Requests > 0 && n >= int64(cfg.Requests) || cfg.Requests == 0 && !time.Now().Before(end) {
					return
				}
				if !r.call(ctx, c, cfg.FirstID+n, payload, callOpts) {
					// A call that failed (a timeout, say) may still be
					// reading its payload: never reuse that buffer.
					payload = make([]byte, cfg.PayloadSize)
				}
			}
		}(&results[i])
	}
	wg.Wait()

	res := LoadResult{Wanted: cfg.Requests, Elapsed: time.Since(start), Servers: make(map[string]int)}
	var latencies []time.Duration
	for _, r := range results {
		res.Sent += r.sent
		res.Errors += r.errors
		res.Mismatch += r.mismatch
		if res.FirstFail == "" {
			res.FirstFail = r.firstFail
		}
		for name, n := range r.servers {
			res.Servers[name] += n
		}
		latencies = append(latencies, r.latencies...)
	}
	slices.Sort(latencies)
	res.P50 = percentile(latencies, 0.50)
	res.P90 = percentile(latencies, 0.90)
	res.P99 = percentile(latencies, 0.99)
	res.P999 = percentile(latencies, 0.999)
	if len(latencies) > 0 {
		res.Max = latencies[len(latencies)-1]
	}
	return res, nil
}

// callerResult is what one caller of a load run saw; only that caller
// writes it.
type callerResult struct {
	sent, errors, mismatch int
	firstFail              string
	latencies              []time.Duration
	servers                map[string]int
}

// call sends the request with this id, payload filled for it, records the
// outcome and reports whether the call returned without error.
func (r *callerResult) call(ctx context.Context, c echoservice.Client, id int64, payload []byte, opts []callopt.Option) bool {
	fillPayload(payload, id)
	r.sent++
	t0 := time.Now()
	resp, err := c.Echo(ctx, &echogen.EchoRequest{Id: id, Payload: payload}, opts...)
	d := time.Since(t0)
	switch {
	case err != nil:
		r.errors++
		r.fail(fmt.Sprintf("request %d: %v", id, err))
		return false
	case resp == nil:
		r.mismatch++
		r.fail(fmt.Sprintf("request %d: empty answer", id))
	case resp.Id != id || !bytes.Equal(resp.Payload, payload):
		r.mismatch++
		r.fail(fmt.Sprintf("request %d: answer has id %d and %d payload bytes (want %d), from server %q",
			id, resp.Id, len(resp.Payload), len(payload), resp.Server))
	default:
		r.latencies = append(r.latencies, d)
		r.servers[resp.Server]++
	}
	return true
}

func (r *callerResult) fail(msg string) {
	if r.firstFail == "" {
		r.firstFail = msg
	}
}

// fillPayload fills p with bytes that depend on id and on the position, so
// that the payloads of two requests of at least 8 bytes always differ.
func fillPayload(p []byte, id int64) {
	for i := range p {
		p[i] = byte(uint64(id)>>(8*(i%8))) ^ byte(i/8)
	}
}

// percentile returns the nearest-rank p-quantile of sorted samples, or 0 if
// there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
