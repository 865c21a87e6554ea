package sdk

import (
	"context"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/connpool"
	"github.com/cloudwego/kitex/pkg/discovery"
	remoteconnpool "github.com/cloudwego/kitex/pkg/remote/connpool"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/stats"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/transport"
)

// Client connection settings. The sidecar is a process on the same host,
// reached over a Unix socket, so the numbers are chosen for that case.
const (
	// ClientConnectTimeout bounds a dial to the sidecar. A Unix socket
	// connect completes in microseconds or fails at once (no listener,
	// ENOENT); only a sidecar whose accept backlog is full makes it wait,
	// and then failing fast is the right answer. Kitex's default is 50ms.
	ClientConnectTimeout = 100 * time.Millisecond

	// ClientMaxIdleConns is how many idle connections to the sidecar the
	// pool keeps. Kitex's long-connection pool is not multiplexed: a
	// connection carries one call at a time, so N concurrent calls use N
	// connections. Calls beyond the idle cap still get a connection, but
	// it is closed after the call instead of being pooled, which turns
	// every call into a dial plus a close for the sidecar. The cap is
	// therefore set above the concurrency we expect from one app; idle
	// connections cost the sidecar a file descriptor and small buffers.
	ClientMaxIdleConns = 256

	// ClientMinIdleConns idle connections are kept even when idle longer
	// than ClientIdleTimeout, so a quiet app does not pay a dial on its
	// next call. Kitex caps this at 5.
	ClientMinIdleConns = 2

	// ClientIdleTimeout closes pooled connections idle for longer. It is
	// Kitex's default, and it must stay shorter than the sidecar's own
	// idle timeout on app connections, so that the client, not the
	// sidecar, closes an idle connection and a call never races a close.
	ClientIdleTimeout = 30 * time.Second
)

// ClientOptions returns the Kitex client options that send every call of a
// client to the sidecar listening on the Unix socket sidecarSocket.
//
// The destination service name given to the generated NewClient is not
// resolved by Kitex: it travels in the TTHeader (int key ToService), and the
// sidecar routes on it. The options are:
//
//   - a resolver that resolves every destination to one instance, network
//     "unix", address sidecarSocket;
//   - TTHeader transport, so calls carry a header the sidecar can route on
//     without decoding the Thrift payload. It is spelled TTHeaderFramed
//     because that is what Kitex sends either way: since v0.13 a client
//     starts with the Framed bit set and WithTransportProtocol ORs bits in,
//     so WithTransportProtocol(transport.TTHeader) also yields a framed
//     payload (a 4-byte length, then the strict Thrift binary message) and
//     int key TransportType (1) = "framed". Writing it out keeps the code
//     honest about the bytes on the wire;
//   - transmeta.ClientTTHeaderHandler, without which Kitex writes no
//     ToService (6) and ToMethod (9) int keys and the sidecar cannot route;
//   - a long-connection pool (ClientMaxIdleConns, ClientMinIdleConns,
//     ClientIdleTimeout) so calls reuse connections instead of dialing;
//   - a middleware that retries, once, a call the sidecar answered with
//     "restarting" (see restart.go): the sidecar is being replaced, did not
//     forward the call, and a new connection reaches its successor; or a
//     call that was never written because its pooled connection had just
//     been closed. Detailed stats are on, so the middleware can tell;
//   - a middleware that reports the errors a sidecar makes itself (a call
//     answered "rate_limited", "circuit_open", "timeout", ...) as the Kitex
//     error of the same meaning with a *MeshError as its cause
//     (errors.Is(err, kerrors.ErrRPCTimeout); AsMeshError, IsNotForwarded);
//   - a short connect timeout (ClientConnectTimeout). Kitex sends a
//     connect timeout set this way in the header (int key ConnectTimeout,
//     17); it describes the app-to-sidecar hop only.
//
// No RPC timeout is set: Kitex's default is none, and the deadline belongs
// to the app. Set one with client.WithRPCTimeout (Kitex then sends it in
// int key RPCTimeout, 12) or per call with callopt. Options appended after
// these override them, for example a different client.WithLongConnection.
//
// Building the options cannot fail: a missing or dead sidecar socket shows
// up as a connection error on the call. Kitex retries a failed dial by
// itself, up to 6 times back to back (kerrors.ErrGetConnection is
// "retryable" in its resolve middleware); with one instance that is the same
// sidecar socket each time.
func ClientOptions(sidecarSocket string) []client.Option {
	pool := newRestartPool(remoteconnpool.NewLongPool("octomesh-sidecar", connpool.IdleConfig{
		MinIdlePerAddress: ClientMinIdleConns,
		MaxIdlePerAddress: ClientMaxIdleConns,
		MaxIdleGlobal:     ClientMaxIdleConns,
		MaxIdleTimeout:    ClientIdleTimeout,
	}))
	return []client.Option{
		client.WithResolver(newSidecarResolver(sidecarSocket)),
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		client.WithConnPool(pool),
		client.WithConnectTimeout(ClientConnectTimeout),
		client.WithMiddleware(retryOnRestart(pool, sidecarSocket)),
		client.WithMiddleware(meshErrors),
		// The retry needs to know whether a failed call was written
		// (stats.WriteFinish); recording Kitex's detailed events costs
		// about ten timestamps a call.
		client.WithStatsLevel(stats.LevelDetailed),
	}
}

// sidecarResolver is a discovery.Resolver that resolves every destination
// service to the one local sidecar. It is immutable and safe for concurrent
// use.
type sidecarResolver struct {
	name   string
	result discovery.Result
}

func newSidecarResolver(socket string) *sidecarResolver {
	// The name keys Kitex's resolver and balancer caches, so it includes
	// the socket path: two clients of one process pointed at different
	// sockets must not share a cache entry.
	name := "octomesh-sidecar:" + socket
	return &sidecarResolver{
		name: name,
		result: discovery.Result{
			Cacheable: true,
			CacheKey:  name,
			Instances: []discovery.Instance{
				discovery.NewInstance("unix", socket, discovery.DefaultWeight, nil),
			},
		},
	}
}

// Target returns the same description for every destination: they all
// resolve to the sidecar, so they share one cache entry.
func (r *sidecarResolver) Target(context.Context, rpcinfo.EndpointInfo) string {
	return r.name
}

// Resolve returns the sidecar instance.
func (r *sidecarResolver) Resolve(context.Context, string) (discovery.Result, error) {
	return r.result, nil
}

// Diff reports the change between two results; ours never changes.
func (r *sidecarResolver) Diff(cacheKey string, prev, next discovery.Result) (discovery.Change, bool) {
	return discovery.DefaultDiff(cacheKey, prev, next)
}

// Name returns the resolver's name, which includes the socket path.
func (r *sidecarResolver) Name() string {
	return r.name
}
