package rules

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Kinds of notice: what changed, and so what its key names.
const (
	// KindRoutes: an app's compiled route rules changed (key: the app; the
	// value lives at store.RoutesKey(app)).
	KindRoutes = "routes"
	// KindPolicy: a service's compiled policy changed (key: the service; the
	// value lives at store.PolicyKey(service)).
	KindPolicy = "policy"
	// KindHealth: a health mark was written or cleared (key:
	// "<service>/<address>"; the value lives at store.HealthKey).
	KindHealth = "health"
)

// Notice says that the value behind (Kind, Key) changed at etcd revision
// Revision. Revision 0 means "unknown: fetch it anyway".
type Notice struct {
	Kind     string `json:"kind"`
	Key      string `json:"key"`
	Revision int64  `json:"revision"`
}

// Validate refuses a notice a receiver could not act on, naming the field.
func (n Notice) Validate() error {
	switch n.Kind {
	case KindRoutes, KindPolicy:
		if n.Key == "" || strings.ContainsAny(n.Key, "/\x00") {
			return fmt.Errorf("notice key %q: must be a non-empty %s name without '/'", n.Key, map[string]string{KindRoutes: "app", KindPolicy: "service"}[n.Kind])
		}
	case KindHealth:
		svc, addr, ok := strings.Cut(n.Key, "/")
		if !ok || svc == "" || addr == "" {
			return fmt.Errorf("notice key %q: must be <service>/<address>", n.Key)
		}
	case "":
		return fmt.Errorf("notice kind: missing (one of %s, %s, %s)", KindRoutes, KindPolicy, KindHealth)
	default:
		return fmt.Errorf("notice kind %q: unknown (one of %s, %s, %s)", n.Kind, KindRoutes, KindPolicy, KindHealth)
	}
	if n.Revision < 0 {
		return fmt.Errorf("notice revision %d: must not be negative", n.Revision)
	}
	return nil
}

// DecodeNotice parses and validates one notice (JSON).
func DecodeNotice(b []byte) (Notice, error) {
	var n Notice
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return Notice{}, fmt.Errorf("notice: %w", err)
	}
	return n, n.Validate()
}
