package pilot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	gcplog "github.com/envoyproxy/go-control-plane/pkg/log"
	"github.com/envoyproxy/go-control-plane/pkg/server/config"
	"github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/octomesh/octomesh/stats"
)

// Stats counts what the xDS server did.
type Stats struct {
	// Sessions is the number of xDS streams open now.
	Sessions atomic.Int64
	// IdentityRefused counts streams refused because, with mutual TLS
	// required, they had no certificate or named another app than it.
	IdentityRefused atomic.Uint64
	// Watches is the number of Data Cache entries, each one registry watch:
	// ServiceWatches of services, RouteWatches of apps' route rules.
	Watches, ServiceWatches, RouteWatches atomic.Int64
	// Changes counts resource changes (kind, name) pushed to sessions.
	Changes atomic.Uint64
	// Versions counts new resource versions encoded.
	Versions atomic.Uint64
	// Pushes counts responses sent; ResourcesSent the resources in them
	// (updated and removed).
	Pushes, ResourcesSent atomic.Uint64
	// Acks and Nacks count the clients' answers to responses.
	Acks, Nacks atomic.Uint64
	// PushDelay is, for each new version of a resource a session already
	// held, the time from the change reaching the Data Cache to the
	// response being handed to the session's stream: the pilot's share
	// of the push latency.
	PushDelay stats.Histogram
	// AckDelay is, for those pushes, the time from the response being
	// handed to the stream to the session's ACK of it: the network, the
	// client's own work and its answer. PushAcked is the whole of the
	// pilot's view, from the change reaching the Data Cache to the ACK.
	AckDelay, PushAcked stats.Histogram
	// LastChange is when (Unix ns) the Data Cache last published a new
	// version of a resource: with the time of the registry write, the
	// first stage of a push (etcd write to Data Cache).
	LastChange atomic.Int64
	// LastPushAck is when (Unix ns) a session last ACKed a pushed
	// version (the latest of those recorded in PushAcked): with the time
	// of the registry write, when a push's last ACK arrived.
	LastPushAck atomic.Int64
	// lastPush counts the latest push's ACKs to the millisecond
	// (LastPush, GET /debug/push).
	lastPush lastPush
}

// Server is the pilot's xDS server: delta ADS for sidecars, served by the
// pilot's own handler (delta.go), and state-of-the-world ADS for proxyless
// gRPC clients, served by go-control-plane's stream handling; both over
// the Snapshot.
type Server struct {
	Stats Stats
	// Shard counts the sharding work of a pilot that is a shard.
	Shard ShardStats
	// FastPath counts the checks asked of scanners for dropped streams.
	FastPath FastPathStats
	sessions *SessionMgr
	snapshot *Snapshot
	xds      serverv3.Server
	ctx      context.Context
	deltaIDs atomic.Int64
}

// NewServer returns an xDS server whose data comes from src. ctx bounds
// its life: when it ends, streams and Source watches end.
func NewServer(ctx context.Context, src Source, log *slog.Logger) *Server {
	s := &Server{ctx: ctx}
	p := &Snapshot{log: log, stats: &s.Stats}
	p.dc = newDataCache(ctx, src, log, &s.Stats, p.push)
	p.ability = newAbilityMgr(p.dc)
	p.sessions = newSessionMgr(log, &s.Stats, p.ability)
	s.sessions, s.snapshot = p.sessions, p
	s.xds = serverv3.NewServer(ctx, p, p.sessions, config.DeactivateLegacyWildcard(), withLogger(log))
	return s
}

// RequireIdentity makes every stream show a certificate (the gRPC server's
// credentials must be XDSTLS's) and name only its certificate's app.
func (s *Server) RequireIdentity() { s.sessions.requireIdentity = true }

// Register serves ADS (delta and state of the world) on g.
func (s *Server) Register(g *grpc.Server) {
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, s)
}

// StreamAggregatedResources serves one state-of-the-world ADS stream
// (proxyless gRPC clients) with go-control-plane's server.
func (s *Server) StreamAggregatedResources(stream discoverygrpc.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	return s.xds.StreamAggregatedResources(stream)
}

// LastPush returns the latest push's ACKs, to the millisecond.
func (s *Server) LastPush() PushAcks { return s.Stats.lastPush.snapshot() }

// Sessions describes the connected clients.
func (s *Server) Sessions() []SessionInfo { return s.sessions.Sessions() }

// Subscribers is the number of sessions subscribed to service's endpoints.
func (s *Server) Subscribers(service string) int {
	return s.snapshot.ability.count(kindEndpoint, service)
}

// WriteStats writes the counters as "name value" lines, sorted.
func (s *Server) WriteStats(w io.Writer) {
	m := map[string]uint64{
		"pilot.sessions":         uint64(s.Stats.Sessions.Load()),
		"pilot.watches":          uint64(s.Stats.Watches.Load()),
		"pilot.watches.services": uint64(s.Stats.ServiceWatches.Load()),
		"pilot.watches.routes":   uint64(s.Stats.RouteWatches.Load()),
		"pilot.changes":          s.Stats.Changes.Load(),
		"pilot.versions":         s.Stats.Versions.Load(),
		"pilot.pushes":           s.Stats.Pushes.Load(),
		"pilot.resources_sent":   s.Stats.ResourcesSent.Load(),
		"pilot.acks":             s.Stats.Acks.Load(),
		"pilot.nacks":            s.Stats.Nacks.Load(),
		"pilot.identity_refused": s.Stats.IdentityRefused.Load(),
		"fastpath.asked":         s.FastPath.Asked.Load(),
		"fastpath.failed":        s.FastPath.Failed.Load(),
		"fastpath.skipped":       s.FastPath.Skipped.Load(),
	}
	for name, h := range map[string]*stats.Histogram{"pilot.push_delay": &s.Stats.PushDelay, "pilot.ack_delay": &s.Stats.AckDelay, "pilot.push_acked": &s.Stats.PushAcked} {
		pd := h.Snapshot()
		m[name+".count"] = pd.Count()
		m[name+".p50_us"] = uint64(pd.Quantile(0.5).Microseconds())
		m[name+".p99_us"] = uint64(pd.Quantile(0.99).Microseconds())
		m[name+".max_us"] = uint64(pd.Quantile(1).Microseconds())
	}
	m["pilot.last_change_unix_us"] = uint64(s.Stats.LastChange.Load() / 1e3)
	m["pilot.last_push_ack_unix_us"] = uint64(s.Stats.LastPushAck.Load() / 1e3)
	lp := s.LastPush()
	m["pilot.last_push.acked"], m["pilot.last_push.later"] = lp.Acked, lp.Later
	for name, q := range map[string]float64{"p50": 0.5, "p99": 0.99, "max": 1} {
		d := lp.Quantile(q)
		if d < 0 {
			d = lastPushSpan // among the later ones
		}
		m["pilot.last_push."+name+"_ms"] = uint64(d.Milliseconds())
	}
	if s.snapshot.shard != nil {
		m["shard.owned"] = uint64(s.Shard.Owned.Load())
		m["shard.preloaded"] = uint64(s.Shard.Preloaded.Load())
		m["shard.redirects"] = s.Shard.Redirects.Load()
		m["shard.moved"] = s.Shard.Moved.Load()
		m["shard.app_writes"] = s.Shard.AppWrites.Load()
		m["shard.gained"] = s.Shard.Gained.Load()
		m["shard.lost"] = s.Shard.Lost.Load()
	}
	writeSorted(w, m)
}

func writeSorted(w io.Writer, m map[string]uint64) {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s %d\n", n, m[n])
	}
}

// withLogger sends go-control-plane's own log lines to log: its chatter
// at debug level, its warnings and errors as such.
func withLogger(l *slog.Logger) config.XDSOption {
	return sotw.WithLogger(gcplog.LoggerFuncs{
		DebugFunc: func(f string, a ...any) { l.Debug("go-control-plane: " + fmt.Sprintf(f, a...)) },
		InfoFunc:  func(f string, a ...any) { l.Debug("go-control-plane: " + fmt.Sprintf(f, a...)) },
		WarnFunc:  func(f string, a ...any) { l.Warn("go-control-plane: " + fmt.Sprintf(f, a...)) },
		ErrorFunc: func(f string, a ...any) { l.Error("go-control-plane: " + fmt.Sprintf(f, a...)) },
	})
}

// XDSServerOptions are the gRPC server options of the xDS port (without
// credentials): ping an idle sidecar every 30s and give it 20s to answer:
// long enough for a sidecar on a busy machine, short enough to free a dead
// one's session within a minute. Buffer sizes stay gRPC's: in the gRPC this
// module uses (1.84) a connection takes its read and write buffers from shared pools only
// while it reads or writes, so an idle session holds neither (measured:
// BenchmarkSessionMemory, docs/performance.md). The codec is gRPC's proto
// codec, except that a push encoded once for many sessions is sent as its
// bytes (delta.go). The receive windows are gRPC's default 64 KiB, but
// static: a dynamic window makes gRPC ping the client after the first
// data it receives following each ping's answer (its bandwidth-delay
// estimate), that is after nearly every ACK of a push: a write and a
// read more per session and push, for a stream whose requests are small.
func XDSServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(xdsCodec{}),
		grpc.StaticStreamWindowSize(64 << 10),
		grpc.StaticConnWindowSize(64 << 10),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
}
