package echo

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
)

// fakeClient answers echo calls in-process with answer.
type fakeClient struct {
	calls  atomic.Int64
	answer func(req *echogen.EchoRequest) (*echogen.EchoResponse, error)
}

func (f *fakeClient) Echo(_ context.Context, req *echogen.EchoRequest, _ ...callopt.Option) (*echogen.EchoResponse, error) {
	f.calls.Add(1)
	return f.answer(req)
}

func echoAnswer(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
	return &echogen.EchoResponse{Id: req.Id, Payload: append([]byte(nil), req.Payload...), Server: "fake"}, nil
}

func TestRunLoadCountsFailures(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name         string
		answer       func(req *echogen.EchoRequest) (*echogen.EchoResponse, error)
		errs, wrong  int
		failContains string
	}{
		{name: "all good", answer: echoAnswer},
		{
			name: "errors",
			answer: func(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
				if req.Id%10 == 3 {
					return nil, errBoom
				}
				return echoAnswer(req)
			},
			errs: 10, failContains: "boom",
		},
		{
			name: "wrong payload",
			answer: func(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
				resp, _ := echoAnswer(req)
				if req.Id == 42 {
					resp.Payload[5] ^= 1
				}
				return resp, nil
			},
			wrong: 1, failContains: "request 42",
		},
		{
			name: "wrong id",
			answer: func(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
				resp, _ := echoAnswer(req)
				if req.Id == 7 {
					resp.Id = 8
				}
				return resp, nil
			},
			wrong: 1, failContains: "request 7",
		},
		{
			name: "payload of another request",
			answer: func(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
				resp, _ := echoAnswer(req)
				if req.Id == 9 {
					fillPayload(resp.Payload, 10)
				}
				return resp, nil
			},
			wrong: 1, failContains: "request 9",
		},
		{
			name:   "empty answer",
			answer: func(*echogen.EchoRequest) (*echogen.EchoResponse, error) { return nil, nil },
			wrong:  100, failContains: "empty answer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClient{answer: tt.answer}
			res, err := RunLoad(context.Background(), c, LoadConfig{Requests: 100, Concurrency: 4, PayloadSize: 16})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != 100 || c.calls.Load() != 100 || res.Errors != tt.errs || res.Mismatch != tt.wrong {
				t.Fatalf("sent %d (calls %d), errors %d, wrong %d; want 100, %d, %d",
					res.Sent, c.calls.Load(), res.Errors, res.Mismatch, tt.errs, tt.wrong)
			}
			if got := res.Servers["fake"]; got != res.OK() {
				t.Errorf("servers %v, want fake:%d", res.Servers, res.OK())
			}
			err = res.Err()
			if tt.failContains == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.failContains) {
				t.Fatalf("Err() = %v, want it to mention %q", err, tt.failContains)
			}
		})
	}
}

func TestRunLoadBoundedInTime(t *testing.T) {
	c := &fakeClient{answer: func(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
		time.Sleep(time.Millisecond)
		return echoAnswer(req)
	}}
	start := time.Now()
	res, err := RunLoad(context.Background(), c, LoadConfig{
		Requests: 1_000_000, Concurrency: 4, MaxDuration: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Unbounded, the run would take over 250s (a million 1ms calls, 4 at
	// a time): a bound 1200 times MaxDuration still tells the two apart on
	// the busiest machine.
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("run took %s with MaxDuration 50ms", d)
	}
	if res.Sent == 0 || res.Sent >= res.Wanted || res.Err() == nil {
		t.Fatalf("sent %d of %d, Err() = %v; want a cut-short run reported as failed", res.Sent, res.Wanted, res.Err())
	}
	if res.Errors != 0 || res.Mismatch != 0 || int64(res.Sent) != c.calls.Load() {
		t.Fatalf("result %+v, calls %d", res, c.calls.Load())
	}
}

func TestRunLoadForADuration(t *testing.T) {
	var seen sync.Map
	c := &fakeClient{answer: func(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
		if _, dup := seen.LoadOrStore(req.Id, true); dup {
			return nil, errors.New("id sent twice")
		}
		time.Sleep(100 * time.Microsecond)
		return echoAnswer(req)
	}}
	start := time.Now()
	res, err := RunLoad(context.Background(), c, LoadConfig{Duration: 100 * time.Millisecond, Concurrency: 50, PayloadSize: 8, FirstID: 7})
	if err != nil {
		t.Fatal(err)
	}
	// No request starts after the duration; those in flight then take
	// 100µs plus whatever a busy machine adds.
	if d := time.Since(start); d < 100*time.Millisecond || d > 30*time.Second {
		t.Fatalf("a run of 100ms took %s", d)
	}
	if err := res.Err(); err != nil || res.Wanted != 0 || res.Sent < 50 || int64(res.Sent) != c.calls.Load() || res.Servers["fake"] != res.Sent {
		t.Fatalf("result %+v (calls %d), Err() = %v", res, c.calls.Load(), err)
	}
	if res.P50 <= 0 || res.P99 < res.P50 {
		t.Fatalf("latencies %+v", res)
	}
	// A run of a duration that sends nothing has failed.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = RunLoad(ctx, c, LoadConfig{Duration: time.Second, Concurrency: 1})
	if err != nil || res.Sent != 0 || res.Err() == nil {
		t.Fatalf("cancelled run of a duration: sent %d, error %v, Err() %v", res.Sent, err, res.Err())
	}
}

func TestRunLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &fakeClient{answer: echoAnswer}
	res, err := RunLoad(ctx, c, LoadConfig{Requests: 10, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 0 || res.Err() == nil {
		t.Fatalf("sent %d after cancel, Err() = %v", res.Sent, res.Err())
	}
}

func TestRunLoadIDs(t *testing.T) {
	var seen [20]atomic.Int32
	c := &fakeClient{answer: func(req *echogen.EchoRequest) (*echogen.EchoResponse, error) {
		seen[req.Id-100].Add(1)
		return echoAnswer(req)
	}}
	res, err := RunLoad(context.Background(), c, LoadConfig{Requests: 20, Concurrency: 50, FirstID: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Errorf("id %d sent %d times, want once", 100+i, n)
		}
	}
}

func TestRunLoadInvalidConfig(t *testing.T) {
	for _, cfg := range []LoadConfig{
		{Requests: 0, Concurrency: 1},
		{Requests: 1, Concurrency: 0},
		{Requests: 1, Concurrency: 1, PayloadSize: -1},
		{Requests: 1, Concurrency: 1, Timeout: -time.Second},
		{Requests: 10, Concurrency: 1, FirstID: 1<<63 - 5},
		{Requests: -1, Concurrency: 1, Duration: time.Second},
		{Requests: 10, Concurrency: 1, Duration: time.Second},
		{Requests: 0, Concurrency: 1, Duration: -time.Second},
	} {
		if _, err := RunLoad(context.Background(), &fakeClient{answer: echoAnswer}, cfg); err == nil {
			t.Errorf("RunLoad accepted %+v", cfg)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i+1) * time.Millisecond
		}
		return s
	}
	tests := []struct {
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{nil, 0.5, 0},
		{ms(1), 0.999, time.Millisecond},
		{ms(100), 0.50, 50 * time.Millisecond},
		{ms(100), 0.90, 90 * time.Millisecond},
		{ms(100), 0.99, 99 * time.Millisecond},
		{ms(100), 0.999, 100 * time.Millisecond},
		{ms(1000), 0.999, 999 * time.Millisecond},
		{ms(10), 0, time.Millisecond},
		{ms(10), 1, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.samples, tt.p); got != tt.want {
			t.Errorf("percentile(%d samples, %v) = %s, want %s", len(tt.samples), tt.p, got, tt.want)
		}
	}
}

func TestFillPayloadDiffers(t *testing.T) {
	a, b := make([]byte, 8), make([]byte, 8)
	for id := range int64(1000) {
		fillPayload(a, id)
		fillPayload(b, id+1)
		if string(a) == string(b) {
			t.Fatalf("payloads of ids %d and %d are equal", id, id+1)
		}
	}
}
