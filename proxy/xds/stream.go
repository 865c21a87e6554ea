package xds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/scanner"
)

// session runs one ADS stream: initial requests carrying the versions the
// sidecar holds, then responses, each ACKed or NACKed, until it breaks.
func (c *Client) session(target meta.PilotInfo) error {
	conn, err := c.dial(target)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pilot = target
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(c.ctx, meta.AppHeader, c.opts.App))
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c.sendMu.Lock()
	c.mu.Lock()
	subs := c.subscriptionList()
	var initial [numKinds]map[string]string
	for k := range initial {
		initial[k] = cloneMap(c.st.versions[k])
	}
	c.stream = stream
	c.mu.Unlock()
	node := &core.Node{Id: c.opts.NodeID, Cluster: c.opts.App, Locality: &core.Locality{Zone: c.opts.Zone, SubZone: c.opts.Set}, UserAgentName: "octomesh",
		Metadata: c.nodeMetadata()}
	reqs := [numKinds]*discovery.DeltaDiscoveryRequest{
		kCluster:  {Node: node, TypeUrl: typeURLs[kCluster], ResourceNamesSubscribe: subs, InitialResourceVersions: initial[kCluster]},
		kEndpoint: {TypeUrl: typeURLs[kEndpoint], ResourceNamesSubscribe: subs, InitialResourceVersions: initial[kEndpoint]},
		kRoute:    {TypeUrl: typeURLs[kRoute], ResourceNamesSubscribe: []string{c.opts.App}, InitialResourceVersions: initial[kRoute]},
	}
	if len(c.served) > 0 {
		// Only then: a delta request naming no resource would be a
		// wildcard subscription, every service's Listener.
		reqs[kListener] = &discovery.DeltaDiscoveryRequest{TypeUrl: typeURLs[kListener], ResourceNamesSubscribe: sortedKeys(c.served), InitialResourceVersions: initial[kListener]}
	}
	for _, r := range reqs {
		if r == nil {
			continue
		}
		if err := stream.Send(r); err != nil {
			c.sendMu.Unlock()
			return streamError(stream, err)
		}
	}
	c.sendMu.Unlock()
	defer func() {
		c.sendMu.Lock()
		c.mu.Lock()
		c.stream = nil
		c.mu.Unlock()
		c.sendMu.Unlock()
	}()
	c.Stats.Connects.Add(1)
	c.log.Info("xds: connected to the pilot", "pilot", target.XDS, "id", target.ID, "services", len(subs))
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.connected, c.lastErr = true, ""
		c.mu.Unlock()
		c.Stats.Responses.Add(1)
		ack := &discovery.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}
		if err := c.handle(resp); err != nil {
			c.Stats.Nacks.Add(1)
			c.log.Warn("xds: NACK: keeping the last good configuration", "type", resp.GetTypeUrl(), "nonce", resp.GetNonce(), "err", err)
			ack.ErrorDetail = &status.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
		} else {
			c.Stats.Acks.Add(1)
		}
		if err := c.send(stream, ack); err != nil {
			return streamError(stream, err)
		}
	}
}

// streamError is why a stream that refused a Send ended: gRPC's Send says
// only io.EOF when the pilot ended the stream, and the pilot's status (a
// redirect, say, sent as soon as the stream opened) is in what Recv
// returns.
func streamError(stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient, err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	for {
		if _, rerr := stream.Recv(); rerr != nil {
			return rerr
		}
	}
}

func (c *Client) send(stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient, r *discovery.DeltaDiscoveryRequest) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return stream.Send(r)
}

// handle applies one response: translate it onto a copy of the state,
// apply the result to the target, and keep it only if all of that worked.
func (c *Client) handle(resp *discovery.DeltaDiscoveryResponse) error {
	c.mu.Lock()
	next := c.st.clone()
	subs := cloneMap(c.subs)
	c.mu.Unlock()
	k := -1
	for i, u := range typeURLs {
		if u == resp.GetTypeUrl() {
			k = i
		}
	}
	if k < 0 || k == kListener && len(c.served) == 0 {
		return fmt.Errorf("type %s was not subscribed to", resp.GetTypeUrl())
	}
	for _, r := range resp.GetResources() {
		if err := next.put(k, r, c.opts.App, c.served); err != nil {
			return err
		}
	}
	for _, name := range resp.GetRemovedResources() {
		next.remove(k, name, subs[name])
	}
	if k == kListener {
		c.mu.Lock()
		prev := c.st.authz
		c.mu.Unlock()
		if err := c.applyAuthorization(next.authz, prev); err != nil {
			return err
		}
	} else if err := c.apply(&next, subs); err != nil {
		return err
	}
	c.target.SetConfigVersion(next.version())
	c.mu.Lock()
	c.st = next
	c.routed = routedServices(next.routes)
	c.resolveWaitersLocked()
	var missing []string
	for _, r := range next.rules {
		for _, name := range r.Clusters() {
			if !c.subs[name] && !isStatic(c.opts.StaticClusters, name) && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	c.mu.Unlock()
	if len(missing) > 0 { // route rules name clusters of their own
		if err := c.Subscribe(missing...); err != nil {
			c.log.Warn("xds: cannot subscribe to the clusters the route rules use", "clusters", missing, "err", err)
		}
	}
	return nil
}

// nodeMetadata names the sidecar's inbound addresses (SetInbound), so that
// a pilot that loses this stream asks the scanners to check them now, and
// its admin address (SetAdmin), for the operator's tools.
func (c *Client) nodeMetadata() *structpb.Struct {
	fields := map[string]*structpb.Value{}
	if addrs, _ := c.inbound.Load().([]string); len(addrs) > 0 {
		list := make([]*structpb.Value, len(addrs))
		for i, a := range addrs {
			list[i] = structpb.NewStringValue(a)
		}
		fields[scanner.NodeInboundKey] = structpb.NewListValue(&structpb.ListValue{Values: list})
	}
	if admin, _ := c.admin.Load().(string); admin != "" {
		fields[scanner.NodeAdminKey] = structpb.NewStringValue(admin)
	}
	if len(fields) == 0 {
		return nil
	}
	return &structpb.Struct{Fields: fields}
}
