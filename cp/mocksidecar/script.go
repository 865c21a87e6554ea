package mocksidecar

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/octomesh/octomesh/config"
)

// Script is what every simulated sidecar of a run does.
//
//	sidecar: {id: "web-${i}", app: "web-${i % 10}", zone: z1, auto_ack: true}
//	vars: {svc: echo}
//	steps:
//	  - connect: {}
//	  - subscribe: {names: ["${svc}"]}
//	  - expect: {name: "${svc}", endpoints: ["127.0.0.1:7001"]}
type Script struct {
	// Name describes the script in reports.
	Name string `yaml:"name"`
	// Count is the number of sidecars when the run does not say.
	Count   int               `yaml:"count"`
	Sidecar SidecarSpec       `yaml:"sidecar"`
	Vars    map[string]string `yaml:"vars"`
	Steps   []Step            `yaml:"steps"`
}

// SidecarSpec says who each simulated sidecar is.
type SidecarSpec struct {
	// ID and App name the node (node.id and node.cluster); defaults
	// "mock-${i}" and "mock".
	ID  string `yaml:"id"`
	App string `yaml:"app"`
	// Zone and Set are its locality.
	Zone string `yaml:"zone"`
	Set  string `yaml:"set"`
	// AutoAck ACKs every response as it arrives (default true); without
	// it, ack and nack steps answer responses.
	AutoAck *bool `yaml:"auto_ack"`
	// AppHeader sends the app in the stream's metadata (default true);
	// false plays an older sidecar that names it only in its node.
	AppHeader *bool `yaml:"app_header"`
	// MoveJitter: a sidecar that lost its pilot waits a random time up to
	// this long before connecting to the new owner Meta names (default
	// 2s, as a sidecar does), so that they do not all arrive at once.
	MoveJitter *Duration `yaml:"move_jitter"`
	// RouteStamps: every route resource the sidecar ACKs whose routes
	// name a stamped cluster (a name ending in ".t<Unix ns>", the time
	// whoever changed the rule stamped it) records the time from the
	// stamp to the ACK, once per stamp and resource, as the samples
	// RouteStampLabel (and the stamps themselves, in the same order, as
	// RouteStampAtLabel): rule-change latency without a step per change.
	RouteStamps bool `yaml:"route_stamps"`
}

// Step is one step: exactly one of the kinds, plus Name (for reports) and
// Sidecars (which sidecars run it: "all", "3", "0-9"; default all).
type Step struct {
	Name     string `yaml:"name"`
	Sidecars string `yaml:"sidecars"`

	Connect     *ConnectStep    `yaml:"connect"`
	Subscribe   *SubscribeStep  `yaml:"subscribe"`
	Unsubscribe *SubscribeStep  `yaml:"unsubscribe"`
	Expect      *ExpectStep     `yaml:"expect"`
	Quiet       *QuietStep      `yaml:"quiet"`
	Ack         *AnswerStep     `yaml:"ack"`
	Nack        *AnswerStep     `yaml:"nack"`
	AutoAck     *bool           `yaml:"auto_ack"`
	Sleep       *Duration       `yaml:"sleep"`
	Disconnect  *struct{}       `yaml:"disconnect"`
	Reconnect   *ReconnectStep  `yaml:"reconnect"`
	Repeat      *RepeatStep     `yaml:"repeat"`
	Barrier     *struct{}       `yaml:"barrier"`
	Assert      *AssertStep     `yaml:"assert"`
	Register    *RegisterStep   `yaml:"register"`
	Deregister  *DeregisterStep `yaml:"deregister"`
	Control     *ControlStep    `yaml:"control"`
	WaitMove    *WaitMoveStep   `yaml:"wait_move"`
}

// ConnectStep opens the stream: to the pilot Meta names for the app
// (following redirects), or to Pilot if given (or --pilot).
type ConnectStep struct {
	Pilot   string   `yaml:"pilot"`
	Timeout Duration `yaml:"timeout"`
}

// SubscribeStep subscribes to (or unsubscribes from) Names of Type:
// cluster, endpoint, route, listener; "" means cluster and endpoint, as a
// sidecar subscribes to a service.
type SubscribeStep struct {
	Type  string   `yaml:"type"`
	Names []string `yaml:"names"`
}

// ExpectStep waits (at most Timeout, default 10s) until what the sidecar
// has received matches every condition given.
type ExpectStep struct {
	// Type (default endpoint) and Name of the resource.
	Type string `yaml:"type"`
	Name string `yaml:"name"`
	// Version: exactly this version.
	Version string `yaml:"version"`
	// Endpoints: exactly these host:port (a ClusterLoadAssignment's).
	Endpoints []string `yaml:"endpoints"`
	// Weights: these endpoints with these weights (others may exist).
	Weights map[string]uint32 `yaml:"weights"`
	// Health: these endpoints with these health statuses (healthy,
	// unhealthy: marked down by the scanners, draining); others may exist.
	Health map[string]string `yaml:"health"`
	// Present: the resource exists; Absent: the pilot said it does not.
	Present bool `yaml:"present"`
	Absent  bool `yaml:"absent"`
	// Pilot: the stream is open to this pilot (its id).
	Pilot string `yaml:"pilot"`
	// Owner: the stream is open to the pilot Meta names for the app.
	Owner bool `yaml:"owner"`
	// Fresh: the resource arrived on the current stream (after the last
	// connect or reconnect), not before.
	Fresh bool `yaml:"fresh"`
	// LatencyFrom names an endpoint metadata key holding a Unix time in
	// nanoseconds (set by whoever changed the registry): the step's
	// latency is then from that time until the matching response arrived
	// (push latency), not the step's own time.
	LatencyFrom string `yaml:"latency_from"`
	// Since is a Unix time in nanoseconds (a variable, say from a file a
	// shell wrote when it killed an instance): the step's latency is then
	// from that time until the matching response arrived.
	Since string `yaml:"since"`
	// WakeQuiet (with LatencyFrom or Since, whose stamps time the step)
	// lets the step notice its match late: a response that arrives while
	// the step waits wakes it only once no response has reached any of
	// the process's sidecars for this long (at most 20 times it), so that
	// thousands of simulated sidecars run their next steps after a push
	// instead of inside it, competing with what the push measures. The
	// ACK still goes at once, and the latency is the response's arrival.
	WakeQuiet Duration `yaml:"wake_quiet"`
	Timeout   Duration `yaml:"timeout"`
}

// QuietStep fails if a response (of Type, if given) arrives within For.
type QuietStep struct {
	Type string   `yaml:"type"`
	For  Duration `yaml:"for"`
}

// AnswerStep ACKs or NACKs the oldest unanswered response (of Type, if
// given), waiting for one at most Timeout (default 10s).
type AnswerStep struct {
	Type    string   `yaml:"type"`
	Message string   `yaml:"message"`
	Timeout Duration `yaml:"timeout"`
}

// ReconnectStep ends the stream and opens a new one (through Meta or to
// the same pilot), sending the versions the sidecar holds, or Versions
// (type -> name -> version) instead: a sidecar whose versions differ from
// the pilot's (version skew).
type ReconnectStep struct {
	Versions map[string]map[string]string `yaml:"versions"`
	Timeout  Duration                     `yaml:"timeout"`
}

// RepeatStep runs Steps Count times; ${r} is the iteration (from 0).
type RepeatStep struct {
	Count int    `yaml:"count"`
	Steps []Step `yaml:"steps"`
}

// AssertStep checks a counter: the sidecar's own (connects, redirects,
// lookups, losses, moves, responses, acks, nacks, resources, removed) or,
// prefixed "pilot:", a line of its pilot's /stats (pilot:pilot.nacks).
type AssertStep struct {
	Counter string `yaml:"counter"`
	Equals  *int   `yaml:"equals"`
	Min     *int   `yaml:"min"`
	Max     *int   `yaml:"max"`
}

// RegisterStep registers (or, for the same service and address, updates)
// an instance through the registration API and keeps it alive until a
// deregister step or the end of the run.
type RegisterStep struct {
	Service  string            `yaml:"service"`
	App      string            `yaml:"app"`
	Address  string            `yaml:"address"`
	Weight   *uint32           `yaml:"weight"`
	Zone     string            `yaml:"zone"`
	Metadata map[string]string `yaml:"metadata"`
	TTL      Duration          `yaml:"ttl"`
}

// DeregisterStep revokes a registration made by a register step.
type DeregisterStep struct {
	Service string `yaml:"service"`
	Address string `yaml:"address"`
}

// ControlStep calls an action the harness provides (Options.Controls),
// such as stopping or starting a pilot in the regression suite.
type ControlStep struct {
	Action string            `yaml:"action"`
	Args   map[string]string `yaml:"args"`
}

// WaitMoveStep waits until the sidecar's stream has moved to another
// pilot than the one it had when the step began and a response there was
// ACKed (the time is reported as a move), or until Timeout (default 60s).
// With Optional, a sidecar whose pilot did not move passes at the timeout.
//
// With From, a sidecar that is not on pilot From passes at once, and one
// that is (or was, when its stream broke) waits until it is connected to
// another pilot.
type WaitMoveStep struct {
	From     string   `yaml:"from"`
	Timeout  Duration `yaml:"timeout"`
	Optional bool     `yaml:"optional"`
}

// stepKinds are Step's kind fields (pointers, but name and sidecars):
// their indexes and names, found once.
var stepKinds = func() (kinds []struct {
	index int
	name  string
}) {
	t := reflect.TypeFor[Step]()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "name" || tag == "sidecars" || t.Field(i).Type.Kind() != reflect.Pointer {
			continue
		}
		kinds = append(kinds, struct {
			index int
			name  string
		}{i, tag})
	}
	return kinds
}()

// kind returns the step's kind name and checks there is exactly one.
func (s *Step) kind() (string, error) {
	v := reflect.ValueOf(s).Elem()
	found := ""
	for _, k := range stepKinds {
		if v.Field(k.index).IsNil() {
			continue
		}
		if found != "" {
			return "", fmt.Errorf("a step has one kind; this one has %s and %s", found, k.name)
		}
		found = k.name
	}
	if found == "" {
		return "", errors.New("a step needs a kind (connect, subscribe, unsubscribe, expect, quiet, ack, nack, auto_ack, sleep, disconnect, reconnect, repeat, barrier, assert, register, deregister, control, wait_move)")
	}
	return found, nil
}

// Load reads a script file.
func Load(file string) (*Script, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mocksidecar: %w", err)
	}
	return Parse(file, data)
}

// Parse reads a script strictly and checks it: errors name the file, the
// line and the field path.
func Parse(file string, data []byte) (*Script, error) {
	s := &Script{}
	if err := config.DecodeYAML(file, data, s); err != nil {
		return nil, err
	}
	if s.Sidecar.ID == "" {
		s.Sidecar.ID = "mock-${i}"
	}
	if s.Sidecar.App == "" {
		s.Sidecar.App = "mock"
	}
	t := true
	if s.Sidecar.AutoAck == nil {
		s.Sidecar.AutoAck = &t
	}
	if s.Sidecar.AppHeader == nil {
		s.Sidecar.AppHeader = &t
	}
	if s.Sidecar.MoveJitter == nil {
		j := Duration(2 * time.Second)
		s.Sidecar.MoveJitter = &j
	}
	if s.Count < 0 {
		return nil, fmt.Errorf("%s: count: must not be negative", file)
	}
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("%s: steps: a script needs at least one step", file)
	}
	for name := range s.Vars {
		if reserved[name] {
			return nil, fmt.Errorf("%s: vars.%s: a built-in variable", file, name)
		}
	}
	known := map[string]bool{}
	for k := range reserved {
		known[k] = true
	}
	for k := range s.Vars {
		known[k] = true
	}
	for _, f := range []struct{ path, v string }{{"sidecar.id", s.Sidecar.ID}, {"sidecar.app", s.Sidecar.App}} {
		if err := checkVars(f.v, known); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", file, f.path, err)
		}
	}
	if err := checkSteps(s.Steps, "steps", known); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return s, nil
}

// reserved variables: i (sidecar index), r (innermost repeat iteration),
// id, app (the sidecar's), now (Unix nanoseconds when the step runs).
var reserved = map[string]bool{"i": true, "r": true, "id": true, "app": true, "now": true}

var kindTypes = map[string]bool{"": true, "cluster": true, "endpoint": true, "route": true, "listener": true}

func checkSteps(steps []Step, path string, known map[string]bool) error {
	for i := range steps {
		st := &steps[i]
		p := fmt.Sprintf("%s[%d]", path, i)
		k, err := st.kind()
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		if _, err := parseRange(st.Sidecars); err != nil {
			return fmt.Errorf("%s.sidecars: %v", p, err)
		}
		if err := walkStrings(reflect.ValueOf(st).Elem(), func(s string) error { return checkVars(s, known) }); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		p += "." + k
		switch k {
		case "subscribe", "unsubscribe":
			if !kindTypes[st.Subscribe.orElse(st.Unsubscribe).Type] {
				return fmt.Errorf("%s.type: want cluster, endpoint, route or listener", p)
			}
			if len(st.Subscribe.orElse(st.Unsubscribe).Names) == 0 {
				return fmt.Errorf("%s.names: at least one name", p)
			}
		case "expect":
			e := st.Expect
			if !kindTypes[e.Type] {
				return fmt.Errorf("%s.type: want cluster, endpoint, route or listener", p)
			}
			if e.Name == "" && e.Pilot == "" && !e.Owner {
				return fmt.Errorf("%s: give a resource name, a pilot or owner", p)
			}
			if e.Present && e.Absent {
				return fmt.Errorf("%s: present and absent", p)
			}
			for addr, h := range e.Health {
				if !healthNames[h] {
					return fmt.Errorf("%s.health[%s]: %q: want healthy, unhealthy or draining", p, addr, h)
				}
			}
			if e.LatencyFrom != "" && e.Since != "" {
				return fmt.Errorf("%s: latency_from and since", p)
			}
			if e.WakeQuiet < 0 || e.WakeQuiet > 0 && e.LatencyFrom == "" && e.Since == "" {
				return fmt.Errorf("%s.wake_quiet: a positive duration, with latency_from or since (a late wake must not count in the step's latency)", p)
			}
		case "quiet":
			if st.Quiet.For <= 0 {
				return fmt.Errorf("%s.for: a positive duration", p)
			}
		case "repeat":
			if st.Repeat.Count < 1 || st.Repeat.Count > 1000000 {
				return fmt.Errorf("%s.count: between 1 and 1000000", p)
			}
			if len(st.Repeat.Steps) == 0 {
				return fmt.Errorf("%s.steps: at least one step", p)
			}
			if err := checkSteps(st.Repeat.Steps, p+".steps", known); err != nil {
				return err
			}
		case "assert":
			a := st.Assert
			if a.Counter == "" || a.Equals == nil && a.Min == nil && a.Max == nil {
				return fmt.Errorf("%s: a counter and equals, min or max", p)
			}
			if !strings.HasPrefix(a.Counter, "pilot:") && !isCounter(a.Counter) {
				return fmt.Errorf("%s.counter: %q is not a counter (%s, or pilot:<stat>)", p, a.Counter, strings.Join(sortedCounters(), ", "))
			}
		case "register":
			if st.Register.Service == "" || st.Register.Address == "" {
				return fmt.Errorf("%s: service and address are required", p)
			}
		case "deregister":
			if st.Deregister.Service == "" || st.Deregister.Address == "" {
				return fmt.Errorf("%s: service and address are required", p)
			}
		case "control":
			if st.Control.Action == "" {
				return fmt.Errorf("%s.action: required", p)
			}
		}
	}
	return nil
}

func (s *SubscribeStep) orElse(o *SubscribeStep) *SubscribeStep {
	if s != nil {
		return s
	}
	return o
}

// walkStrings calls fn on every string in v (fields, lists, map values).
func walkStrings(v reflect.Value, fn func(string) error) error {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return walkStrings(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Name == "Steps" {
				continue // checked (and expanded) when they run
			}
			if err := walkStrings(v.Field(i), fn); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := walkStrings(v.Index(i), fn); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if err := walkStrings(iter.Key(), fn); err != nil {
				return err
			}
			if err := walkStrings(iter.Value(), fn); err != nil {
				return err
			}
		}
	case reflect.String:
		return fn(v.String())
	}
	return nil
}

var varRE = regexp.MustCompile(`\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:([%/+*-])\s*([0-9]+)\s*)?\}`)

func checkVars(s string, known map[string]bool) error {
	for _, m := range varRE.FindAllStringSubmatch(s, -1) {
		if !known[m[1]] {
			return fmt.Errorf("unknown variable ${%s}", m[1])
		}
		if m[2] == "%" || m[2] == "/" {
			if n, _ := strconv.Atoi(m[3]); n == 0 {
				return fmt.Errorf("${%s %s 0}", m[1], m[2])
			}
		}
	}
	if strings.Count(s, "${") != len(varRE.FindAllString(s, -1)) {
		return fmt.Errorf("%q: a ${...} that is not a variable (write ${name} or ${name %% N})", s)
	}
	return nil
}

// expand replaces variables; arithmetic applies to integer values.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		g := varRE.FindStringSubmatch(m)
		val := vars[g[1]]
		if g[1] == "now" {
			val = strconv.FormatInt(time.Now().UnixNano(), 10)
		}
		if g[2] == "" {
			return val
		}
		a, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return val
		}
		b, _ := strconv.ParseInt(g[3], 10, 64)
		switch g[2] {
		case "%":
			a %= b
		case "/":
			a /= b
		case "+":
			a += b
		case "-":
			a -= b
		case "*":
			a *= b
		}
		return strconv.FormatInt(a, 10)
	})
}

// expanded returns a copy of a step (not its nested steps) with every
// string expanded.
func expanded(st *Step, vars map[string]string) *Step {
	c := reflect.New(reflect.TypeFor[Step]())
	deepCopyExpand(c.Elem(), reflect.ValueOf(st).Elem(), vars)
	return c.Interface().(*Step)
}

// expansions caches steps' expansions for a run: a step's copy depends
// only on the values of the variables it names, so the sidecars that
// share them (often all: ${dir}, ${killed}) share one copy, read only.
// Thousands of sidecars starting the step after a push would otherwise
// each copy it by reflection at once.
type expansions struct {
	mu    sync.Mutex
	steps map[*Step]*stepExpansions
}

type stepExpansions struct {
	vars   []string // the variables the step names; nil with ok false: not cached (${now})
	ok     bool
	copies map[string]*Step
}

// maxExpansions bounds the copies kept per step (a step naming ${i} has
// one per sidecar: those are made each time).
const maxExpansions = 64

func (x *expansions) get(st *Step, vars map[string]string) *Step {
	x.mu.Lock()
	if x.steps == nil {
		x.steps = map[*Step]*stepExpansions{}
	}
	se := x.steps[st]
	if se == nil {
		se = &stepExpansions{ok: true, copies: map[string]*Step{}}
		seen := map[string]bool{}
		_ = walkStrings(reflect.ValueOf(st).Elem(), func(s string) error {
			for _, m := range varRE.FindAllStringSubmatch(s, -1) {
				if m[1] == "now" {
					se.ok = false
				}
				if !seen[m[1]] {
					seen[m[1]] = true
					se.vars = append(se.vars, m[1])
				}
			}
			return nil
		})
		x.steps[st] = se
	}
	if !se.ok {
		x.mu.Unlock()
		return expanded(st, vars)
	}
	var key strings.Builder
	for _, v := range se.vars {
		key.WriteString(vars[v])
		key.WriteByte(0)
	}
	if c := se.copies[key.String()]; c != nil {
		x.mu.Unlock()
		return c
	}
	full := len(se.copies) >= maxExpansions
	x.mu.Unlock()
	c := expanded(st, vars)
	if !full {
		x.mu.Lock()
		se.copies[key.String()] = c
		x.mu.Unlock()
	}
	return c
}

func deepCopyExpand(dst, src reflect.Value, vars map[string]string) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.New(src.Type().Elem()))
		deepCopyExpand(dst.Elem(), src.Elem(), vars)
	case reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			if src.Type().Field(i).Name == "Steps" {
				dst.Field(i).Set(src.Field(i))
				continue
			}
			deepCopyExpand(dst.Field(i), src.Field(i), vars)
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			deepCopyExpand(s.Index(i), src.Index(i), vars)
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			k := reflect.New(src.Type().Key()).Elem()
			deepCopyExpand(k, iter.Key(), vars)
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopyExpand(v, iter.Value(), vars)
			m.SetMapIndex(k, v)
		}
		dst.Set(m)
	case reflect.String:
		dst.SetString(expand(src.String(), vars))
	default:
		dst.Set(src)
	}
}

// parseRange reads a step's sidecars: "" or "all", "N", "A-B".
func parseRange(s string) ([2]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return [2]int{0, -1}, nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil || a < 0 {
		return [2]int{}, fmt.Errorf("%q: want all, N or A-B", s)
	}
	if !ok {
		return [2]int{a, a}, nil
	}
	b, err := strconv.Atoi(strings.TrimSpace(hi))
	if err != nil || b < a {
		return [2]int{}, fmt.Errorf("%q: want all, N or A-B", s)
	}
	return [2]int{a, b}, nil
}

// Duration is a time.Duration written as "250ms", "3s".
type Duration = config.Duration

// healthNames are the endpoint health statuses an expect step can name.
var healthNames = map[string]bool{"healthy": true, "unhealthy": true, "draining": true}
