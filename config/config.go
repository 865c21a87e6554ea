package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is one sidecar's static configuration.
type Config struct {
	Node      Node       `yaml:"node"`
	Admin     Admin      `yaml:"admin"`
	Limits    Limits     `yaml:"limits"`
	Listeners []Listener `yaml:"listeners"`
	// HotRestart enables replacing the process without losing requests.
	HotRestart HotRestart `yaml:"hot_restart"`
	Clusters   []Cluster  `yaml:"clusters"`
	// XDS, when set, connects the sidecar to a pilot (see XDS).
	XDS *XDS `yaml:"xds"`
	// Identity, when set, is the sidecar's workload identity, which mutual
	// TLS needs (security.go).
	Identity *Identity `yaml:"identity"`

	file  string
	lines map[string]int
}

// Node says who this sidecar is.
type Node struct {
	ID   string `yaml:"id"`
	App  string `yaml:"app"`
	Zone string `yaml:"zone"`
	Set  string `yaml:"set"`
}

// Admin is the admin HTTP endpoint.
type Admin struct {
	// Address is host:port; empty disables the endpoint. An empty host
	// (":9901") means 127.0.0.1.
	Address string `yaml:"address"`
	// TokenFile names a file holding the admin token. When set, endpoints
	// that change the sidecar require "Authorization: Bearer <token>" from
	// every caller; when empty they accept only loopback callers.
	TokenFile string `yaml:"token_file"`
}

// Limits bound what the sidecar accepts.
type Limits struct {
	// MaxInflight bounds requests in flight in the whole sidecar.
	MaxInflight int `yaml:"max_inflight"`
	// MaxInflightPerConnection bounds requests in flight from one
	// downstream connection.
	MaxInflightPerConnection int `yaml:"max_inflight_per_connection"`
	// MaxFrameSize is the largest frame accepted, length prefix included.
	MaxFrameSize ByteSize `yaml:"max_frame_size"`
	// FrameTimeout is how long a started frame may take to arrive whole.
	FrameTimeout Duration `yaml:"frame_timeout"`
	// WriteTimeout bounds how long bytes wait for a peer that does not read.
	WriteTimeout Duration `yaml:"write_timeout"`
	// MaxConnections bounds each listener's open connections; one more is
	// closed as it is accepted (transport.refused).
	MaxConnections int `yaml:"max_connections"`
	// IdleTimeout closes a connection to a listener that has carried no
	// frame for this long and has no call in flight (transport.idle_closed);
	// 0 never does.
	IdleTimeout Duration `yaml:"idle_timeout"`
}

// HotRestart configures hand-over to a new process and draining.
type HotRestart struct {
	// Socket is the Unix socket a new process (octomesh proxy
	// --hot-restart) connects to for this one's listening sockets; empty
	// disables hot restart.
	Socket string `yaml:"socket"`
	// DrainTime bounds how long a process that handed over (or got
	// SIGTERM, or POST /drain) keeps serving its open connections.
	DrainTime Duration `yaml:"drain_time"`
	// ReadyTimeout bounds how long the old process waits for the new one
	// to serve before it gives up and keeps serving (rollback).
	ReadyTimeout Duration `yaml:"ready_timeout"`
}

// Listener accepts requests and routes them to clusters.
type Listener struct {
	Name string `yaml:"name"`
	// Address is unix:///path/to.sock, tcp://host:port or host:port.
	Address string  `yaml:"address"`
	Routes  []Route `yaml:"routes"`
	// Filters names the filters of the listener's chain, in the order a
	// call meets them; empty: every built-in filter, in the default order
	// (docs/governance.md). A filter that a route does not configure
	// costs that route nothing.
	Filters []string `yaml:"filters"`
	// MaxConnections and IdleTimeout, when set, replace the limits' for
	// this listener.
	MaxConnections int      `yaml:"max_connections"`
	IdleTimeout    Duration `yaml:"idle_timeout"`
	// TLS is the listener's mutual TLS mode (TCP only); nil: off.
	TLS *TLS `yaml:"tls"`
	// Authorization holds rule sets by service, checked against the
	// caller's identity from its certificate (the authz filter).
	Authorization []AuthzPolicy `yaml:"authorization"`
	// AuthorizationFromPilot names the services this listener serves
	// whose rule sets (Authorization documents) the pilot pushes: the
	// sidecar subscribes to their Listeners over its xds stream and
	// enforces their RBAC filters beside Authorization, which wins over a
	// pushed rule set of the same service or name. Needs the xds section
	// and tls.
	AuthorizationFromPilot []string `yaml:"authorization_from_pilot"`
}

// Route sends requests matching (service, method) to a cluster. "*" (the
// default) matches anything; an exact match wins over "*". A route with
// headers or tags matches only calls that carry them, and wins over routes
// without. Policies (policy.go) are optional.
type Route struct {
	Service string `yaml:"service"`
	Method  string `yaml:"method"`
	// Headers: TTHeader string info keys and values the call must carry.
	Headers map[string]string `yaml:"headers"`
	// Tags: tags the call must carry (sdk.WithTag; on the wire the string
	// info key TagKey(name)).
	Tags    map[string]string `yaml:"tags"`
	Cluster string            `yaml:"cluster"`
	// Split sends shares of the calls to several clusters by weight,
	// instead of one Cluster.
	Split []WeightedCluster `yaml:"split"`
	// Timeout overrides the cluster's request timeout. A route that sets
	// one also passes it on to the next hop in the call's header when the
	// caller sent no timeout of its own.
	Timeout   Duration   `yaml:"timeout"`
	Retry     *Retry     `yaml:"retry"`
	RateLimit *RateLimit `yaml:"rate_limit"`
	Fault     *Fault     `yaml:"fault"`
	Mirror    *Mirror    `yaml:"mirror"`
}

// Cluster is a set of endpoints and how to reach them.
type Cluster struct {
	Name     string    `yaml:"name"`
	Balancer string    `yaml:"balancer"`
	Locality *Locality `yaml:"locality"`
	// HashKey names the TTHeader string info key hashed by hash balancers.
	HashKey                  string   `yaml:"hash_key"`
	ConnectionsPerEndpoint   int      `yaml:"connections_per_endpoint"`
	MaxRequestsPerConnection int      `yaml:"max_requests_per_connection"`
	ConnectTimeout           Duration `yaml:"connect_timeout"`
	RequestTimeout           Duration `yaml:"request_timeout"`
	// IdleTimeout closes a connection to an endpoint that has carried
	// nothing for this long (0: never); the next request dials again. It
	// stays below the peers' limits.idle_timeout, so that this side closes
	// first.
	IdleTimeout Duration   `yaml:"idle_timeout"`
	Endpoints   []Endpoint `yaml:"endpoints"`
	// CircuitBreaker: nil means the defaults (NewCircuitBreaker).
	CircuitBreaker *CircuitBreaker `yaml:"circuit_breaker"`
	// RetryBudget: nil means the defaults (NewRetryBudget).
	RetryBudget *RetryBudget `yaml:"retry_budget"`
	// OutlierDetection: nil means none.
	OutlierDetection *OutlierDetection `yaml:"outlier_detection"`
	// TLS is the mode of connections to TCP endpoints: strict or off (nil).
	TLS *TLS `yaml:"tls"`
}

// Locality prefers endpoints in the node's SET, then its zone.
type Locality struct {
	// PanicThreshold is the healthy share (0..1) of the local group below
	// which requests spread to the wider set.
	PanicThreshold float64 `yaml:"panic_threshold"`
}

// Endpoint is one instance of a cluster.
type Endpoint struct {
	Address  string            `yaml:"address"`
	Weight   uint32            `yaml:"weight"`
	Zone     string            `yaml:"zone"`
	Set      string            `yaml:"set"`
	Metadata map[string]string `yaml:"metadata"`
	// Unhealthy: central health checking (the scanners) marked it down;
	// it arrives over xDS (HealthStatus UNHEALTHY), never from a file.
	// Balancers skip it while the group's healthy share stays above the
	// panic threshold.
	Unhealthy bool `yaml:"-"`
}

func (c *Config) setDefaults() {
	c.HotRestart = HotRestart{DrainTime: Duration(10 * time.Second), ReadyTimeout: Duration(10 * time.Second)}
	c.Limits = Limits{
		MaxInflight:              10000,
		MaxInflightPerConnection: 1000,
		MaxFrameSize:             4 << 20,
		FrameTimeout:             Duration(5 * time.Second),
		WriteTimeout:             Duration(5 * time.Second),
		MaxConnections:           10000,
		IdleTimeout:              Duration(5 * time.Minute),
	}
}

func (c *Cluster) setDefaults() {
	*c = Cluster{
		Balancer:                 "round_robin",
		ConnectionsPerEndpoint:   2,
		MaxRequestsPerConnection: 1000,
		ConnectTimeout:           Duration(time.Second),
		RequestTimeout:           Duration(3 * time.Second),
		IdleTimeout:              Duration(4 * time.Minute),
	}
}

func (l *Locality) setDefaults() { l.PanicThreshold = 0.7 }

// NewCluster returns a cluster named name with every default set, for
// configuration that does not come from a file (the control plane).
func NewCluster(name string) Cluster {
	var c Cluster
	c.setDefaults()
	c.Name = name
	return c
}

// NewEndpoint returns an endpoint at address with the default weight.
func NewEndpoint(address string) Endpoint {
	e := Endpoint{Address: address}
	e.setDefaults()
	return e
}

// NewRoute returns a route of any service and method to cluster.
func NewRoute(cluster string) Route {
	var r Route
	r.setDefaults()
	r.Cluster = cluster
	return r
}

func (e *Endpoint) setDefaults() { e.Weight = 1 }

func (r *Route) setDefaults() { r.Service, r.Method = "*", "*" }

// Load reads and validates a config file.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(file, data)
}

// Parse decodes and validates YAML; file names the source in errors.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{file: file}
	lines, err := decodeYAML(file, data, c)
	if err != nil {
		return nil, err
	}
	c.lines = lines
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeYAML decodes one YAML document into v, a pointer to a struct with
// yaml tags, as strictly as a config file: unknown and repeated keys are
// errors, Duration and ByteSize fields take "3s" and "64KiB", and an error
// is an *Error naming file, line and field path. For the project's other
// YAML inputs (Mock-Sidecar scripts).
func DecodeYAML(file string, data []byte, v any) error {
	_, err := decodeYAML(file, data, v)
	return err
}

// decodeYAML returns, besides DecodeYAML's error, the line of every field
// path, for errors found later.
func decodeYAML(file string, data []byte, v any) (map[string]int, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Msg: "the file holds no YAML: it is empty, or only comments"}
		}
		return nil, syntaxError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(file, data, err)
	}
	d := decoder{lines: map[string]int{}, budget: nodeBudget(len(data))}
	if err := d.decode(&root, reflect.ValueOf(v), ""); err != nil {
		var pe *pathError
		if errors.As(err, &pe) {
			return nil, &Error{File: file, Line: pe.line, Path: pe.path, Msg: pe.msg}
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return d.lines, nil
}

// File is the file the config came from.
func (c *Config) File() string { return c.file }

// Errorf reports a problem with the field at path ("clusters[0].balancer")
// as "file:line: path: message", for checks made outside this package. A
// field the file leaves out (a required one that is missing) is reported
// at the line of the nearest enclosing field the file has.
func (c *Config) Errorf(path, format string, args ...any) error {
	return &Error{File: c.file, Line: c.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

// lineOf is the line of the field at path, or of its nearest enclosing
// field that the file has: "listeners[0].name" falls back to
// "listeners[0]", then "listeners", then the document ("").
func (c *Config) lineOf(path string) int {
	for {
		if line := c.lines[path]; line > 0 {
			return line
		}
		if path == "" {
			return 0
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
}

// Error is a problem at one place in a config file.
type Error struct {
	File string
	Line int // 0 when unknown
	Path string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Path == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Path + ": " + e.Msg
}

func (c *Config) validate() error {
	l := &c.Limits
	switch {
	case l.MaxInflight < 1:
		return c.Errorf("limits.max_inflight", "must be at least 1")
	case l.MaxInflightPerConnection < 1:
		return c.Errorf("limits.max_inflight_per_connection", "must be at least 1")
	case l.MaxFrameSize < 1024 || l.MaxFrameSize > 1<<30:
		return c.Errorf("limits.max_frame_size", "must be between 1KiB and 1GiB")
	case l.FrameTimeout <= 0:
		return c.Errorf("limits.frame_timeout", "must be positive")
	case l.WriteTimeout <= 0:
		return c.Errorf("limits.write_timeout", "must be positive")
	case l.MaxConnections < 1:
		return c.Errorf("limits.max_connections", "must be at least 1")
	}
	switch h := c.HotRestart; {
	case len(h.Socket) > 107:
		return c.Errorf("hot_restart.socket", "path is longer than the 107 bytes a Unix socket allows")
	case h.DrainTime <= 0:
		return c.Errorf("hot_restart.drain_time", "must be positive")
	case h.ReadyTimeout <= 0:
		return c.Errorf("hot_restart.ready_timeout", "must be positive")
	}
	clusters := map[string]bool{}
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		p := fmt.Sprintf("clusters[%d]", i)
		if err := c.validateCluster(cl, p); err != nil {
			return err
		}
		if clusters[cl.Name] {
			return c.Errorf(p+".name", "cluster %q defined twice", cl.Name)
		}
		clusters[cl.Name] = true
	}
	if len(c.Listeners) == 0 {
		return c.Errorf("listeners", "at least one listener is needed")
	}
	if err := c.validateXDS(); err != nil {
		return err
	}
	if err := c.checkIdentity(); err != nil {
		return err
	}
	names, addrs := map[string]bool{}, map[string]bool{}
	for i := range c.Listeners {
		ln := &c.Listeners[i]
		p := fmt.Sprintf("listeners[%d]", i)
		if ln.Name == "" {
			return c.Errorf(p+".name", "missing")
		}
		if names[ln.Name] {
			return c.Errorf(p+".name", "listener %q defined twice", ln.Name)
		}
		names[ln.Name] = true
		if _, _, err := ParseAddress(ln.Address); err != nil {
			return c.Errorf(p+".address", "%v", err)
		}
		if addrs[ln.Address] {
			return c.Errorf(p+".address", "%s is used by another listener", ln.Address)
		}
		addrs[ln.Address] = true
		if ln.MaxConnections < 0 {
			return c.Errorf(p+".max_connections", "must not be negative (0 or absent: limits.max_connections)")
		}
		if len(ln.Routes) == 0 && (c.XDS == nil || c.XDS.Listener != ln.Name) {
			return c.Errorf(p+".routes", "a listener needs at least one route (only the listener named by xds.listener may start with none)")
		}
		if fe := CheckRoutes(ln.Routes, clusters); fe != nil {
			return c.Errorf(p+"."+fe.Field, "%s", fe.Msg)
		}
		if err := c.checkListenerSecurity(ln, p); err != nil {
			return err
		}
	}
	if x := c.XDS; x != nil && x.TLS.ModeOf() != TLSOff {
		network := "tcp"
		if x.Pilot != "" {
			network, _, _ = ParseAddress(x.Pilot)
		}
		if fe := checkTLS(x.TLS, network, true); fe != nil {
			return c.Errorf("xds."+fe.Field, "%s", strings.Replace(fe.Msg, "a cluster", "the xds stream", 1))
		}
		if c.Identity == nil {
			return c.Errorf("xds.tls.mode", "mutual TLS needs the identity section (a certificate to present)")
		}
	}
	if x := c.XDS; x != nil && x.ClusterTLS.ModeOf() != TLSOff {
		if fe := checkTLS(x.ClusterTLS, "tcp", true); fe != nil {
			return c.Errorf("xds.cluster_tls."+strings.TrimPrefix(fe.Field, "tls."), "%s", fe.Msg)
		}
		if c.Identity == nil {
			return c.Errorf("xds.cluster_tls.mode", "mutual TLS needs the identity section (a certificate to present)")
		}
	}
	for i := range c.Clusters {
		if c.Clusters[i].TLS.ModeOf() != TLSOff && c.Identity == nil {
			return c.Errorf(fmt.Sprintf("clusters[%d].tls.mode", i), "mutual TLS needs the identity section (a certificate to present)")
		}
	}
	return nil
}

func (c *Config) checkListenerSecurity(ln *Listener, p string) error {
	network, _, _ := ParseAddress(ln.Address)
	if fe := checkTLS(ln.TLS, network, false); fe != nil {
		return c.Errorf(p+"."+fe.Field, "%s", fe.Msg)
	}
	if ln.TLS.ModeOf() != TLSOff && c.Identity == nil {
		return c.Errorf(p+".tls.mode", "mutual TLS needs the identity section (a certificate to present)")
	}
	if fe := CheckAuthorization(ln.Authorization); fe != nil {
		return c.Errorf(p+"."+fe.Field, "%s", fe.Msg)
	}
	if len(ln.Authorization) > 0 && ln.TLS.ModeOf() == TLSOff {
		return c.Errorf(p+".authorization", "needs tls.mode strict (or permissive): callers are known only by their certificates, never by a header")
	}
	seen := map[string]bool{}
	for i, s := range ln.AuthorizationFromPilot {
		f := fmt.Sprintf("%s.authorization_from_pilot[%d]", p, i)
		if err := CheckName(s); err != nil {
			return c.Errorf(f, "%v", err)
		}
		if seen[s] {
			return c.Errorf(f, "service %q named twice", s)
		}
		seen[s] = true
	}
	if len(ln.AuthorizationFromPilot) > 0 {
		if c.XDS == nil {
			return c.Errorf(p+".authorization_from_pilot", "needs the xds section: the rule sets come from the pilot")
		}
		if ln.TLS.ModeOf() == TLSOff {
			return c.Errorf(p+".authorization_from_pilot", "needs tls.mode strict (or permissive): callers are known only by their certificates, never by a header")
		}
	}
	return nil
}

// MergeAuthorization is a listener's rule sets: its static ones, then the
// pushed ones, except a pushed rule set whose service or name a static one
// has (the static one wins; shadowed lists the pushed ones left out).
func MergeAuthorization(static, pushed []AuthzPolicy) (merged []AuthzPolicy, shadowed []string) {
	if len(pushed) == 0 {
		return static, nil
	}
	names, services := map[string]bool{}, map[string]bool{}
	merged = append(merged, static...)
	for _, p := range static {
		names[p.Name], services[p.Service] = true, true
	}
	for _, p := range pushed {
		if names[p.Name] || services[p.Service] {
			shadowed = append(shadowed, p.Name)
			continue
		}
		names[p.Name], services[p.Service] = true, true
		merged = append(merged, p)
	}
	return merged, shadowed
}

func (c *Config) validateCluster(cl *Cluster, p string) error {
	if fe := cl.Check(); fe != nil {
		return c.Errorf(p+"."+fe.Field, "%s", fe.Msg)
	}
	return nil
}

// FieldError is a problem with one field of a config object, relative to
// the object ("endpoints[1].address").
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Check validates a cluster on its own.
func (cl *Cluster) Check() *FieldError {
	switch {
	case cl.Name == "":
		return &FieldError{"name", "missing"}
	case cl.Balancer == "":
		return &FieldError{"balancer", "must not be empty"}
	case cl.ConnectionsPerEndpoint < 1 || cl.ConnectionsPerEndpoint > 64:
		return &FieldError{"connections_per_endpoint", "must be between 1 and 64"}
	case cl.MaxRequestsPerConnection < 1 || cl.MaxRequestsPerConnection > 1<<16:
		return &FieldError{"max_requests_per_connection", "must be between 1 and 65536"}
	case cl.ConnectTimeout <= 0:
		return &FieldError{"connect_timeout", "must be positive"}
	case cl.RequestTimeout <= 0:
		return &FieldError{"request_timeout", "must be positive"}
	case cl.Locality != nil && (cl.Locality.PanicThreshold < 0 || cl.Locality.PanicThreshold > 1):
		return &FieldError{"locality.panic_threshold", "must be between 0 and 1"}
	}
	if fe := cl.checkPolicies(); fe != nil {
		return fe
	}
	if fe := checkTLS(cl.TLS, "tcp", true); fe != nil {
		return fe
	}
	seen := map[string]bool{}
	for j, e := range cl.Endpoints {
		f := fmt.Sprintf("endpoints[%d].address", j)
		network, _, err := ParseAddress(e.Address)
		if err != nil {
			return &FieldError{f, err.Error()}
		}
		if network == "unix" && cl.TLS.ModeOf() != TLSOff {
			return &FieldError{f, "a Unix socket endpoint (the local app) stays plain: this cluster's tls.mode is " + cl.TLS.Mode}
		}
		if seen[e.Address] {
			return &FieldError{f, "endpoint " + e.Address + " listed twice"}
		}
		seen[e.Address] = true
	}
	return nil
}

// CheckRoutes validates a listener's routes against the set of cluster
// names they may use. An empty list is valid here (a listener whose routes
// all come from the control plane may have none yet); a static listener's
// need for at least one route is checked by Parse.
func CheckRoutes(routes []Route, clusters map[string]bool) *FieldError {
	matches := map[string]bool{}
	for j := range routes {
		r := &routes[j]
		rp := fmt.Sprintf("routes[%d]", j)
		if r.Service == "" || r.Method == "" {
			return &FieldError{rp, `service and method must not be empty (use "*" for any)`}
		}
		if fe := r.checkPolicies(); fe != nil {
			return &FieldError{rp + "." + fe.Field, fe.Msg}
		}
		if fe := checkClusterNames(r, clusters); fe != nil {
			return &FieldError{rp + "." + fe.Field, fe.Msg}
		}
		k := r.MatchKey()
		if matches[k] {
			return &FieldError{rp, "another route already matches " + r.describeMatch()}
		}
		matches[k] = true
	}
	return nil
}

// checkClusterNames checks that every cluster a route names is known.
func checkClusterNames(r *Route, clusters map[string]bool) *FieldError {
	unknown := func(field, name string) *FieldError {
		return &FieldError{field, fmt.Sprintf("unknown cluster %q (known: %s)", name, strings.Join(sortedSet(clusters), ", "))}
	}
	if r.Cluster != "" && !clusters[r.Cluster] {
		return unknown("cluster", r.Cluster)
	}
	for i, w := range r.Split {
		if !clusters[w.Cluster] {
			return unknown(fmt.Sprintf("split[%d].cluster", i), w.Cluster)
		}
	}
	if m := r.Mirror; m != nil && !clusters[m.Cluster] {
		return unknown("mirror.cluster", m.Cluster)
	}
	return nil
}

// ParseAddress splits "unix:///path", "unix:path", "tcp://host:port" or
// "host:port" into a network and an address.
func ParseAddress(s string) (network, address string, err error) {
	switch {
	case s == "":
		return "", "", errors.New("address missing")
	case strings.HasPrefix(s, "unix://"):
		network, address = "unix", strings.TrimPrefix(s, "unix://")
	case strings.HasPrefix(s, "unix:"):
		network, address = "unix", strings.TrimPrefix(s, "unix:")
	case strings.HasPrefix(s, "tcp://"):
		network, address = "tcp", strings.TrimPrefix(s, "tcp://")
	case strings.Contains(s, "://"):
		return "", "", fmt.Errorf("address %q: unknown scheme (use unix:// or tcp://)", s)
	default:
		network, address = "tcp", s
	}
	if network == "unix" {
		if address == "" {
			return "", "", fmt.Errorf("address %q has no socket path", s)
		}
		if len(address) > 107 {
			return "", "", fmt.Errorf("socket path %q is longer than the 107 bytes a Unix socket allows", address)
		}
		return network, address, nil
	}
	_, port, err := net.SplitHostPort(address)
	if err != nil || port == "" || strings.Trim(port, "0123456789") != "" {
		return "", "", fmt.Errorf("address %q is not host:port", s)
	}
	return network, address, nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
