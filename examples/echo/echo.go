package echo

import (
	"fmt"

	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"

	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// ServiceName is the name the echo service has in the mesh: the
// destination service of NewClient's calls, which the sidecar routes on.
const ServiceName = "echo"

// NewServer returns a Kitex echo server for the instance called name,
// listening on the Unix socket appSocket behind the local sidecar (see
// sdk.ServerOptions: the socket is bound when NewServer returns, and a stale
// socket file is replaced).
//
// h answers the calls; keep it to read its counts. If h is nil, NewServer
// makes one with NewHandler(name). A non-nil h must carry the same name, so
// that responses name the instance that answered them.
//
// Run the server with Run, which blocks until Stop or SIGINT/SIGTERM.
// Beware a Kitex trap: Stop called before Run has got past its start-up
// does nothing, and Run then never returns. Stop a server only once it has
// answered a call, as the tests do.
func NewServer(appSocket, name string, h *Handler) (server.Server, error) {
	if h == nil {
		h = NewHandler(name)
	} else if h.Name() != name {
		return nil, fmt.Errorf("echo: handler is named %q, server %q", h.Name(), name)
	}
	opts, err := sdk.ServerOptions(appSocket)
	if err != nil {
		return nil, err
	}
	opts = append(opts, server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: ServiceName}))
	return echoservice.NewServer(h, opts...), nil
}

// NewClient returns a Kitex echo client that sends every call to the
// sidecar (or, for a direct run, the echo server) listening on the Unix
// socket sidecarSocket, with destination service ServiceName.
func NewClient(sidecarSocket string) (echoservice.Client, error) {
	return echoservice.NewClient(ServiceName, sdk.ClientOptions(sidecarSocket)...)
}
