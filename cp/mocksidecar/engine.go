package mocksidecar

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// Options configure a run.
type Options struct {
	// Meta is the Meta Server's address; sidecars ask it for their pilot.
	// Without it, Pilot is every sidecar's pilot.
	Meta, Pilot string
	// Registry is the registration API's address, for register and
	// deregister steps; default Meta (which serves it).
	Registry string
	// Count sidecars run, with indexes First to First+Count-1 (${i}).
	Count, First int
	// Ramp starts at most this many sidecars per second (0: all at once).
	Ramp int
	// Vars override the script's vars.
	Vars map[string]string
	// Controls are the actions control steps may call. What one returns
	// is set as variables for every sidecar's later steps (declare them
	// in the script's vars).
	Controls map[string]Control
	// Transport is how each simulated sidecar speaks gRPC: "lean" (the
	// default: HTTP/2 spoken directly, lean.go) or "grpc" (a gRPC-go
	// ClientConn per sidecar, as before; kept to measure the two side by
	// side).
	Transport string
	Log       *slog.Logger
}

// Control is an action of the harness, such as stopping a pilot.
type Control func(ctx context.Context, args map[string]string) (map[string]string, error)

type engine struct {
	ctx    context.Context
	opts   Options
	script *Script
	log    *slog.Logger
	meta   *meta.Client
	reg    *registry.Client

	mu       sync.Mutex
	lat      map[string][]time.Duration
	order    []string
	failures map[string]int
	errors   map[string][]string
	moves    []time.Duration
	moveEnds []int64 // Unix ns, one per move
	stampLat []time.Duration
	stampAt  []int64 // Unix ns, one per stampLat
	lastMove time.Time
	regs     map[string]*registry.Registration
	shared   map[string]string // set by controls
	quiet    quietWaker        // wakes held by wake_quiet steps

	expansions expansions
	names      sync.Map // stepAt -> stepName: each step's kind and label, worked out once

	barrierMu sync.Mutex
	alive     int
	barriers  map[string]*barrier
}

type barrier struct {
	arrived int
	open    chan struct{}
}

// Run runs opts.Count sidecars through the script and reports. It returns
// when every sidecar has finished its steps or failed, or ctx ends.
func Run(ctx context.Context, script *Script, opts Options) (*Report, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Count < 1 {
		return nil, errors.New("mocksidecar: count must be at least 1")
	}
	if opts.Meta == "" && opts.Pilot == "" {
		return nil, errors.New("mocksidecar: give Meta's address (or a pilot's)")
	}
	switch opts.Transport {
	case "":
		opts.Transport = TransportLean
	case TransportLean, TransportGRPC:
	default:
		return nil, fmt.Errorf("mocksidecar: transport %q: want %q or %q", opts.Transport, TransportLean, TransportGRPC)
	}
	e := &engine{ctx: ctx, opts: opts, script: script, log: opts.Log, lat: map[string][]time.Duration{},
		failures: map[string]int{}, errors: map[string][]string{}, regs: map[string]*registry.Registration{},
		barriers: map[string]*barrier{}, alive: opts.Count, shared: map[string]string{}}
	if opts.Meta != "" {
		m, err := meta.NewClient(opts.Meta)
		if err != nil {
			return nil, err
		}
		e.meta = m
		defer m.Close()
	}
	if opts.Registry == "" {
		opts.Registry = opts.Meta
	}
	if opts.Registry != "" {
		r, err := registry.NewClient(opts.Registry)
		if err != nil {
			return nil, err
		}
		e.reg = r
		defer r.Close()
	}
	vars := map[string]string{}
	for k, v := range script.Vars {
		vars[k] = v
	}
	for k, v := range opts.Vars {
		vars[k] = v
	}
	start := time.Now()
	var wg sync.WaitGroup
	sidecars := make([]*sidecar, opts.Count)
	failed := make([]bool, opts.Count)
	// The end of the run wakes every sidecar's wait (sidecar.wait does not
	// select on ctx: thousands parking on its one channel contend for it).
	var (
		startedMu sync.Mutex
		started   = 0
	)
	stopWake := context.AfterFunc(ctx, func() {
		startedMu.Lock()
		n := started
		startedMu.Unlock()
		for _, s := range sidecars[:n] {
			s.wake()
		}
	})
	defer stopWake()
	for n := range opts.Count {
		if opts.Ramp > 0 && n > 0 {
			due := start.Add(time.Duration(n) * time.Second / time.Duration(opts.Ramp))
			if !sleepCtx(ctx, time.Until(due)) {
				break
			}
		}
		i := opts.First + n
		v := make(map[string]string, len(vars)+4)
		for k, val := range vars {
			v[k] = val
		}
		v["i"] = strconv.Itoa(i)
		v["r"] = "0"
		id := expand(script.Sidecar.ID, v)
		v["id"] = id
		app := expand(script.Sidecar.App, v)
		v["app"] = app
		if err := config.CheckName(app); err != nil {
			return nil, fmt.Errorf("mocksidecar: sidecar %d: app: %v", i, err)
		}
		s := newSidecar(e, i, id, app, expand(script.Sidecar.Zone, v), expand(script.Sidecar.Set, v), *script.Sidecar.AutoAck)
		s.appHeader = *script.Sidecar.AppHeader
		s.lean = opts.Transport == TransportLean
		s.moveJitter = script.Sidecar.MoveJitter.Std()
		startedMu.Lock()
		sidecars[n] = s
		started = n + 1
		startedMu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer e.leaveBarriers()
			if err := e.steps(s, script.Steps, "", v); err != nil {
				failed[n] = true
				e.log.Warn("mocksidecar: sidecar failed", "sidecar", s.id, "err", err)
			}
		}()
	}
	wg.Wait()
	rep := e.report(sidecars, failed, time.Since(start))
	for _, s := range sidecars {
		if s != nil {
			s.close()
		}
	}
	e.mu.Lock()
	for _, r := range e.regs {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.Close(cctx)
		cancel()
	}
	e.mu.Unlock()
	return rep, nil
}

func (e *engine) record(label string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.lat[label]; !ok {
		e.order = append(e.order, label)
	}
	e.lat[label] = append(e.lat[label], d)
}

func (e *engine) fail(label, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.lat[label]; !ok {
		e.order = append(e.order, label)
		e.lat[label] = nil
	}
	e.failures[label]++
	if len(e.errors[label]) < 5 {
		e.errors[label] = append(e.errors[label], msg)
	}
}

func (e *engine) moved(d time.Duration, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.moves = append(e.moves, d)
	e.moveEnds = append(e.moveEnds, at.UnixNano())
	if at.After(e.lastMove) {
		e.lastMove = at
	}
}

func (e *engine) stamped(d time.Duration, stamp int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stampLat = append(e.stampLat, d)
	e.stampAt = append(e.stampAt, stamp)
}

// steps runs a list of steps for one sidecar; the first failure ends it.
func (e *engine) steps(s *sidecar, steps []Step, prefix string, vars map[string]string) error {
	for i := range steps {
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
		raw := &steps[i]
		k, label := e.name(raw, prefix, i)
		rng, _ := parseRange(raw.Sidecars)
		if rng[1] >= 0 && (s.index < rng[0] || s.index > rng[1]) {
			if k == "barrier" {
				e.barrier(label + "@" + vars["r"])
			}
			continue
		}
		if k == "repeat" {
			for r := range raw.Repeat.Count {
				v := make(map[string]string, len(vars))
				for key, val := range vars {
					v[key] = val
				}
				v["r"] = strconv.Itoa(r)
				if err := e.steps(s, raw.Repeat.Steps, label+"/", v); err != nil {
					return err
				}
			}
			continue
		}
		e.mu.Lock()
		if len(e.shared) > 0 {
			v := make(map[string]string, len(vars)+len(e.shared))
			for key, val := range vars {
				v[key] = val
			}
			for key, val := range e.shared {
				v[key] = val
			}
			vars = v
		}
		e.mu.Unlock()
		st := e.expansions.get(raw, vars)
		begin := time.Now()
		lat, err := e.step(s, k, st, label, vars)
		if err != nil {
			e.fail(label, fmt.Sprintf("sidecar %s: %v", s.id, err))
			return fmt.Errorf("%s: %w", label, err)
		}
		if lat < 0 {
			lat = time.Since(begin)
		}
		e.record(label, lat)
	}
	return nil
}

// stepAt is a step where it stands in the script.
type stepAt struct {
	step   *Step
	prefix string
}

type stepName struct{ kind, label string }

// name is the kind of the i-th step under prefix, and its label in the
// report: its name, else prefix, index and kind.
func (e *engine) name(raw *Step, prefix string, i int) (kind, label string) {
	key := stepAt{raw, prefix}
	if v, ok := e.names.Load(key); ok {
		n := v.(stepName)
		return n.kind, n.label
	}
	kind, _ = raw.kind() // checked by Parse
	label = raw.Name
	if label == "" {
		label = fmt.Sprintf("%s%d.%s", prefix, i, kind)
	}
	e.names.Store(key, stepName{kind, label})
	return kind, label
}

func timeout(d Duration, def time.Duration) time.Duration {
	if d > 0 {
		return d.Std()
	}
	return def
}

// step runs one step. It returns the latency to report: -1 for the
// step's own duration.
func (e *engine) step(s *sidecar, k string, st *Step, label string, vars map[string]string) (time.Duration, error) {
	switch k {
	case "connect":
		if _, ok := s.current(); ok {
			return -1, errors.New("already connected")
		}
		pilot := st.Connect.Pilot
		if pilot == "" && e.meta == nil {
			pilot = e.opts.Pilot
		}
		s.start(pilot, nil)
		return -1, e.awaitConnected(s, timeout(st.Connect.Timeout, 30*time.Second))
	case "reconnect":
		t, _ := s.current()
		s.stop()
		direct := ""
		if e.meta == nil {
			direct = t.xds
		}
		s.start(direct, st.Reconnect.Versions)
		return -1, e.awaitConnected(s, timeout(st.Reconnect.Timeout, 30*time.Second))
	case "disconnect":
		s.stop()
		return -1, nil
	case "subscribe", "unsubscribe":
		sub := st.Subscribe.orElse(st.Unsubscribe)
		types := []int{tCluster, tEndpoint}
		if sub.Type != "" {
			types = []int{typeNames[sub.Type]}
		}
		for _, ty := range types {
			req := &discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[ty]}
			s.mu.Lock()
			for _, n := range sub.Names {
				if k == "subscribe" {
					s.subs[ty][n] = true
				} else {
					delete(s.subs[ty], n)
					delete(s.state[ty], n)
					delete(s.acked[ty], n)
				}
			}
			s.mu.Unlock()
			if k == "subscribe" {
				req.ResourceNamesSubscribe = sub.Names
			} else {
				req.ResourceNamesUnsubscribe = sub.Names
			}
			if err := s.send(req); err != nil {
				return -1, fmt.Errorf("%s: %v", k, err)
			}
		}
		return -1, nil
	case "expect":
		return e.expect(s, st.Expect)
	case "quiet":
		ty := -1
		if st.Quiet.Type != "" {
			ty = typeNames[st.Quiet.Type]
		}
		count := func() int {
			if ty < 0 {
				return s.counts[cResponses]
			}
			return s.perType[ty]
		}
		s.mu.Lock()
		before := count()
		s.mu.Unlock()
		if s.wait(st.Quiet.For.Std(), func() bool { return count() != before }) {
			return -1, errors.New("a response arrived")
		}
		return -1, nil
	case "ack", "nack":
		a := st.Ack
		if k == "nack" {
			a = st.Nack
		}
		ty := -1
		if a.Type != "" {
			ty = typeNames[a.Type]
		}
		msg := ""
		if k == "nack" {
			msg = a.Message
			if msg == "" {
				msg = "mocksidecar: rejected by the script"
			}
		}
		return -1, s.answer(timeout(a.Timeout, 10*time.Second), ty, msg)
	case "auto_ack":
		s.mu.Lock()
		s.autoAck = *st.AutoAck
		s.mu.Unlock()
		return -1, nil
	case "sleep":
		sleepCtx(e.ctx, st.Sleep.Std())
		return -1, nil
	case "barrier":
		e.barrier(label + "@" + vars["r"])
		return -1, nil
	case "assert":
		return -1, e.assert(s, st.Assert)
	case "register":
		return -1, e.register(s, st.Register)
	case "deregister":
		key := st.Deregister.Service + "|" + st.Deregister.Address
		e.mu.Lock()
		r := e.regs[key]
		delete(e.regs, key)
		e.mu.Unlock()
		if r == nil {
			return -1, fmt.Errorf("deregister: %s %s was not registered by this run", st.Deregister.Service, st.Deregister.Address)
		}
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		defer cancel()
		return -1, r.Close(ctx)
	case "control":
		fn := e.opts.Controls[st.Control.Action]
		if fn == nil {
			names := make([]string, 0, len(e.opts.Controls))
			for n := range e.opts.Controls {
				names = append(names, n)
			}
			sort.Strings(names)
			return -1, fmt.Errorf("control: no action %q here (known: %s)", st.Control.Action, strings.Join(names, ", "))
		}
		out, err := fn(e.ctx, st.Control.Args)
		e.mu.Lock()
		for key, val := range out {
			e.shared[key] = val
		}
		e.mu.Unlock()
		return -1, err
	case "wait_move":
		s.mu.Lock()
		seq := s.moveSeq
		s.mu.Unlock()
		moved := func() bool { return s.moveSeq > seq }
		if from := st.WaitMove.From; from != "" {
			moved = func() bool { return s.connected && s.pilot.id != from }
		}
		if !s.wait(timeout(st.WaitMove.Timeout, time.Minute), moved) && !st.WaitMove.Optional {
			return -1, errors.New("the sidecar did not move to another pilot")
		}
		return -1, nil
	}
	return -1, fmt.Errorf("step kind %q", k)
}

func (e *engine) awaitConnected(s *sidecar, d time.Duration) error {
	if !s.wait(d, func() bool { return s.connected }) {
		if e.ctx.Err() != nil {
			return fmt.Errorf("the run ended before a pilot answered: %w", e.ctx.Err())
		}
		return fmt.Errorf("no response from a pilot within %s", d)
	}
	return nil
}

// expect waits until the sidecar's state matches.
func (e *engine) expect(s *sidecar, x *ExpectStep) (time.Duration, error) {
	ty := tEndpoint
	if x.Type != "" {
		ty = typeNames[x.Type]
	}
	want := append([]string(nil), x.Endpoints...)
	sort.Strings(want)
	var why string
	var lat time.Duration = -1
	if x.Owner {
		if err := e.awaitOwner(s, timeout(x.Timeout, 10*time.Second)); err != nil {
			return -1, err
		}
	}
	match := func() bool {
		if x.Pilot != "" && (!s.connected || s.pilot.id != x.Pilot) {
			why = fmt.Sprintf("connected to %q (connected: %v), want %q", s.pilot.id, s.connected, x.Pilot)
			return false
		}
		if x.Name == "" {
			return true
		}
		h := s.state[ty][x.Name]
		switch {
		case h == nil:
			why = fmt.Sprintf("nothing received for %s %s", typeNamesOf[ty], x.Name)
			return false
		case x.Fresh && h.at.Before(s.streamStart):
			why = fmt.Sprintf("%s %s has not arrived on this stream", typeNamesOf[ty], x.Name)
			return false
		case x.Absent:
			why = fmt.Sprintf("%s %s exists (version %s)", typeNamesOf[ty], x.Name, h.version)
			return !h.exists
		case !h.exists:
			why = fmt.Sprintf("%s %s does not exist", typeNamesOf[ty], x.Name)
			return false
		case x.Version != "" && h.version != x.Version:
			why = fmt.Sprintf("version %s, want %s", h.version, x.Version)
			return false
		case x.Endpoints != nil && strings.Join(h.endpoints, ",") != strings.Join(want, ","):
			why = fmt.Sprintf("endpoints %v, want %v", h.endpoints, want)
			return false
		}
		for addr, w := range x.Weights {
			if got, ok := h.weight(addr); !ok || got != w {
				why = fmt.Sprintf("weight of %s is %d (present: %v), want %d", addr, got, ok, w)
				return false
			}
		}
		for addr, want := range x.Health {
			if got, ok := h.healthOf(addr); !ok || got != want {
				why = fmt.Sprintf("health of %s is %q (present: %v), want %s", addr, got, ok, want)
				return false
			}
		}
		if x.Since != "" {
			ns, err := strconv.ParseInt(x.Since, 10, 64)
			if err != nil {
				why = fmt.Sprintf("since %q: not a Unix time in ns", x.Since)
				return false
			}
			lat = h.at.Sub(time.Unix(0, ns))
		}
		if x.LatencyFrom != "" {
			v, ok := h.meta(x.LatencyFrom)
			ns, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil {
				why = fmt.Sprintf("no endpoint metadata %q with a Unix time in ns", x.LatencyFrom)
				return false
			}
			lat = h.at.Sub(time.Unix(0, ns))
		}
		return true
	}
	if x.WakeQuiet > 0 {
		s.mu.Lock()
		s.wakeQuiet = time.Duration(x.WakeQuiet)
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.wakeQuiet = 0
			s.mu.Unlock()
		}()
	}
	if !s.wait(timeout(x.Timeout, 10*time.Second), match) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return -1, fmt.Errorf("not within the timeout: %s", why)
	}
	return lat, nil
}

// awaitOwner waits until the sidecar's stream is open to the pilot that
// Meta names for its app. It asks Meta once, then again only after the
// sidecar's state changed or a second passed.
func (e *engine) awaitOwner(s *sidecar, d time.Duration) error {
	if e.meta == nil {
		return errors.New("expect owner needs Meta")
	}
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		p, err := e.meta.Owner(ctx, s.app, "", 0)
		cancel()
		t, ok := s.current()
		if err == nil && ok && (t.id == p.ID || t.id == "" && t.xds == p.XDS) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("connected to %q (connected: %v); Meta names %q (%v)", t.id, ok, p.ID, err)
		}
		// Ask again when the sidecar's connection changes, or after a
		// second: thousands of sidecars must not poll Meta in a loop.
		s.mu.Lock()
		ch := s.watchLocked()
		s.mu.Unlock()
		tick := time.NewTimer(time.Second)
		select {
		case <-ch:
		case <-tick.C:
		case <-e.ctx.Done():
		}
		tick.Stop()
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
	}
}

func (e *engine) assert(s *sidecar, a *AssertStep) error {
	var got int
	if name, ok := strings.CutPrefix(a.Counter, "pilot:"); ok {
		t, _ := s.current()
		v, err := e.pilotStat(t.id, name)
		if err != nil {
			return err
		}
		got = v
	} else {
		c, _ := counterOf(a.Counter) // checked by Parse
		s.mu.Lock()
		got = s.counts[c]
		s.mu.Unlock()
	}
	switch {
	case a.Equals != nil && got != *a.Equals:
		return fmt.Errorf("%s is %d, want %d", a.Counter, got, *a.Equals)
	case a.Min != nil && got < *a.Min:
		return fmt.Errorf("%s is %d, want at least %d", a.Counter, got, *a.Min)
	case a.Max != nil && got > *a.Max:
		return fmt.Errorf("%s is %d, want at most %d", a.Counter, got, *a.Max)
	}
	return nil
}

// pilotStat reads one line of a pilot's /stats (its address from Meta).
func (e *engine) pilotStat(id, name string) (int, error) {
	if e.meta == nil {
		return 0, errors.New("pilot counters need Meta (to find the pilot's HTTP address)")
	}
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	a, err := e.meta.Assignment(ctx)
	if err != nil {
		return 0, err
	}
	addr := ""
	for _, p := range a.Pilots {
		if p.ID == id {
			addr = p.HTTP
		}
	}
	if addr == "" {
		return 0, fmt.Errorf("pilot %q has no HTTP address in Meta", id)
	}
	network, address, err := config.ParseAddress(addr)
	if err != nil || network != "tcp" {
		return 0, fmt.Errorf("pilot %q HTTP address %q: want host:port", id, addr)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, (&url.URL{Scheme: "http", Host: address, Path: "/stats"}).String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("pilot %s has no stat %q", id, name)
}

func (e *engine) register(s *sidecar, r *RegisterStep) error {
	if e.reg == nil {
		return errors.New("register: no registration API (give Meta or a registry address)")
	}
	in := registry.Instance{Service: r.Service, App: r.App, Address: r.Address, Weight: 1, Zone: r.Zone, Metadata: r.Metadata}
	if in.App == "" {
		in.App = r.Service
	}
	if r.Weight != nil {
		in.Weight = *r.Weight
	}
	ttl := timeout(r.TTL, 10*time.Second)
	key := r.Service + "|" + r.Address
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	e.mu.Lock()
	cur := e.regs[key]
	e.mu.Unlock()
	if cur != nil {
		return e.reg.Update(ctx, cur.Lease(), in)
	}
	reg, err := e.reg.Keep(ctx, in, ttl, e.log)
	if err != nil {
		return err
	}
	if reg.Lease() == 0 { // Keep goes on trying; a script wants to know now
		_ = reg.Close(ctx)
		return fmt.Errorf("register %s %s: the registration API did not take it", r.Service, r.Address)
	}
	e.mu.Lock()
	e.regs[key] = reg
	e.mu.Unlock()
	return nil
}

// barrier waits until every sidecar still running has reached it.
func (e *engine) barrier(key string) {
	e.barrierMu.Lock()
	b := e.barriers[key]
	if b == nil {
		b = &barrier{open: make(chan struct{})}
		e.barriers[key] = b
	}
	b.arrived++
	if b.arrived >= e.alive {
		select {
		case <-b.open:
		default:
			close(b.open)
		}
	}
	e.barrierMu.Unlock()
	select {
	case <-b.open:
	case <-e.ctx.Done():
	}
}

// leaveBarriers: a sidecar that finished (or failed) no longer holds
// barriers up.
func (e *engine) leaveBarriers() {
	e.barrierMu.Lock()
	defer e.barrierMu.Unlock()
	e.alive--
	for _, b := range e.barriers {
		if b.arrived >= e.alive {
			select {
			case <-b.open:
			default:
				close(b.open)
			}
		}
	}
}
