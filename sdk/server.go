package sdk

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/server"
)

// Errors returned by ServerOptions, usable with errors.Is.
var (
	// ErrNotSocket: the app socket path exists and is not a Unix socket.
	// The SDK never removes such a file.
	ErrNotSocket = errors.New("sdk: app socket path exists and is not a socket")
	// ErrSocketInUse: another process is accepting on the app socket.
	ErrSocketInUse = errors.New("sdk: app socket is in use by a live listener")
)

// staleProbeTimeout bounds the dial that tells a stale socket file from a
// live one. A live listener on the same host answers at once.
const staleProbeTimeout = 100 * time.Millisecond

// ServerOptions prepares the Unix socket appSocket and returns the Kitex
// server options that serve on it behind the local sidecar.
//
// Unlike ClientOptions it can fail, so it returns an error, and it has an
// effect: it binds the socket before returning. In order:
//
//   - if appSocket exists and is not a socket, it fails with ErrNotSocket
//     and leaves the file alone (Kitex itself would unlink any file at the
//     path without looking);
//   - if it is a socket that something still accepts on, it fails with
//     ErrSocketInUse rather than steal the path from a running server;
//   - if it is a stale socket (connection refused), it removes it;
//   - it listens on appSocket.
//
// Binding here means bind errors (permissions, a path longer than the
// 108-byte Unix limit) are reported now, and that the socket accepts
// connections as soon as ServerOptions returns: clients and the sidecar
// queue in the backlog until the server's Run starts serving, so no caller
// has to poll for readiness. The listener belongs to the returned options:
// pass them to exactly one server and Run it. Stopping that server closes
// the listener and removes the socket file; options that are never used
// keep the socket bound until the process exits.
//
// The options also install transmeta.ServerTTHeaderHandler, which reads the
// caller's service, method and RPC timeout from the TTHeader (Kitex servers
// accept TTHeader requests without it, but ignore those keys).
func ServerOptions(appSocket string) ([]server.Option, error) {
	if appSocket == "" {
		return nil, errors.New("sdk: empty app socket path")
	}
	if err := removeStaleSocket(appSocket); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: appSocket, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("sdk: listen on app socket: %w", err)
	}
	return []server.Option{
		server.WithListener(ln),
		server.WithServiceAddr(ln.Addr()),
		server.WithMetaHandler(transmeta.ServerTTHeaderHandler),
	}, nil
}

// removeStaleSocket makes path free for a new listener if it holds a socket
// that nobody accepts on, and refuses anything else that is in the way.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sdk: inspect app socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%w: %s is %s", ErrNotSocket, path, describeMode(fi.Mode()))
	}
	conn, err := net.DialTimeout("unix", path, staleProbeTimeout)
	switch {
	case err == nil:
		conn.Close()
		return fmt.Errorf("%w: %s", ErrSocketInUse, path)
	case errors.Is(err, syscall.ECONNREFUSED):
		// Nobody listens: a leftover of a process that did not clean up.
	case errors.Is(err, fs.ErrNotExist):
		return nil // removed since the Lstat
	default:
		return fmt.Errorf("sdk: probe app socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sdk: remove stale app socket: %w", err)
	}
	return nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	default:
		return "not a socket (mode " + m.String() + ")"
	}
}
