package xds

import (
	"fmt"
	"sort"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

	"github.com/octomesh/octomesh/config"
)

// resolveWaitersLocked wakes the waits for services that now have a route
// or are known not to exist.
func (c *Client) resolveWaitersLocked() {
	for name, ch := range c.waiters {
		if c.routed[name] || c.st.absent[name] {
			close(ch)
			delete(c.waiters, name)
		}
	}
}

// Subscribe adds services to the subscription (ignoring those already
// in it), records them in the subscriptions file, and asks the pilot for
// them if it is connected (else they are asked for on connecting).
func (c *Client) Subscribe(services ...string) error {
	for _, s := range services {
		if err := config.CheckName(s); err != nil {
			return fmt.Errorf("xds: service: %v", err)
		}
	}
	c.mu.Lock()
	var added []string
	for _, s := range services {
		if c.subs[s] {
			continue
		}
		if len(c.subs) >= c.opts.MaxSubscriptions {
			c.mu.Unlock()
			return fmt.Errorf("%w: %d (xds.max_subscriptions)", ErrTooManySubscriptions, c.opts.MaxSubscriptions)
		}
		c.subs[s] = true
		added = append(added, s)
	}
	stream := c.stream
	c.mu.Unlock()
	if len(added) == 0 {
		return nil
	}
	sort.Strings(added)
	c.log.Info("xds: subscribing", "services", added)
	c.writeFile()
	if stream == nil {
		return nil
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	same := c.stream == stream
	c.mu.Unlock()
	if !same {
		return nil // a new stream subscribed them in its initial requests
	}
	for _, k := range []int{kCluster, kEndpoint} {
		if err := stream.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[k], ResourceNamesSubscribe: added}); err != nil {
			return nil // the stream is breaking; the next one subscribes them
		}
	}
	return nil
}

// Await is the request path's on-demand subscription: it subscribes to
// service if needed and waits, at most Options.SubscribeWait, until the
// service has a route or the pilot says it does not exist. It reports
// whether a route is there.
func (c *Client) Await(service string) bool {
	if config.CheckName(service) != nil {
		return false
	}
	c.mu.Lock()
	if c.routed[service] {
		c.mu.Unlock()
		return true
	}
	subscribed := c.subs[service]
	if subscribed && c.st.absent[service] || !subscribed && len(c.subs) >= c.opts.MaxSubscriptions {
		c.mu.Unlock()
		return false
	}
	ch := c.waiters[service]
	if ch == nil {
		ch = make(chan struct{})
		c.waiters[service] = ch
	}
	c.mu.Unlock()
	if !subscribed {
		c.Stats.OnDemand.Add(1)
		if err := c.Subscribe(service); err != nil {
			c.log.Warn("xds: on-demand subscription refused", "service", service, "err", err)
			return false
		}
	}
	t := time.NewTimer(c.opts.SubscribeWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		c.Stats.AwaitTimeouts.Add(1)
	case <-c.ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.routed[service]
}

// Absent reports whether the pilot said service does not exist: it has no
// instances.
func (c *Client) Absent(service string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.absent[service]
}

func (c *Client) subscriptionList() []string {
	list := make([]string, 0, len(c.subs))
	for s := range c.subs {
		list = append(list, s)
	}
	sort.Strings(list)
	return list
}
