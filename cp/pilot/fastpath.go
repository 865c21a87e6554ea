package pilot

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/cp/shardmap"
)

// The scanners' fast path: when a sidecar's xDS stream drops without the
// pilot ending it, the sidecar may be dead, so the pilot asks the scanner
// that owns each of its inbound addresses (the same ring the scanners
// split their zone by, cp/shardmap.Ring) to check it now rather than at
// its next period. The pilot follows the scanners' membership keys with
// one watch; with no scanner it does nothing.

// maxFastChecks bounds the check requests in flight: a pilot that loses
// thousands of streams at once (its own network broke) must not open
// thousands of connections; the scanners' periods still find the dead.
const maxFastChecks = 64

// FastPathStats counts the pilot's check requests to scanners.
type FastPathStats struct {
	// Asked counts check-now requests sent; Failed those that failed;
	// Skipped the addresses not asked about (no scanner in their zone, or
	// too many requests in flight).
	Asked, Failed, Skipped atomic.Uint64
}

// scannerZones is one state of the scanners' membership: a ring per zone.
type scannerZones struct {
	rings map[string]*shardmap.Ring
	infos map[string]scanner.Info
}

type fastPath struct {
	ctx    context.Context
	log    *slog.Logger
	stats  *FastPathStats
	client *scanner.Client
	cur    atomic.Pointer[scannerZones]
	slots  chan struct{}
}

// WatchPrefixer is the part of cp/store the fast path reads.
type WatchPrefixer interface {
	WatchPrefix(ctx context.Context, prefix string, update func(state map[string][]byte, rev int64))
}

// startFastPath follows the scanners in st and makes srv ask them to
// check the sidecars whose streams drop, until ctx ends; over mutual TLS
// when scannerTLS is not nil (Options.ScannerTLS).
func startFastPath(ctx context.Context, st WatchPrefixer, srv *Server, log *slog.Logger, scannerTLS *tls.Config) *fastPath {
	f := &fastPath{ctx: ctx, log: log, stats: &srv.FastPath, client: scanner.NewClientTLS(2*time.Second, scannerTLS), slots: make(chan struct{}, maxFastChecks)}
	f.cur.Store(&scannerZones{})
	go st.WatchPrefix(ctx, shardmap.ScannerPrefix, f.setScanners)
	srv.sessions.dropped = f.dropped
	return f
}

func (f *fastPath) setScanners(state map[string][]byte, _ int64) {
	byZone := map[string][]string{}
	infos := map[string]scanner.Info{}
	for _, v := range state {
		s, err := shardmap.DecodeScanner(v)
		if err != nil {
			continue
		}
		infos[s.ID] = s
		byZone[s.Zone] = append(byZone[s.Zone], s.ID)
	}
	z := &scannerZones{rings: map[string]*shardmap.Ring{}, infos: infos}
	for zone, ids := range byZone {
		z.rings[zone] = shardmap.NewRing(ids)
	}
	f.cur.Store(z)
}

// scanners lists the live scanners' records the pilot follows, by id.
func (f *fastPath) scanners() []scanner.Info {
	z := f.cur.Load()
	out := make([]scanner.Info, 0, len(z.infos))
	for _, s := range z.infos {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// dropped asks the owners of inbound's addresses to check them now.
func (f *fastPath) dropped(zone string, inbound []string) {
	if f.ctx.Err() != nil {
		return // the pilot is stopping: its streams end, not the sidecars
	}
	z := f.cur.Load()
	ring := z.rings[zone]
	for _, addr := range inbound {
		var info scanner.Info
		if ring != nil {
			info = z.infos[ring.Owner(addr)]
		}
		if info.HTTP == "" {
			f.stats.Skipped.Add(1)
			continue
		}
		select {
		case f.slots <- struct{}{}:
		default:
			f.stats.Skipped.Add(1)
			continue
		}
		f.stats.Asked.Add(1)
		go func() {
			defer func() { <-f.slots }()
			if err := f.client.CheckNow(f.ctx, info.HTTP, addr); err != nil {
				f.stats.Failed.Add(1)
				f.log.Debug("pilot: asking a scanner to check a sidecar failed", "scanner", info.ID, "address", addr, "err", err)
			}
		}()
	}
}

// nodeInbound reads a node's inbound addresses from its metadata.
func nodeInbound(node *core.Node) []string {
	v := node.GetMetadata().GetFields()[scanner.NodeInboundKey]
	var out []string
	for _, a := range v.GetListValue().GetValues() {
		if s := a.GetStringValue(); s != "" && len(out) < 16 {
			out = append(out, s)
		}
	}
	return out
}
