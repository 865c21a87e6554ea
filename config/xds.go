package config

import (
	"fmt"
	"strings"
	"time"
)

// XDS connects the sidecar to a pilot over delta xDS (ADS). The node's id
// and app (section node) name the sidecar to the pilot. The pilot then
// supplies clusters (one per service), their endpoints and the app's route
// rules for one listener; static clusters and routes from the file stay.
type XDS struct {
	// Pilot is the pilot's xDS address: host:port, tcp://host:port or
	// unix:///path. Give Pilot (one pilot serves every app) or Meta.
	Pilot string `yaml:"pilot"`
	// Meta is a Meta Server's address (host:port or unix:///path): with a
	// sharded control plane the sidecar asks Meta which pilot serves its
	// app, follows that pilot's redirects, and asks Meta again when it
	// loses its pilot.
	Meta string `yaml:"meta"`
	// Listener names the listener whose routes xDS manages (the app's
	// outbound side). It may have no static routes.
	Listener string `yaml:"listener"`
	// Services are subscribed at start, before the app asks.
	Services []string `yaml:"services"`
	// SubscriptionsFile keeps the services subscribed so far, so that a
	// restarted sidecar subscribes to them at start; "" keeps none.
	SubscriptionsFile string `yaml:"subscriptions_file"`
	// SubscribeWait bounds how long the first request to a service not yet
	// subscribed waits for the pilot's answer before failing with no_route.
	SubscribeWait Duration `yaml:"subscribe_wait"`
	// MaxSubscriptions bounds the services one sidecar subscribes to.
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// ReconnectMax caps the backoff between attempts to reach the pilot.
	ReconnectMax Duration `yaml:"reconnect_max"`
	// TLS strict: the xDS stream is mutual TLS with the sidecar's identity,
	// and the pilot must show spiffe://<trust-domain>/app/octomesh-pilot.
	TLS *TLS `yaml:"tls"`
	// ClusterTLS is the mode of connections to the endpoints of every
	// cluster the pilot sends, as clusters[].tls is a static cluster's:
	// strict makes them mutual TLS with the sidecar's identity, verifying
	// the peer's; off (the default) keeps them plain. Give the callee's
	// listeners strict or permissive to match.
	ClusterTLS *TLS `yaml:"cluster_tls"`
}

func (x *XDS) setDefaults() {
	*x = XDS{
		Listener:         "outbound",
		SubscribeWait:    Duration(2 * time.Second),
		MaxSubscriptions: 1024,
		ReconnectMax:     Duration(5 * time.Second),
	}
}

// validateXDS checks the xds section.
func (c *Config) validateXDS() error {
	x := c.XDS
	if x == nil {
		return nil
	}
	listeners := map[string]bool{}
	for _, l := range c.Listeners {
		listeners[l.Name] = true
	}
	switch {
	case x.Pilot == "" && x.Meta == "":
		return c.Errorf("xds.pilot", "missing (the pilot's xDS address, like 127.0.0.1:15010 or unix:///run/pilot.sock; or xds.meta, a Meta Server's address)")
	case x.Pilot != "" && x.Meta != "":
		return c.Errorf("xds.meta", "give xds.pilot or xds.meta, not both: with Meta, Meta says which pilot to use")
	case x.SubscribeWait <= 0 || x.SubscribeWait.Std() > time.Minute:
		return c.Errorf("xds.subscribe_wait", "must be between 1ns and 1m")
	case x.MaxSubscriptions < 1 || x.MaxSubscriptions > 100000:
		return c.Errorf("xds.max_subscriptions", "must be between 1 and 100000")
	case x.ReconnectMax.Std() < 10*time.Millisecond || x.ReconnectMax.Std() > 10*time.Minute:
		return c.Errorf("xds.reconnect_max", "must be between 10ms and 10m")
	}
	if x.Pilot != "" {
		if _, _, err := ParseAddress(x.Pilot); err != nil {
			return c.Errorf("xds.pilot", "%v", err)
		}
	}
	if x.Meta != "" {
		if _, _, err := ParseAddress(x.Meta); err != nil {
			return c.Errorf("xds.meta", "%v", err)
		}
	}
	if !listeners[x.Listener] {
		return c.Errorf("xds.listener", "no listener named %q (known: %s)", x.Listener, strings.Join(sortedSet(listeners), ", "))
	}
	if err := CheckName(c.Node.ID); err != nil {
		return c.Errorf("node.id", "xds needs a node id: %v", err)
	}
	if err := CheckName(c.Node.App); err != nil {
		return c.Errorf("node.app", "xds needs the node's app: %v", err)
	}
	seen := map[string]bool{}
	for i, s := range x.Services {
		p := fmt.Sprintf("xds.services[%d]", i)
		if err := CheckName(s); err != nil {
			return c.Errorf(p, "%v", err)
		}
		if seen[s] {
			return c.Errorf(p, "service %q listed twice", s)
		}
		seen[s] = true
	}
	if len(x.Services) > x.MaxSubscriptions {
		return c.Errorf("xds.services", "%d services is more than xds.max_subscriptions (%d)", len(x.Services), x.MaxSubscriptions)
	}
	return nil
}
