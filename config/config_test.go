package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `
node: {id: a-1, app: echo-client, zone: z1}
admin: {address: "127.0.0.1:9901"}
limits: {max_inflight: 500, frame_timeout: 2s, max_frame_size: 1MiB}
listeners:
  - name: outbound
    address: unix:///tmp/om-a.sock
    routes:
      - {service: echo, cluster: echo}
      - {service: echo, method: Slow, cluster: echo, timeout: 10s}
clusters:
  - name: echo
    balancer: maglev
    hash_key: user
    locality: {}
    endpoints:
      - {address: "127.0.0.1:7102", weight: 10, zone: z1, metadata: {v: "2"}}
      - {address: "tcp://127.0.0.1:7103"}
`

func TestParseGoodConfigWithDefaults(t *testing.T) {
	c, err := Parse("a.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxInflight != 500 || c.Limits.MaxInflightPerConnection != 1000 ||
		c.Limits.FrameTimeout.Std() != 2*time.Second || c.Limits.MaxFrameSize != 1<<20 {
		t.Errorf("limits %+v", c.Limits)
	}
	r := c.Listeners[0].Routes
	if r[0].Method != "*" || r[0].Timeout != 0 || r[1].Timeout.Std() != 10*time.Second {
		t.Errorf("routes %+v", r)
	}
	cl := c.Clusters[0]
	if cl.ConnectionsPerEndpoint != 2 || cl.RequestTimeout.Std() != 3*time.Second || cl.Locality.PanicThreshold != 0.7 {
		t.Errorf("cluster defaults %+v", cl)
	}
	if cl.Endpoints[0].Weight != 10 || cl.Endpoints[1].Weight != 1 || cl.Endpoints[0].Metadata["v"] != "2" {
		t.Errorf("endpoints %+v", cl.Endpoints)
	}
	if err := c.Errorf("clusters[0].balancer", "unknown balancer %q", "x"); err.Error() != `a.yaml:13: clusters[0].balancer: unknown balancer "x"` {
		t.Errorf("Errorf = %q", err)
	}
}

func TestParseErrorsNameFileLineAndPath(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", strings.Replace(good, "weight: 10", "wieght: 10", 1),
			"a.yaml:17: clusters[0].endpoints[0].wieght: unknown field (known: address, metadata, set, weight, zone)"},
		{"duplicate field", strings.Replace(good, "zone: z1}\nadmin", "zone: z1, zone: z2}\nadmin", 1),
			"node.zone: field given twice"},
		{"bad duration", strings.Replace(good, "frame_timeout: 2s", "frame_timeout: soon", 1),
			`a.yaml:4: limits.frame_timeout: "soon" is not a duration`},
		{"bad size", strings.Replace(good, "1MiB", "1MB", 1), `limits.max_frame_size: "1MB" is not a size`},
		{"negative weight", strings.Replace(good, "weight: 10", "weight: -1", 1), `clusters[0].endpoints[0].weight: "-1" is not a non-negative 32-bit integer`},
		{"unknown cluster", strings.Replace(good, "{service: echo, cluster: echo}", "{service: echo, cluster: ech}", 1),
			`listeners[0].routes[0].cluster: unknown cluster "ech" (known: echo)`},
		{"bad address", strings.Replace(good, "unix:///tmp/om-a.sock", "http://x", 1), `listeners[0].address: address "http://x": unknown scheme`},
		{"bad endpoint", strings.Replace(good, `"127.0.0.1:7102"`, `"127.0.0.1"`, 1), `clusters[0].endpoints[0].address: address "127.0.0.1" is not host:port`},
		{"duplicate route", strings.Replace(good, "method: Slow, ", "", 1), "listeners[0].routes[1]: another route already matches"},
		{"list expected", strings.Replace(good, "listeners:\n", "listeners: 3\nx:\n", 1), "listeners: expected a list"},
		{"threshold", strings.Replace(good, "locality: {}", "locality: {panic_threshold: 2}", 1), "clusters[0].locality.panic_threshold: must be between 0 and 1"},
		{"bad yaml", "node: [", "a.yaml:1: YAML syntax: did not find expected node content"},
		{"two documents", good + "\n---\nnode: {}\n", "more than one YAML document"},
		{"no listeners", "clusters: []\n", "a.yaml:1: listeners: at least one listener is needed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("error %v", err)
	}
}

func TestParseAddress(t *testing.T) {
	cases := []struct{ in, network, address string }{
		{"unix:///run/a.sock", "unix", "/run/a.sock"},
		{"unix:rel.sock", "unix", "rel.sock"},
		{"tcp://127.0.0.1:80", "tcp", "127.0.0.1:80"},
		{"[::1]:9", "tcp", "[::1]:9"},
		{":7001", "tcp", ":7001"},
	}
	for _, tc := range cases {
		n, a, err := ParseAddress(tc.in)
		if err != nil || n != tc.network || a != tc.address {
			t.Errorf("ParseAddress(%q) = %q %q %v", tc.in, n, a, err)
		}
	}
	for _, bad := range []string{"", "unix://", "localhost", "host:port", "udp://1.2.3.4:5", "unix:///" + strings.Repeat("x", 120)} {
		if _, _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) accepted", bad)
		}
	}
}

// TestParseBoundsAliasExpansion: aliases that nest expand a small document
// to millions of nodes (here about four million from 3.5KB, which took
// seconds to decode); past a budget proportional to the document's size the
// decoder refuses it. Anchors used the ordinary way still work.
func TestParseBoundsAliasExpansion(t *testing.T) {
	const n = 100
	var b strings.Builder
	b.WriteString("listeners:\n  - &l {name: a, address: ':1', routes: [&r {split: &s [")
	b.WriteString(strings.Repeat("{cluster: a, weight: 1},", n))
	b.WriteString("]}" + strings.Repeat(",*r", n) + "]}\n")
	b.WriteString(strings.Repeat("  - *l\n", n))
	start := time.Now()
	_, err := Parse("a.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "aliases expand it past what its size allows") {
		t.Fatalf("error %v", err)
	}
	// The budget refused it (the error above) before the aliases were
	// expanded: how long that took depends on the machine, so it is only
	// logged; an expansion without the budget runs into go test's timeout.
	t.Logf("refused in %v", time.Since(start))

	reuse := `
listeners:
  - {name: a, address: ':1', routes: [{service: x, cluster: x}, {service: y, cluster: y}]}
clusters:
  - {name: x, outlier_detection: &od {interval: 1s}, endpoints: &eps [{address: "127.0.0.1:1"}, {address: "127.0.0.1:2"}]}
  - {name: y, outlier_detection: *od, endpoints: *eps}
`
	c, err := Parse("a.yaml", []byte(reuse))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Clusters[1].Endpoints) != 2 || c.Clusters[1].OutlierDetection.Interval.Std() != time.Second {
		t.Errorf("aliased cluster %+v", c.Clusters[1])
	}
}
