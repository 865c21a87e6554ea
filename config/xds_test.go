package config

import (
	"strings"
	"testing"
	"time"
)

const xdsGood = `
node: {id: a-1, app: echo-client}
listeners:
  - name: outbound
    address: unix:///tmp/om-a.sock
  - name: inbound
    address: 127.0.0.1:7101
    routes: [{cluster: local-app}]
clusters:
  - {name: local-app, endpoints: [{address: "unix:///tmp/app.sock"}]}
xds:
  pilot: 127.0.0.1:15010
  services: [echo, user.profile]
`

func TestParseXDSDefaults(t *testing.T) {
	c, err := Parse("x.yaml", []byte(xdsGood))
	if err != nil {
		t.Fatal(err)
	}
	x := c.XDS
	if x == nil || x.Pilot != "127.0.0.1:15010" || x.Listener != "outbound" || x.SubscribeWait.Std() != 2*time.Second ||
		x.MaxSubscriptions != 1024 || x.ReconnectMax.Std() != 5*time.Second || x.SubscriptionsFile != "" ||
		strings.Join(x.Services, ",") != "echo,user.profile" {
		t.Errorf("xds %+v", x)
	}
	if len(c.Listeners[0].Routes) != 0 {
		t.Errorf("outbound routes %+v", c.Listeners[0].Routes)
	}
	m, err := Parse("m.yaml", []byte(strings.Replace(xdsGood, "pilot: 127.0.0.1:15010", "meta: 127.0.0.1:15020", 1)))
	if err != nil || m.XDS.Meta != "127.0.0.1:15020" || m.XDS.Pilot != "" {
		t.Fatalf("xds with meta: %v %+v", err, m.XDS)
	}
	noXDS, err := Parse("y.yaml", []byte(good))
	if err != nil || noXDS.XDS != nil {
		t.Fatalf("a config without xds: %v %+v", err, noXDS)
	}
}

func TestParseXDSErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"no pilot", strings.Replace(xdsGood, "pilot: 127.0.0.1:15010", "subscribe_wait: 1s", 1), "x.yaml:12: xds.pilot: missing"},
		{"bad pilot", strings.Replace(xdsGood, "127.0.0.1:15010", "http://p", 1), `x.yaml:12: xds.pilot: address "http://p": unknown scheme`},
		{"unknown field", strings.Replace(xdsGood, "services:", "servics:", 1), "xds.servics: unknown field (known: cluster_tls, listener, max_subscriptions, meta, pilot, reconnect_max, services, subscribe_wait, subscriptions_file, tls)"},
		{"unknown listener", strings.Replace(xdsGood, "pilot:", "listener: out\n  pilot:", 1), `xds.listener: no listener named "out" (known: inbound, outbound)`},
		{"static listener without routes", strings.Replace(xdsGood, "pilot:", "listener: inbound\n  pilot:", 1), "listeners[0].routes: a listener needs at least one route"},
		{"no node id", strings.Replace(xdsGood, "id: a-1, ", "", 1), "node.id: xds needs a node id: name is empty"},
		{"no app", strings.Replace(xdsGood, ", app: echo-client", "", 1), "node.app: xds needs the node's app"},
		{"bad service", strings.Replace(xdsGood, "user.profile", "user/profile", 1), `xds.services[1]: name "user/profile" has '/' at byte 4`},
		{"duplicate service", strings.Replace(xdsGood, "user.profile", "echo", 1), `xds.services[1]: service "echo" listed twice`},
		{"wait", strings.Replace(xdsGood, "pilot:", "subscribe_wait: 2m\n  pilot:", 1), "xds.subscribe_wait: must be between"},
		{"reconnect", strings.Replace(xdsGood, "pilot:", "reconnect_max: 1ms\n  pilot:", 1), "xds.reconnect_max: must be between 10ms and 10m"},
		{"pilot and meta", strings.Replace(xdsGood, "pilot:", "meta: 127.0.0.1:15020\n  pilot:", 1), "xds.meta: give xds.pilot or xds.meta, not both"},
		{"bad meta", strings.Replace(xdsGood, "pilot: 127.0.0.1:15010", "meta: ftp://m", 1), `xds.meta: address "ftp://m"`},
		{"max subscriptions", strings.Replace(xdsGood, "pilot:", "max_subscriptions: 1\n  pilot:", 1), "xds.services: 2 services is more than xds.max_subscriptions (1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
