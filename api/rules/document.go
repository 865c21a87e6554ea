package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// Kinds of document. Caller-side kinds set one policy of the calls an app
// makes to a service (or, without target.app, of every call to the
// service: its own rules); service-side kinds set one policy of the
// service's cluster for every caller.
const (
	KindRoute            = "Route"
	KindRetry            = "Retry"
	KindTimeout          = "Timeout"
	KindRateLimit        = "RateLimit"
	KindFault            = "Fault"
	KindMirror           = "Mirror"
	KindCircuitBreaker   = "CircuitBreaker"
	KindRetryBudget      = "RetryBudget"
	KindOutlierDetection = "OutlierDetection"
	// KindAuthorization is a service's rule set: which callers may call
	// which of its methods, enforced by the sidecars that serve it.
	KindAuthorization = "Authorization"
)

// Kinds of error, for errors.Is.
var (
	// ErrInvalid: a document (or a set of them) the rule store refuses.
	ErrInvalid = errors.New("rules: invalid")
	// ErrConflict: a document's metadata.revision is not the stored one.
	ErrConflict = errors.New("rules: conflict")
	// ErrNotFound: no such document.
	ErrNotFound = errors.New("rules: not found")
	// ErrUnauthorized: a write without the operator token, or with a wrong
	// one.
	ErrUnauthorized = errors.New("rules: unauthorized")
	// ErrUnavailable: the rule store (etcd) or its server could not be
	// reached.
	ErrUnavailable = errors.New("rules: unavailable")
)

// Document is one governance rule: what it is (Kind), its name and
// revision (Metadata), what it applies to (Target) and its settings (Spec).
// Documents are identified by (Kind, Metadata.Name).
type Document struct {
	Kind     string   `json:"kind"`
	Metadata Metadata `json:"metadata"`
	Target   Target   `json:"target"`
	// Spec points to the kind's settings: *RouteSpec (Route), *config.Retry,
	// *TimeoutSpec, *config.RateLimit, *config.Fault, *config.Mirror,
	// *config.CircuitBreaker, *config.RetryBudget, *config.OutlierDetection,
	// *AuthorizationSpec.
	Spec any `json:"spec"`

	src source // where the document was read, for errors
}

// Metadata names a document. Revision is the store's (etcd's) revision of
// the document's last change; given in a document to apply, it must be the
// stored one (optimistic concurrency). Updated is when it last changed, set
// by the store.
type Metadata struct {
	Name     string `yaml:"name" json:"name"`
	Revision int64  `yaml:"revision" json:"revision,omitempty"`
	Updated  string `yaml:"updated" json:"updated,omitempty"`
}

// Target is what a document applies to. Caller-side kinds: the calls of
// App to Service (Method "*": every method) that carry Headers and Tags; an
// empty App makes the document the service's own rule (the service
// policy's routes, which proxyless clients follow). Service-side kinds:
// Service alone.
type Target struct {
	App     string            `yaml:"app" json:"app,omitempty"`
	Service string            `yaml:"service" json:"service"`
	Method  string            `yaml:"method" json:"method,omitempty"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	Tags    map[string]string `yaml:"tags" json:"tags,omitempty"`
}

// serviceTarget is a service-side kind's target in YAML: the service alone.
type serviceTarget struct {
	Service string `yaml:"service"`
}

// RouteSpec is a Route document's destination: one cluster (a service
// whose instances take the calls), or a split by weight.
type RouteSpec struct {
	Cluster string                   `yaml:"cluster" json:"cluster,omitempty"`
	Split   []config.WeightedCluster `yaml:"split" json:"split,omitempty"`
}

// AuthorizationSpec is an Authorization document's rules: the rule set,
// named by the document's metadata.name, of its target service (see
// config.AuthzPolicy: no rule set, every caller is allowed; any allow rule,
// only the calls an allow rule matches; a matching deny rule refuses).
type AuthorizationSpec struct {
	Rules []config.AuthzRule `yaml:"rules" json:"rules"`
}

// authzPolicy is the document's rule set as a sidecar's config has it.
func (d *Document) authzPolicy() config.AuthzPolicy {
	return config.AuthzPolicy{Name: d.Metadata.Name, Service: d.Target.Service, Rules: d.Spec.(*AuthorizationSpec).Rules}
}

// TimeoutSpec is a Timeout document's deadline for the calls.
type TimeoutSpec struct {
	Timeout config.Duration `yaml:"timeout" json:"timeout"`
}

// source is where a document was read.
type source struct {
	file   string
	index  int // from 1; 0: not read from a file (the store, the API)
	line   int
	lineOf func(path string) int
}

// Ref is "Kind/name".
func (d *Document) Ref() string { return d.Kind + "/" + d.Metadata.Name }

// CompiledKey says which compiled value the document goes into: the
// route rules of its app (KindRoutes, app), or the policy of its service
// (KindPolicy, service): the keys of the notices a change publishes.
func (d *Document) CompiledKey() (kind, key string) {
	if k, ok := kinds[d.Kind]; ok && !k.service && d.Target.App != "" {
		return KindRoutes, d.Target.App
	}
	return KindPolicy, d.Target.Service
}

// ServiceSide reports whether the document's kind is a service-side one.
func (d *Document) ServiceSide() bool { return kinds[d.Kind].service }

// DocumentError is a problem with one document, naming it and the field.
type DocumentError struct {
	File  string // "" when the document was not read from a file
	Line  int    // 0 when unknown
	Index int    // the document's position in its file, from 1; 0: none
	Ref   string // "Kind/name", or "" before they are known
	Path  string // the field ("spec.attempts"), or ""
	Msg   string
}

func (e *DocumentError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	switch {
	case e.Index > 0 && e.Ref != "":
		fmt.Fprintf(&b, "document %d (%s): ", e.Index, e.Ref)
	case e.Index > 0:
		fmt.Fprintf(&b, "document %d: ", e.Index)
	case e.Ref != "":
		b.WriteString(e.Ref + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes a DocumentError an ErrInvalid.
func (e *DocumentError) Is(target error) bool { return target == ErrInvalid }

// errorf reports a problem with d's field at path.
func (d *Document) errorf(path, format string, args ...any) *DocumentError {
	e := &DocumentError{File: d.src.file, Index: d.src.index, Path: path, Msg: fmt.Sprintf(format, args...)}
	if d.Kind != "" && d.Metadata.Name != "" {
		e.Ref = d.Ref()
	}
	if d.src.lineOf != nil {
		e.Line = d.src.lineOf(path)
	} else {
		e.Line = d.src.line
	}
	return e
}

// Errorf reports a problem with the document's field at path, naming the
// document (its file, line and index when it was read from one): for
// checks made outside this package (the rule store's conflicts).
func (d *Document) Errorf(path, format string, args ...any) *DocumentError {
	return d.errorf(path, format, args...)
}

// describe names d for messages about two documents: "Retry/a (document
// 3)" or "Retry/a (stored)".
func (d *Document) describe() string {
	if d.src.index > 0 {
		return fmt.Sprintf("%s (%s document %d)", d.Ref(), d.src.file, d.src.index)
	}
	return d.Ref() + " (stored)"
}

// kind is what the package knows of a kind of document.
type kind struct {
	service bool
	// field is the kind's field in a config.Route or config.Cluster
	// ("retry"); "" for Route, whose spec fills cluster and split.
	field   string
	newSpec func() any
	// decode decodes a YAML document of the kind.
	decode func(*config.YAMLDocument) (Document, error)
	// route sets the spec on a caller's route (caller-side kinds).
	route func(r *config.Route, spec any)
	// policy sets the document on a service's policy, and cluster on a
	// cluster for its checks (service-side kinds).
	policy  func(p *registry.ServicePolicy, d *Document)
	cluster func(c *config.Cluster, spec any)
	// check, when set, checks a service-side document instead of cluster.
	check func(d *Document) *DocumentError
}

// yamlDocument is a document of kind with target T and spec S, as YAML.
type yamlDocument[T, S any] struct {
	Kind     string   `yaml:"kind"`
	Metadata Metadata `yaml:"metadata"`
	Target   T        `yaml:"target"`
	Spec     *S       `yaml:"spec"`
}

func callerKind[S any](field string, set func(*config.Route, *S)) kind {
	return kind{
		field:   field,
		newSpec: func() any { return new(S) },
		decode: func(y *config.YAMLDocument) (Document, error) {
			var v yamlDocument[Target, S]
			err := y.Decode(&v)
			d := Document{Kind: v.Kind, Metadata: v.Metadata, Target: v.Target}
			if v.Spec != nil {
				d.Spec = v.Spec
			}
			return d, err
		},
		route: func(r *config.Route, spec any) { set(r, spec.(*S)) },
	}
}

func serviceKind[S any](field string, set func(*registry.ServicePolicy, *S), setCluster func(*config.Cluster, *S)) kind {
	return kind{
		service: true,
		field:   field,
		newSpec: func() any { return new(S) },
		decode: func(y *config.YAMLDocument) (Document, error) {
			var v yamlDocument[serviceTarget, S]
			err := y.Decode(&v)
			d := Document{Kind: v.Kind, Metadata: v.Metadata, Target: Target{Service: v.Target.Service}}
			if v.Spec != nil {
				d.Spec = v.Spec
			}
			return d, err
		},
		policy:  func(p *registry.ServicePolicy, d *Document) { set(p, d.Spec.(*S)) },
		cluster: func(c *config.Cluster, spec any) { setCluster(c, spec.(*S)) },
	}
}

// kinds is the registry of kinds: an unknown kind is an error, never a
// default.
var kinds = map[string]kind{
	KindRoute: callerKind("", func(r *config.Route, s *RouteSpec) {
		r.Cluster, r.Split = s.Cluster, s.Split
	}),
	KindRetry:     callerKind("retry", func(r *config.Route, s *config.Retry) { r.Retry = s }),
	KindTimeout:   callerKind("timeout", func(r *config.Route, s *TimeoutSpec) { r.Timeout = s.Timeout }),
	KindRateLimit: callerKind("rate_limit", func(r *config.Route, s *config.RateLimit) { r.RateLimit = s }),
	KindFault:     callerKind("fault", func(r *config.Route, s *config.Fault) { r.Fault = s }),
	KindMirror:    callerKind("mirror", func(r *config.Route, s *config.Mirror) { r.Mirror = s }),
	KindCircuitBreaker: serviceKind("circuit_breaker",
		func(p *registry.ServicePolicy, s *config.CircuitBreaker) { p.CircuitBreaker = s },
		func(c *config.Cluster, s *config.CircuitBreaker) { c.CircuitBreaker = s }),
	KindRetryBudget: serviceKind("retry_budget",
		func(p *registry.ServicePolicy, s *config.RetryBudget) { p.RetryBudget = s },
		func(c *config.Cluster, s *config.RetryBudget) { c.RetryBudget = s }),
	KindOutlierDetection: serviceKind("outlier_detection",
		func(p *registry.ServicePolicy, s *config.OutlierDetection) { p.OutlierDetection = s },
		func(c *config.Cluster, s *config.OutlierDetection) { c.OutlierDetection = s }),
	KindAuthorization: authorizationKind(),
}

// authorizationKind is the Authorization kind: service-side, its spec a
// rule set checked as a sidecar listener's authorization is.
func authorizationKind() kind {
	k := serviceKind("authorization", func(*registry.ServicePolicy, *AuthorizationSpec) {}, func(*config.Cluster, *AuthorizationSpec) {})
	k.policy = func(p *registry.ServicePolicy, d *Document) {
		p.Authorization = append(p.Authorization, d.authzPolicy())
	}
	k.check = func(d *Document) *DocumentError {
		fe := config.CheckAuthorization([]config.AuthzPolicy{d.authzPolicy()})
		if fe == nil {
			return nil
		}
		f := strings.TrimPrefix(fe.Field, "authorization[0].")
		switch {
		case f == "name":
			return d.errorf("metadata.name", "%s", fe.Msg)
		case f == "service":
			return d.errorf("target.service", "%s", fe.Msg)
		}
		return d.errorf("spec."+f, "%s", fe.Msg)
	}
	return k
}

// Kinds lists the kinds of document, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// KnownKind reports whether kind is a kind of document.
func KnownKind(k string) bool {
	_, ok := kinds[k]
	return ok
}

// LookupKind returns the kind spelled k in any case ("retry" is Retry), for
// command lines.
func LookupKind(k string) (string, bool) {
	for name := range kinds {
		if strings.EqualFold(name, k) {
			return name, true
		}
	}
	return "", false
}

// kindError explains why k is not a kind of document.
func kindError(k string) string {
	if k == "" {
		return "missing (one of " + strings.Join(Kinds(), ", ") + ")"
	}
	return fmt.Sprintf("%q is not a kind of rule (known: %s)", k, strings.Join(Kinds(), ", "))
}

// Limits of one input.
const (
	// MaxDocuments bounds the documents of one file or request.
	MaxDocuments = 1000
	// MaxInput bounds the bytes of one file or request: its documents,
	// their history and the compiled values stay within the 1.5 MiB of an
	// etcd request.
	MaxInput = 256 << 10
)

// DecodeDocuments reads the documents of a YAML file (several, separated
// by "---"), strictly: unknown fields, unknown kinds and values the
// sidecar's config would refuse are errors naming the file, the line, the
// document (its index, kind and name) and the field:
//
//	rules.yaml:7: document 2 (Retry/echo-get): spec.attempts: must be between 1 and 10
//
// Each document is checked on its own (Check); how documents combine is
// Compile's. A kind and name given twice in one file is an error.
func DecodeDocuments(file string, data []byte) ([]Document, error) {
	if len(data) > MaxInput {
		return nil, &DocumentError{File: file, Msg: fmt.Sprintf("%d bytes, more than the %d a file of rules may have", len(data), MaxInput)}
	}
	ydocs, err := config.SplitYAML(file, data)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, &DocumentError{File: ce.File, Line: ce.Line, Path: ce.Path, Msg: ce.Msg}
		}
		return nil, &DocumentError{File: file, Msg: err.Error()}
	}
	if len(ydocs) > MaxDocuments {
		return nil, &DocumentError{File: file, Msg: fmt.Sprintf("%d documents, more than %d", len(ydocs), MaxDocuments)}
	}
	docs := make([]Document, 0, len(ydocs))
	seen := map[string]int{}
	for _, y := range ydocs {
		d, err := decodeOne(y)
		if err != nil {
			return nil, err
		}
		if first, ok := seen[d.Ref()]; ok {
			return nil, d.errorf("metadata.name", "%s is also document %d of this file", d.Ref(), first)
		}
		seen[d.Ref()] = y.Index
		docs = append(docs, d)
	}
	return docs, nil
}

func decodeOne(y *config.YAMLDocument) (Document, error) {
	src := source{file: y.File, index: y.Index, line: y.Line, lineOf: y.LineOf}
	k := y.Field("kind")
	d := Document{Kind: k, src: src}
	info, ok := kinds[k]
	if !ok {
		d.Metadata.Name = nameOf(y)
		return d, d.errorf("kind", "%s", kindError(k))
	}
	d, err := info.decode(y)
	d.src = src
	if err != nil {
		if d.Metadata.Name == "" {
			d.Metadata.Name = nameOf(y)
		}
		var ce *config.Error
		if errors.As(err, &ce) {
			e := d.errorf(ce.Path, "%s", ce.Msg)
			e.Line = ce.Line
			return d, e
		}
		return d, d.errorf("", "%v", err)
	}
	return d, d.Check()
}

// nameOf is metadata.name as written, to name a document that does not
// decode.
func nameOf(y *config.YAMLDocument) string { return y.Field("metadata", "name") }

// Check validates the document on its own, as the sidecar's config would
// (config's checks), filling defaults (target.method "*"); errors name the
// field as written in the document ("spec.attempts").
func (d *Document) Check() error {
	info, ok := kinds[d.Kind]
	if !ok {
		return d.errorf("kind", "%s", kindError(d.Kind))
	}
	if err := config.CheckName(d.Metadata.Name); err != nil {
		return d.errorf("metadata.name", "%v", err)
	}
	if d.Metadata.Revision < 0 {
		return d.errorf("metadata.revision", "must not be negative")
	}
	t := &d.Target
	if t.Service == "" {
		return d.errorf("target.service", "missing")
	}
	if d.Spec == nil {
		return d.errorf("spec", "missing")
	}
	if info.service {
		if err := config.CheckName(t.Service); err != nil {
			return d.errorf("target.service", "%v", err)
		}
		if t.App != "" || t.Method != "" || len(t.Headers)+len(t.Tags) > 0 {
			return d.errorf("target", "a %s applies to the service for every caller: its target is the service alone", d.Kind)
		}
		if info.check != nil {
			if e := info.check(d); e != nil {
				return e
			}
			return nil
		}
		cl := config.NewCluster(t.Service)
		info.cluster(&cl, d.Spec)
		if fe := cl.Check(); fe != nil {
			return d.errorf(specPath(info.field, fe.Field), "%s", fe.Msg)
		}
		return nil
	}
	if t.Method == "" {
		t.Method = "*"
	}
	if len(t.Headers) == 0 {
		t.Headers = nil
	}
	if len(t.Tags) == 0 {
		t.Tags = nil
	}
	if t.App != "" {
		if err := config.CheckName(t.App); err != nil {
			return d.errorf("target.app", "%v", err)
		}
	}
	if t.Service != "*" || t.App == "" {
		if err := config.CheckName(t.Service); err != nil {
			if t.Service == "*" {
				return d.errorf("target.service", `"*" needs target.app: a rule without an app is the service's own, for calls to it`)
			}
			return d.errorf("target.service", "%v", err)
		}
	}
	if t.Method != "*" {
		if err := config.CheckName(t.Method); err != nil {
			return d.errorf("target.method", "%v", err)
		}
	}
	r := d.route()
	if d.Kind == KindTimeout && r.Timeout <= 0 {
		return d.errorf("spec.timeout", "must be positive")
	}
	if r.Cluster == "" && len(r.Split) == 0 && d.Kind != KindRoute {
		r.Cluster = "-" // "*" with no Route yet: Compile asks for one
	}
	var named [][2]string // field, cluster
	if d.Kind == KindRoute && r.Cluster != "" {
		named = append(named, [2]string{"spec.cluster", r.Cluster})
	}
	for j, w := range r.Split {
		named = append(named, [2]string{fmt.Sprintf("spec.split[%d].cluster", j), w.Cluster})
	}
	if d.Kind == KindMirror {
		named = append(named, [2]string{"spec.cluster", r.Mirror.Cluster})
	}
	clusters := map[string]bool{}
	for _, c := range r.Clusters() {
		clusters[c] = true
	}
	for _, n := range named {
		if err := config.CheckName(n[1]); err != nil {
			return d.errorf(n[0], "%v", err)
		}
	}
	if fe := config.CheckRoutes([]config.Route{r}, clusters); fe != nil {
		return d.errorf(d.routePath(info.field, fe.Field), "%s", fe.Msg)
	}
	return nil
}

// route is the document alone as a caller's route: its match, its
// destination (Route's spec; else the service) and its policy.
func (d *Document) route() config.Route {
	t := d.Target
	r := config.Route{Service: t.Service, Method: t.Method, Headers: t.Headers, Tags: t.Tags}
	kinds[d.Kind].route(&r, d.Spec)
	if d.Kind != KindRoute && t.Service != "*" {
		r.Cluster = t.Service
	}
	return r
}

// routePath maps the field of a route's check ("routes[0].retry.attempts")
// to the document's ("spec.attempts").
func (d *Document) routePath(field, check string) string {
	f := strings.TrimPrefix(strings.TrimPrefix(check, "routes[0]"), ".")
	switch {
	case strings.HasPrefix(f, "headers"), strings.HasPrefix(f, "tags"):
		return "target." + f
	case d.Kind == KindRoute && (strings.HasPrefix(f, "cluster") || strings.HasPrefix(f, "split")):
		return "spec." + f
	case d.Kind == KindTimeout:
		return "spec." + f
	}
	return specPath(field, f)
}

// specPath maps a config field ("retry.attempts") to the spec's
// ("spec.attempts") when the spec is that field's value.
func specPath(field, f string) string {
	if rest, ok := strings.CutPrefix(f, field); ok && field != "" {
		return "spec" + rest
	}
	return "spec." + f
}

// Match is what a caller-side document matches: documents with the same
// Match (and app) combine into one route rule.
func (d *Document) Match() string {
	r := config.Route{Service: d.Target.Service, Method: d.Target.Method, Headers: d.Target.Headers, Tags: d.Target.Tags}
	if r.Method == "" {
		r.Method = "*"
	}
	return r.MatchKey()
}

// describeMatch names what a caller-side document matches, for messages.
func (d *Document) describeMatch() string {
	t := d.Target
	var b strings.Builder
	if t.App != "" {
		fmt.Fprintf(&b, "app %s, ", t.App)
	} else {
		b.WriteString("the service's own rules, ")
	}
	fmt.Fprintf(&b, "service %s, method %s", t.Service, t.Method)
	keys := make([]string, 0, len(t.Headers)+len(t.Tags))
	for k, v := range t.Headers {
		keys = append(keys, "header "+k+"="+v)
	}
	for k, v := range t.Tags {
		keys = append(keys, "tag "+k+"="+v)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(", " + k)
	}
	return b.String()
}

// UnmarshalJSON reads a document as the store and the API keep it,
// strictly: the spec by its kind, unknown fields refused. It does not
// Check.
func (d *Document) UnmarshalJSON(b []byte) error {
	var raw struct {
		Kind     string          `json:"kind"`
		Metadata Metadata        `json:"metadata"`
		Target   Target          `json:"target"`
		Spec     json.RawMessage `json:"spec"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("%w: document: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "json: "))
	}
	*d = Document{Kind: raw.Kind, Metadata: raw.Metadata, Target: raw.Target}
	info, ok := kinds[raw.Kind]
	if !ok {
		return d.errorf("kind", "%s", kindError(raw.Kind))
	}
	if len(raw.Spec) == 0 || string(raw.Spec) == "null" {
		return nil // Check says it is missing
	}
	spec := info.newSpec()
	sd := json.NewDecoder(bytes.NewReader(raw.Spec))
	sd.DisallowUnknownFields()
	if err := sd.Decode(spec); err != nil {
		return d.errorf("spec", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	d.Spec = spec
	return nil
}

// Same reports whether a and b say the same: kind, name, target and spec
// (not revision nor time).
func Same(a, b *Document) bool {
	ea, err1 := a.canonical()
	eb, err2 := b.canonical()
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

// canonical is the document's JSON without revision and time: what the
// store keeps, and what Same compares.
func (d *Document) canonical() ([]byte, error) {
	c := *d
	c.Metadata.Revision, c.Metadata.Updated = 0, ""
	return json.Marshal(&c)
}

// Encode is the document's stored form: its JSON, without revision (the
// store's revision is the document's), with the time it is written.
func (d *Document) Encode(now time.Time) ([]byte, error) {
	c := *d
	c.Metadata.Revision = 0
	c.Metadata.Updated = now.UTC().Format(time.RFC3339)
	return json.Marshal(&c)
}

// DecodeStored reads a stored document and sets its revision.
func DecodeStored(b []byte, revision int64) (Document, error) {
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return d, err
	}
	d.Metadata.Revision = revision
	return d, d.Check()
}
