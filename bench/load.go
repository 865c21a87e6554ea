package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"github.com/octomesh/octomesh/codec"
)

// LoadConfig is one load run against one target.
type LoadConfig struct {
	// Target is "unix:///path" or "tcp://127.0.0.1:port" (loopback only).
	Target string
	// Payload is the size in bytes of EchoRequest.payload.
	Payload int
	// Rate > 0 runs open loop at that many requests per second, spread over
	// Connections connections, several requests in flight on each
	// (TTHeader seqIDs match responses to requests).
	Rate float64
	// Callers > 0 runs closed loop instead: that many callers, each on its
	// own connection, each sending its next request when the previous one
	// is answered.
	Callers     int
	Connections int
	// Warmup runs the same load before the measured window; Duration is the
	// window. MaxRequests (0: no bound) caps the requests sent in the
	// window: an open-loop window is shortened to fit, a closed-loop one
	// ends when they are sent.
	Warmup, Duration time.Duration
	MaxRequests      int64
	// Drain is how long to wait for the last responses after the window;
	// requests still unanswered then are errors (no_response).
	Drain time.Duration
	// Mark, when set, is called when the window starts ("measure") and ends
	// ("end"), with the number of responses received so far; an
	// orchestrator samples the sidecars' CPU and syscall counters there.
	Mark func(name string, responses int64)
}

// LoadResult is what a load run measured. Latencies are in the encoded
// histogram (nanoseconds) and summarised in microseconds.
type LoadResult struct {
	Mode        string  `json:"mode"` // "open" or "closed"
	Rate        float64 `json:"rate,omitempty"`
	Callers     int     `json:"callers,omitempty"`
	Connections int     `json:"connections"`
	Payload     int     `json:"payload_bytes"`
	FrameBytes  int     `json:"request_frame_bytes"`
	// Window is the measured window in seconds; WindowResponses the
	// responses received in it (errors included), for per-request costs.
	Window          float64 `json:"window_s"`
	WindowResponses int64   `json:"window_responses"`
	// Measured is the number of requests whose latency is in the histogram:
	// open loop, those scheduled in the window; closed loop, those sent in it.
	Measured   int64   `json:"measured"`
	Throughput float64 `json:"throughput_rps"` // good responses per second in the window
	// CPU is the cores the load generator itself kept busy in the window.
	CPU    float64 `json:"cpu_cores"`
	Errors int64   `json:"errors"`
	// ErrorKinds counts errors by kind over the whole run, warmup included.
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	Latency    Percentiles      `json:"latency_us"`
	// SendLag (open loop) is how late requests left after their intended
	// send time: the generator's own delay, part of every latency.
	SendLag   *Percentiles `json:"send_lag_us,omitempty"`
	Histogram string       `json:"histogram"` // HdrHistogram V2, base64, nanoseconds
}

// Percentiles in microseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

func newHistogram() *hdr.Histogram { return hdr.New(100, int64(60*time.Second), 3) }

func percentiles(h *hdr.Histogram) Percentiles {
	us := func(v int64) float64 { return math.Round(float64(v)/10) / 100 }
	return Percentiles{
		P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)),
		P99: us(h.ValueAtQuantile(99)), P999: us(h.ValueAtQuantile(99.9)),
		Max: us(h.Max()),
	}
}

func record(h *hdr.Histogram, ns int64) {
	if ns < 1 {
		ns = 1
	}
	if err := h.RecordValue(ns); err != nil {
		_ = h.RecordValue(h.HighestTrackableValue())
	}
}

func (c *LoadConfig) check() error {
	switch {
	case (c.Rate > 0) == (c.Callers > 0):
		return errors.New("bench load: give a rate (open loop) or a number of callers (closed loop)")
	case c.Rate > 0 && c.Connections < 1:
		return errors.New("bench load: open loop needs at least one connection")
	case c.Payload < 0 || c.Payload > maxFrame/2:
		return fmt.Errorf("bench load: payload of %d bytes is out of range", c.Payload)
	case c.Duration <= 0:
		return errors.New("bench load: the duration must be positive")
	}
	network, _, err := splitTarget(c.Target)
	if err != nil {
		return err
	}
	if network == "tcp" {
		host, _, err := net.SplitHostPort(strings.TrimPrefix(c.Target, "tcp://"))
		if err != nil {
			return fmt.Errorf("bench load: target %q: %v", c.Target, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("bench load: target %q is not a loopback address", c.Target)
		}
	}
	return nil
}

// splitTarget turns "unix:///p" or "tcp://h:p" into a network and address.
func splitTarget(t string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(t, "unix://"):
		return "unix", strings.TrimPrefix(t, "unix://"), nil
	case strings.HasPrefix(t, "tcp://"):
		return "tcp", strings.TrimPrefix(t, "tcp://"), nil
	}
	return "", "", fmt.Errorf("bench load: target %q is neither unix:///path nor tcp://host:port", t)
}

// errCounts counts errors by kind; each goroutine keeps its own.
type errCounts map[string]int64

func (e errCounts) merge(into map[string]int64) {
	for k, v := range e {
		into[k] += v
	}
}

// clock is the run's time base: nanoseconds since the run started, from
// the monotonic clock.
type clock struct{ start time.Time }

func (c clock) now() int64 { return int64(time.Since(c.start)) }

// RunLoad runs one load run and returns what it measured.
func RunLoad(ctx context.Context, cfg LoadConfig) (*LoadResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 3 * time.Second
	}
	if cfg.Mark == nil {
		cfg.Mark = func(string, int64) {}
	}
	network, addr, _ := splitTarget(cfg.Target)
	n := cfg.Connections
	if cfg.Callers > 0 {
		n = cfg.Callers
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var d net.Dialer
	for i := 0; i < n; i++ {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("bench load: connection %d of %d: %w", i+1, n, err)
		}
		conns = append(conns, c)
	}
	if cfg.Rate > 0 {
		return runOpen(ctx, cfg, conns)
	}
	return runClosed(ctx, cfg, conns)
}

// window is the measured window, shared by the generator's goroutines.
// Before it, the second half of the warmup is the syscall window: the
// parent counts the proxies' system calls there, under the same load,
// because counting every system call slows a process down (by a quarter
// when it is saturated) and must not touch the measured window.
type window struct {
	count, start, end int64 // ns on the run's clock
	responses         atomic.Int64
	good              atomic.Int64
	// at the marks
	startResponses, endResponses, startGood, endGood int64
	startCPU, endCPU                                 time.Duration // this process's CPU time
	endAt                                            int64         // when the window really ended
	stop                                             chan struct{}
	stopOnce                                         sync.Once
}

func newWindow(start, end int64) *window {
	return &window{count: start / 2, start: start, end: end, stop: make(chan struct{})}
}

// mark waits for the window and reports the syscall window's start, then the
// window's start and end; closed loop may end it early (stop). It returns
// when the window has ended.
func (w *window) mark(ctx context.Context, clk clock, cfg *LoadConfig) {
	sleepUntil(ctx, clk, w.count)
	cfg.Mark("count", w.responses.Load())
	sleepUntil(ctx, clk, w.start)
	w.startResponses, w.startGood, w.startCPU = w.responses.Load(), w.good.Load(), selfCPU()
	cfg.Mark("measure", w.startResponses)
	t := time.NewTimer(time.Duration(w.end - clk.now()))
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.stop:
	case <-ctx.Done():
	}
	w.endAt = clk.now()
	w.endResponses, w.endGood, w.endCPU = w.responses.Load(), w.good.Load(), selfCPU()
	cfg.Mark("end", w.endResponses)
	w.stopOnce.Do(func() { close(w.stop) })
}

func sleepUntil(ctx context.Context, clk clock, at int64) {
	if d := time.Duration(at - clk.now()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

func (w *window) result(res *LoadResult) {
	res.Window = float64(w.endAt-w.start) / 1e9
	res.WindowResponses = w.endResponses - w.startResponses
	if res.Window > 0 {
		res.Throughput = math.Round(float64(w.endGood-w.startGood)/res.Window*10) / 10
		res.CPU = round2((w.endCPU - w.startCPU).Seconds() / res.Window)
	}
}

// selfCPU is the CPU time this process has used, user and system.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openConn is one connection of an open-loop run. The scheduler writes
// requests; the reader matches responses by seqID to their intended send
// times, kept in slots (intended time + 1; 0 when free).
type openConn struct {
	c     net.Conn
	index int
	req   *request
	seq   int32
	slots []atomic.Int64
	hist  *hdr.Histogram
	errs  errCounts
	dead  bool // the scheduler stopped using it
}

const slotBits = 14 // requests in flight per connection

func runOpen(ctx context.Context, cfg LoadConfig, nc []net.Conn) (*LoadResult, error) {
	interval := 1e9 / cfg.Rate
	warm := int64(float64(cfg.Warmup) / interval)
	count := int64(float64(cfg.Duration) / interval)
	if cfg.MaxRequests > 0 && count > cfg.MaxRequests {
		count = cfg.MaxRequests
	}
	if count < 1 {
		count = 1
	}
	at := func(i int64) int64 { return int64(float64(i) * interval) }
	clk := clock{start: time.Now()}
	w := newWindow(at(warm), at(warm+count))

	wait, err := newWaiter(clk)
	if err != nil {
		return nil, err
	}
	defer wait.close()
	conns := make([]*openConn, len(nc))
	var inflight atomic.Int64
	var closing atomic.Bool
	var readers sync.WaitGroup
	for i, c := range nc {
		oc := &openConn{c: c, index: i, req: newRequest(cfg.Payload), slots: make([]atomic.Int64, 1<<slotBits),
			hist: newHistogram(), errs: errCounts{}}
		conns[i] = oc
		readers.Add(1)
		go func() {
			defer readers.Done()
			oc.read(clk, w, &inflight, &closing, cfg.Payload)
		}()
	}
	markDone := make(chan struct{})
	go func() { w.mark(ctx, clk, &cfg); close(markDone) }()

	lag := newHistogram()
	schedErrs := errCounts{}
	mask := int32(1<<slotBits - 1)
	total := warm + count
	for i := int64(0); i < total && ctx.Err() == nil; i++ {
		due := at(i)
		if now := clk.now(); now < due {
			wait.until(due)
		}
		oc := conns[i%int64(len(conns))]
		if oc.dead {
			schedErrs[errWrite]++
			continue
		}
		oc.seq++
		if oc.seq <= 0 {
			oc.seq = 1
		}
		slot := &oc.slots[oc.seq&mask]
		if !slot.CompareAndSwap(0, due+1) {
			schedErrs[errOverflow]++
			continue
		}
		oc.req.set(oc.seq, int64(oc.index)<<32|int64(uint32(oc.seq)))
		inflight.Add(1)
		sent := clk.now()
		if _, err := oc.c.Write(oc.req.frame); err != nil {
			if slot.CompareAndSwap(due+1, 0) {
				inflight.Add(-1)
			}
			schedErrs[errWrite]++
			oc.dead = true
			continue
		}
		if due >= w.start {
			record(lag, sent-due)
		}
	}
	<-markDone
	// Drain: wait for the last responses, then give up on the rest.
	deadline := time.Now().Add(cfg.Drain)
	for inflight.Load() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	closing.Store(true)
	for _, oc := range conns {
		oc.c.Close()
	}
	readers.Wait()

	res := &LoadResult{Mode: "open", Rate: cfg.Rate, Connections: len(conns), Payload: cfg.Payload,
		FrameBytes: len(conns[0].req.frame), ErrorKinds: map[string]int64{}}
	all := newHistogram()
	for _, oc := range conns {
		all.Merge(oc.hist)
		oc.errs.merge(res.ErrorKinds)
		for i := range oc.slots {
			if oc.slots[i].Load() != 0 {
				res.ErrorKinds[errNoResponse]++
			}
		}
	}
	schedErrs.merge(res.ErrorKinds)
	w.result(res)
	return finish(res, all, lag)
}

// read takes responses off one connection until it is closed.
func (oc *openConn) read(clk clock, w *window, inflight *atomic.Int64, closing *atomic.Bool, payload int) {
	fr := newFrameReader(oc.c, 64<<10)
	var h codec.Header
	mask := int32(1<<slotBits - 1)
	for {
		f, err := fr.next()
		if err != nil {
			if !closing.Load() {
				oc.errs[errRead]++
			}
			return
		}
		now := clk.now()
		seq, id, kind := checkReply(f, &h, payload)
		if kind == errBadFrame {
			oc.errs[kind]++
			continue
		}
		intended := oc.slots[seq&mask].Swap(0) - 1
		if intended < 0 {
			oc.errs[errUnexpected]++
			continue
		}
		inflight.Add(-1)
		w.responses.Add(1)
		if kind == "" && id != int64(oc.index)<<32|int64(uint32(seq)) {
			kind = errWrongID
		}
		if kind != "" {
			oc.errs[kind]++
			continue
		}
		w.good.Add(1)
		if intended >= w.start && intended < w.end {
			record(oc.hist, now-intended)
		}
	}
}

// closedCaller is one caller of a closed-loop run, on its own connection.
type closedCaller struct {
	c     net.Conn
	index int
	hist  *hdr.Histogram
	errs  errCounts
}

func runClosed(ctx context.Context, cfg LoadConfig, nc []net.Conn) (*LoadResult, error) {
	clk := clock{start: time.Now()}
	w := newWindow(int64(cfg.Warmup), int64(cfg.Warmup+cfg.Duration))
	var measured atomic.Int64
	callers := make([]*closedCaller, len(nc))
	var wg sync.WaitGroup
	for i, c := range nc {
		cc := &closedCaller{c: c, index: i, hist: newHistogram(), errs: errCounts{}}
		callers[i] = cc
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc.run(ctx, clk, w, &cfg, &measured)
		}()
	}
	w.mark(ctx, clk, &cfg)
	wg.Wait()
	res := &LoadResult{Mode: "closed", Callers: len(callers), Connections: len(callers), Payload: cfg.Payload,
		FrameBytes: len(newRequest(cfg.Payload).frame), ErrorKinds: map[string]int64{}}
	all := newHistogram()
	for _, cc := range callers {
		all.Merge(cc.hist)
		cc.errs.merge(res.ErrorKinds)
	}
	w.result(res)
	return finish(res, all, nil)
}

func (cc *closedCaller) run(ctx context.Context, clk clock, w *window, cfg *LoadConfig, measured *atomic.Int64) {
	req := newRequest(cfg.Payload)
	fr := newFrameReader(cc.c, 64<<10)
	var h codec.Header
	var seq int32
	// A blocked read must not outlive the window by more than the drain.
	go func() {
		select {
		case <-w.stop:
		case <-ctx.Done():
		}
		time.Sleep(cfg.Drain)
		cc.c.SetDeadline(time.Now())
	}()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		seq++
		if seq <= 0 {
			seq = 1
		}
		id := int64(cc.index)<<32 | int64(uint32(seq))
		req.set(seq, id)
		sent := clk.now()
		inWindow := sent >= w.start
		if inWindow && cfg.MaxRequests > 0 && measured.Load() >= cfg.MaxRequests {
			w.stopOnce.Do(func() { close(w.stop) })
			return
		}
		if _, err := cc.c.Write(req.frame); err != nil {
			cc.errs[errWrite]++
			return
		}
		f, err := fr.next()
		if err != nil {
			cc.errs[errNoResponse]++
			return
		}
		done := clk.now()
		w.responses.Add(1)
		rseq, rid, kind := checkReply(f, &h, cfg.Payload)
		switch {
		case kind != "":
		case rseq != seq:
			kind = errUnexpected
		case rid != id:
			kind = errWrongID
		}
		if kind != "" {
			cc.errs[kind]++
			continue
		}
		w.good.Add(1)
		if inWindow && sent < w.end {
			measured.Add(1)
			record(cc.hist, done-sent)
		}
	}
}

func finish(res *LoadResult, all, lag *hdr.Histogram) (*LoadResult, error) {
	for _, v := range res.ErrorKinds {
		res.Errors += v
	}
	if len(res.ErrorKinds) == 0 {
		res.ErrorKinds = nil
	}
	res.Measured = all.TotalCount()
	res.Latency = percentiles(all)
	if lag != nil {
		p := percentiles(lag)
		res.SendLag = &p
	}
	enc, err := all.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("bench load: encoding the histogram: %w", err)
	}
	res.Histogram = string(enc)
	return res, nil
}

// waiter sleeps until an instant on the run's clock with microsecond
// precision. Go's timers wake at millisecond granularity when the process
// is idle (the runtime's epoll wait takes milliseconds), far too coarse to
// pace 10k requests per second; a timerfd read through the runtime's
// poller wakes on time and leaves the thread free meanwhile.
type waiter struct {
	clk clock
	fd  int
	f   *os.File
	buf [8]byte
}

func newWaiter(clk clock) (*waiter, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("bench load: timerfd: %w", err)
	}
	return &waiter{clk: clk, fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

func (w *waiter) until(at int64) {
	d := at - w.clk.now()
	if d <= 0 {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d)}
	if err := unix.TimerfdSettime(w.fd, 0, &spec, nil); err != nil {
		time.Sleep(time.Duration(d))
		return
	}
	if _, err := w.f.Read(w.buf[:]); err != nil {
		time.Sleep(time.Duration(at - w.clk.now()))
	}
}

func (w *waiter) close() { w.f.Close() }
