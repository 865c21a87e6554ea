package config

import (
	"fmt"
	"strings"
)

// Security settings: the sidecar's workload identity, mutual TLS per
// listener and cluster, and authorization by caller (docs/security.md).

// Identity is the sidecar's workload identity: from the mesh's CA (CA,
// TokenFile, TrustDomain, App) or from files (CertFile, KeyFile). Both
// need BundleFile: the roots the operator trusts (with a CA, the ones its
// serving certificate must chain to before the token is sent).
type Identity struct {
	// CA is the CA's host:port (`octomesh ca`).
	CA string `yaml:"ca"`
	// TokenFile holds this node's bootstrap token for the CA.
	TokenFile string `yaml:"token_file"`
	// TrustDomain of the identities ("mesh.local").
	TrustDomain string `yaml:"trust_domain"`
	// App names this sidecar's identity; default node.app.
	App string `yaml:"app"`
	// CertFile and KeyFile: a certificate (PEM, leaf first) and its key,
	// for static setups without a CA.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// BundleFile holds the trusted roots (PEM): one, or two during a root
	// change.
	BundleFile string `yaml:"bundle_file"`
}

// TLS modes of a listener or a cluster.
const (
	TLSOff        = "off"
	TLSPermissive = "permissive"
	TLSStrict     = "strict"
)

// TLS is a listener's or a cluster's mutual TLS mode.
type TLS struct {
	// Mode: off (the default), permissive (a listener accepts TLS and
	// plain peers, told apart by the first byte), strict (TLS only).
	Mode string `yaml:"mode" json:"mode"`
}

func (t *TLS) setDefaults() { t.Mode = TLSOff }

// ModeOf is t's mode; off when t is nil.
func (t *TLS) ModeOf() string {
	if t == nil {
		return TLSOff
	}
	return t.Mode
}

// Authorization actions.
const (
	ActionAllow = "allow"
	ActionDeny  = "deny"
)

// AuthzPolicy is the rule set of one service on an inbound listener. With
// no rule set, every caller is allowed; with any allow rule, only calls an
// allow rule matches are; a matching deny rule refuses a call whatever
// else matches.
type AuthzPolicy struct {
	// Name names the rule set in the answer a denied caller gets.
	Name string `yaml:"name" json:"name"`
	// Service is the service (TTHeader to-service) the rules guard.
	Service string      `yaml:"service" json:"service"`
	Rules   []AuthzRule `yaml:"rules" json:"rules"`
}

// AuthzRule matches callers and methods.
type AuthzRule struct {
	Action string `yaml:"action" json:"action"`
	// From lists callers: identities (spiffe://<trust-domain>/app/<app>),
	// app names (any trust domain the bundle trusts), or "*" (any caller,
	// with a certificate or not).
	From []string `yaml:"from" json:"from"`
	// Methods lists methods; empty or "*": any.
	Methods []string `yaml:"methods" json:"methods,omitempty"`
}

// checkIdentity validates the identity section; an empty App takes
// node.app.
func (c *Config) checkIdentity() error {
	id := c.Identity
	if id == nil {
		return nil
	}
	if id.App == "" {
		id.App = c.Node.App
	}
	static := id.CertFile != "" || id.KeyFile != ""
	switch {
	case id.BundleFile == "":
		return c.Errorf("identity.bundle_file", "missing: the roots peers (and the CA) are verified with")
	case static && id.CA != "":
		return c.Errorf("identity.ca", "give either ca (certificates from the CA) or cert_file and key_file, not both")
	case static && (id.CertFile == "" || id.KeyFile == ""):
		return c.Errorf("identity.cert_file", "cert_file and key_file go together")
	case static:
		return nil
	case id.CA == "":
		return c.Errorf("identity.ca", "missing: give the CA's host:port, or cert_file and key_file")
	case id.TokenFile == "":
		return c.Errorf("identity.token_file", "missing: the file holding this node's bootstrap token for the CA")
	}
	if _, _, err := ParseAddress(id.CA); err != nil || strings.Contains(id.CA, "://") {
		return c.Errorf("identity.ca", "%q is not host:port", id.CA)
	}
	if err := checkName(id.TrustDomain); err != nil {
		return c.Errorf("identity.trust_domain", "%v", err)
	}
	if err := checkName(id.App); err != nil {
		return c.Errorf("identity.app", "%v (default: node.app)", err)
	}
	return nil
}

// checkName: 1-255 bytes of lower-case letters, digits, '.', '-', '_' (a
// trust domain or app in an identity).
func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("missing")
	}
	if len(s) > 255 {
		return fmt.Errorf("longer than 255 bytes")
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '_') {
			return fmt.Errorf("%q: only lower-case letters, digits, '.', '-' and '_' are allowed", s)
		}
	}
	return nil
}

// checkTLS validates a listener's or cluster's tls (relative field names).
func checkTLS(t *TLS, network string, cluster bool) *FieldError {
	if t == nil {
		return nil
	}
	switch t.Mode {
	case TLSOff:
		return nil
	case TLSStrict:
	case TLSPermissive:
		if cluster {
			return &FieldError{"tls.mode", "permissive is for listeners; a cluster either speaks TLS (strict) or not (off): falling back to plain would let a network attacker force it"}
		}
	default:
		return &FieldError{"tls.mode", fmt.Sprintf("%q is not strict, permissive or off", t.Mode)}
	}
	if network == "unix" {
		return &FieldError{"tls.mode", "Unix sockets (the local app) stay plain: tls is for TCP"}
	}
	return nil
}

// CheckAuthorization validates a listener's rule sets (relative field
// names: "authorization[0].rules[1].action").
func CheckAuthorization(ps []AuthzPolicy) *FieldError {
	names, services := map[string]bool{}, map[string]bool{}
	for i, p := range ps {
		f := fmt.Sprintf("authorization[%d]", i)
		switch {
		case p.Name == "":
			return &FieldError{f + ".name", "missing: a denied caller is told it"}
		case names[p.Name]:
			return &FieldError{f + ".name", fmt.Sprintf("rule set %q defined twice", p.Name)}
		case p.Service == "" || p.Service == "*":
			return &FieldError{f + ".service", "missing: name the service the rules guard"}
		case services[p.Service]:
			return &FieldError{f + ".service", fmt.Sprintf("service %q has another rule set; put its rules in one", p.Service)}
		case len(p.Rules) == 0:
			return &FieldError{f + ".rules", "at least one rule is needed (no rule set: every caller is allowed)"}
		}
		names[p.Name], services[p.Service] = true, true
		for j, r := range p.Rules {
			rf := fmt.Sprintf("%s.rules[%d]", f, j)
			if r.Action != ActionAllow && r.Action != ActionDeny {
				return &FieldError{rf + ".action", fmt.Sprintf("%q is not allow or deny", r.Action)}
			}
			if len(r.From) == 0 {
				return &FieldError{rf + ".from", `missing: list identities, app names, or "*" for any caller`}
			}
			for k, from := range r.From {
				if fe := checkCaller(from); fe != "" {
					return &FieldError{fmt.Sprintf("%s.from[%d]", rf, k), fe}
				}
			}
			for k, m := range r.Methods {
				if m == "" {
					return &FieldError{fmt.Sprintf("%s.methods[%d]", rf, k), `empty: name a method, or "*"`}
				}
			}
		}
	}
	return nil
}

func checkCaller(s string) string {
	if s == "*" {
		return ""
	}
	if rest, ok := strings.CutPrefix(s, "spiffe://"); ok {
		td, app, ok := strings.Cut(rest, "/app/")
		if !ok {
			return fmt.Sprintf("%q: an identity is spiffe://<trust-domain>/app/<app>", s)
		}
		if err := checkName(td); err != nil {
			return fmt.Sprintf("%q: trust domain: %v", s, err)
		}
		if err := checkName(app); err != nil {
			return fmt.Sprintf("%q: app: %v", s, err)
		}
		return ""
	}
	if err := checkName(s); err != nil {
		return fmt.Sprintf("app name %v (or give an identity spiffe://<trust-domain>/app/<app>)", err)
	}
	return ""
}
