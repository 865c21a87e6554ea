package config

import (
	"strings"
	"testing"
	"time"
)

func TestConnectionLimitsDefaultsOverridesAndErrors(t *testing.T) {
	c, err := Parse("a.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxConnections != 10000 || c.Limits.IdleTimeout.Std() != 5*time.Minute {
		t.Errorf("limits %+v, want max_connections 10000 and idle_timeout 5m", c.Limits)
	}
	if c.Clusters[0].IdleTimeout.Std() != 4*time.Minute || NewCluster("x").IdleTimeout.Std() != 4*time.Minute {
		t.Errorf("cluster idle_timeout %v, want 4m: shorter than a peer's limits.idle_timeout", c.Clusters[0].IdleTimeout)
	}
	if ln := c.Listeners[0]; ln.MaxConnections != 0 || ln.IdleTimeout != 0 {
		t.Errorf("listener %+v: unset bounds must stay 0 (the limits')", ln)
	}

	set := strings.Replace(good, "max_frame_size: 1MiB}", "max_frame_size: 1MiB, max_connections: 50, idle_timeout: 0s}", 1)
	set = strings.Replace(set, "address: unix:///tmp/om-a.sock", "address: unix:///tmp/om-a.sock\n    max_connections: 7\n    idle_timeout: 30s", 1)
	set = strings.Replace(set, "hash_key: user", "hash_key: user\n    idle_timeout: 0s", 1)
	c, err = Parse("a.yaml", []byte(set))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxConnections != 50 || c.Limits.IdleTimeout != 0 {
		t.Errorf("limits %+v, want max_connections 50, idle_timeout 0 (off)", c.Limits)
	}
	if ln := c.Listeners[0]; ln.MaxConnections != 7 || ln.IdleTimeout.Std() != 30*time.Second {
		t.Errorf("listener %+v, want max_connections 7, idle_timeout 30s", ln)
	}
	if c.Clusters[0].IdleTimeout != 0 {
		t.Errorf("cluster idle_timeout %v, want 0 (off)", c.Clusters[0].IdleTimeout)
	}

	for _, tc := range []struct{ name, from, to, want string }{
		{"max_connections 0", "max_frame_size: 1MiB}", "max_frame_size: 1MiB, max_connections: 0}", "a.yaml:4: limits.max_connections: must be at least 1"},
		{"negative idle", "max_frame_size: 1MiB}", "max_frame_size: 1MiB, idle_timeout: -1s}", `a.yaml:4: limits.idle_timeout: "-1s" is not a duration`},
		{"listener max", "address: unix:///tmp/om-a.sock", "address: unix:///tmp/om-a.sock\n    max_connections: -1", "listeners[0].max_connections: must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(strings.Replace(good, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
