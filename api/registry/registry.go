package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh/config"
)

// TTL bounds. etcd refuses leases much shorter than its election timeout.
const (
	MinTTL     = 2 * time.Second
	MaxTTL     = 5 * time.Minute
	DefaultTTL = 10 * time.Second
)

// Kinds of error, for errors.Is.
var (
	// ErrInvalid: a registration, route rule, policy or name the registry
	// refuses.
	ErrInvalid = errors.New("registry: invalid")
	// ErrLeaseNotFound: the lease expired or was revoked; register again.
	ErrLeaseNotFound = errors.New("registry: lease not found")
	// ErrUnavailable: the store could not be reached.
	ErrUnavailable = errors.New("registry: unavailable")
	// ErrForbidden: an authenticated registration API (mutual TLS) refused
	// the caller: its certificate's app may not do this (register another
	// app's instance or service, renew another app's lease, write another
	// app's rules).
	ErrForbidden = errors.New("registry: forbidden")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Instance is one instance of a service, as registered. Address is where
// peer sidecars reach it: its own sidecar's inbound TCP address.
type Instance struct {
	Service string `json:"service"`
	App     string `json:"app"`
	Address string `json:"address"`
	// Weight is the instance's relative share; 0 keeps it registered but
	// takes it out of balancing (draining).
	Weight   uint32            `json:"weight"`
	Zone     string            `json:"zone,omitempty"`
	Set      string            `json:"set,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Weight bound, as Envoy's load_balancing_weight sums must fit in 32 bits.
const maxWeight = 1 << 20

// Validate reports what is wrong with in, naming the field.
func (in *Instance) Validate() error {
	if err := config.CheckName(in.Service); err != nil {
		return invalidf("service: %v", err)
	}
	if err := config.CheckName(in.App); err != nil {
		return invalidf("app: %v", err)
	}
	if _, _, err := SplitAddress(in.Address); err != nil {
		return invalidf("address: %v", err)
	}
	if in.Weight > maxWeight {
		return invalidf("weight: %d is more than %d", in.Weight, maxWeight)
	}
	for f, v := range map[string]string{"zone": in.Zone, "set": in.Set} {
		if v != "" {
			if err := config.CheckName(v); err != nil {
				return invalidf("%s: %v", f, err)
			}
		}
	}
	if len(in.Metadata) > 64 {
		return invalidf("metadata: %d keys, at most 64", len(in.Metadata))
	}
	for k, v := range in.Metadata {
		if k == "" || len(k) > 128 || len(v) > 1024 {
			return invalidf("metadata: key %.40q: keys are 1-128 bytes, values at most 1024", k)
		}
	}
	return nil
}

// SplitAddress splits an instance address, host:port or tcp://host:port
// with a numeric port from 1 to 65535, into host and port.
func SplitAddress(addr string) (host string, port uint32, err error) {
	network, a, err := config.ParseAddress(addr)
	if err != nil {
		return "", 0, err
	}
	if network != "tcp" {
		return "", 0, fmt.Errorf("%q: an instance is reached over TCP (host:port)", addr)
	}
	host, p, _ := net.SplitHostPort(a) // ParseAddress checked the form
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 || host == "" {
		return "", 0, fmt.Errorf("%q: want host:port with a port from 1 to 65535", addr)
	}
	return host, uint32(n), nil
}

// EncodeInstance is an instance's stored form: its JSON, as in the API.
func EncodeInstance(in Instance) ([]byte, error) { return json.Marshal(in) }

// DecodeInstance reads a stored instance and validates it: the store may
// hold values written by other tools.
func DecodeInstance(b []byte) (Instance, error) {
	var in Instance
	if err := json.Unmarshal(b, &in); err != nil {
		return in, invalidf("instance: %v", err)
	}
	return in, in.Validate()
}

// RouteRule is one route of an app's outbound calls: calls matching
// (Service, Method) and carrying Headers and Tags go to Cluster (or are
// split by weight), with the route's policies. Its fields are config.Route's,
// with the same meanings and validation (config.CheckRoutes), in the same
// order (Route converts); in JSON they have the YAML names of a sidecar's
// config file. Without rules, a call to service S goes to the instances of
// S.
type RouteRule struct {
	// Service is the called service, or "*" for any.
	Service string `json:"service"`
	// Method is the called method, or "*" (the default) for any.
	Method string `json:"method,omitempty"`
	// Headers: TTHeader string info keys and values the call must carry.
	Headers map[string]string `json:"headers,omitempty"`
	// Tags: tags the call must carry (on the wire the string info key
	// config.TagKey(name)).
	Tags map[string]string `json:"tags,omitempty"`
	// Cluster is the service whose instances take the calls; it defaults
	// to Service (unless Split is given), and is required when Service is
	// "*".
	Cluster string `json:"cluster,omitempty"`
	// Split shares the calls among several clusters by weight instead.
	Split []config.WeightedCluster `json:"split,omitempty"`
	// Timeout overrides the default request timeout ("10s"; 0: none).
	Timeout   config.Duration   `json:"timeout,omitempty"`
	Retry     *config.Retry     `json:"retry,omitempty"`
	RateLimit *config.RateLimit `json:"rate_limit,omitempty"`
	Fault     *config.Fault     `json:"fault,omitempty"`
	Mirror    *config.Mirror    `json:"mirror,omitempty"`
}

// Route is the rule as a sidecar's route.
func (r *RouteRule) Route() config.Route { return config.Route(*r) }

// AppRoutes is an app's route rules: the body of /v1/routes/{app}, and
// what the store keeps for the app.
type AppRoutes struct {
	Routes []RouteRule `json:"routes"`
}

// Normalize fills defaults; Validate expects normalized rules.
func (r *RouteRule) Normalize() {
	if r.Method == "" {
		r.Method = "*"
	}
	if r.Cluster == "" && len(r.Split) == 0 && r.Service != "*" {
		r.Cluster = r.Service
	}
}

// maxRules bounds the rules of one app or service.
const maxRules = 1000

// Validate checks normalized rules as the pilot's API accepts them: names,
// every policy as a sidecar's config file checks it, and at most one rule
// per match (service, method, headers and tags). Errors name the field:
// "routes[1].retry.attempts: must be between 1 and 10".
func (a *AppRoutes) Validate() error { return checkRules(a.Routes) }

func checkRules(rules []RouteRule) error {
	if len(rules) > maxRules {
		return invalidf("routes: %d rules, at most %d", len(rules), maxRules)
	}
	routes := make([]config.Route, len(rules))
	clusters := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		p := fmt.Sprintf("routes[%d]", i)
		if r.Service != "*" {
			if err := config.CheckName(r.Service); err != nil {
				return invalidf("%s.service: %v", p, err)
			}
		}
		if r.Method != "*" {
			if err := config.CheckName(r.Method); err != nil {
				return invalidf("%s.method: %v", p, err)
			}
		}
		var named [][2]string // field, cluster name
		if r.Cluster != "" {
			named = append(named, [2]string{p + ".cluster", r.Cluster})
		}
		for j, w := range r.Split {
			named = append(named, [2]string{fmt.Sprintf("%s.split[%d].cluster", p, j), w.Cluster})
		}
		if r.Mirror != nil && r.Mirror.Cluster != "" {
			named = append(named, [2]string{p + ".mirror.cluster", r.Mirror.Cluster})
		}
		for _, n := range named {
			if err := config.CheckName(n[1]); err != nil {
				return invalidf("%s: %v", n[0], err)
			}
			clusters[n[1]] = true
		}
		routes[i] = r.Route()
	}
	if fe := config.CheckRoutes(routes, clusters); fe != nil {
		return invalidf("%s: %s", fe.Field, fe.Msg)
	}
	return nil
}

// DecodeRoutes reads stored rules and normalizes them. It does not
// validate: the pilot passes on what the store holds, and a sidecar refuses
// (NACKs) what it cannot apply. The policies decode strictly (an unknown
// field is an error), as they do in the API.
func DecodeRoutes(b []byte) (AppRoutes, error) {
	var a AppRoutes
	if err := json.Unmarshal(b, &a); err != nil {
		return a, invalidf("routes: %v", err)
	}
	for i := range a.Routes {
		a.Routes[i].Normalize()
	}
	return a, nil
}

// ServicePolicy is what a service's owner sets for every caller of the
// service, stored as it is given: the cluster's policies (nil: the
// sidecar's defaults, see config.Cluster) and the service's own route
// rules. The rules apply to proxyless gRPC clients, which have no app rules
// (the pilot puts them in the service's Listener); a sidecar follows its
// app's rules (AppRoutes) and not these.
type ServicePolicy struct {
	CircuitBreaker   *config.CircuitBreaker   `json:"circuit_breaker,omitempty"`
	RetryBudget      *config.RetryBudget      `json:"retry_budget,omitempty"`
	OutlierDetection *config.OutlierDetection `json:"outlier_detection,omitempty"`
	// Routes are rules for calls to this service: each rule's service is
	// this one (it may be left out).
	Routes []RouteRule `json:"routes,omitempty"`
	// Authorization holds the service's rule sets (at most one: one
	// Authorization document per service), checked as a sidecar listener's
	// authorization is; each rule set's service is this one (it may be
	// left out). The pilot puts them in the service's Listener as RBAC
	// filters; the sidecars that serve the service enforce them.
	Authorization []config.AuthzPolicy `json:"authorization,omitempty"`
}

// Normalize fills defaults for service's policy; Validate expects a
// normalized policy.
func (p *ServicePolicy) Normalize(service string) {
	for i := range p.Routes {
		if p.Routes[i].Service == "" {
			p.Routes[i].Service = service
		}
		p.Routes[i].Normalize()
	}
	for i := range p.Authorization {
		if p.Authorization[i].Service == "" {
			p.Authorization[i].Service = service
		}
	}
}

// Validate checks service's normalized policy as the pilot's API accepts
// it, naming the field: the cluster's policies as config.Cluster.Check
// does, the rules as AppRoutes.Validate does.
func (p *ServicePolicy) Validate(service string) error {
	cl := config.NewCluster(service)
	cl.CircuitBreaker, cl.RetryBudget, cl.OutlierDetection = p.CircuitBreaker, p.RetryBudget, p.OutlierDetection
	if fe := cl.Check(); fe != nil {
		return invalidf("%s: %s", fe.Field, fe.Msg)
	}
	for i, r := range p.Routes {
		if r.Service != service {
			return invalidf("routes[%d].service: %q: the rules of service %q are for calls to it", i, r.Service, service)
		}
	}
	for i, a := range p.Authorization {
		if a.Service != service {
			return invalidf("authorization[%d].service: %q: the rule sets of service %q guard calls to it", i, a.Service, service)
		}
	}
	if fe := config.CheckAuthorization(p.Authorization); fe != nil {
		return invalidf("%s: %s", fe.Field, fe.Msg)
	}
	return checkRules(p.Routes)
}

// DecodePolicy reads service's stored policy and normalizes it; like
// DecodeRoutes it does not validate.
func DecodePolicy(service string, b []byte) (ServicePolicy, error) {
	var p ServicePolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return p, invalidf("policy: %v", err)
	}
	p.Normalize(service)
	return p, nil
}

// LeaseID names the lease an instance is registered with. It travels as
// hex text, since etcd lease IDs do not fit a JSON number exactly.
type LeaseID int64

func (l LeaseID) String() string { return strconv.FormatInt(int64(l), 16) }

// MarshalText writes l as hex.
func (l LeaseID) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads hex.
func (l *LeaseID) UnmarshalText(b []byte) error {
	n, err := ParseLeaseID(string(b))
	*l = n
	return err
}

// ParseLeaseID reads a lease ID written by LeaseID.String.
func ParseLeaseID(s string) (LeaseID, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 16, 64)
	if err != nil || n <= 0 {
		return 0, invalidf("lease %q is not a lease id", s)
	}
	return LeaseID(n), nil
}
