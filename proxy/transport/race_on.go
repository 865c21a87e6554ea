//go:build race

package transport

import "sync/atomic"

// ioSync tells the race detector what the socket makes true: a frame
// WriteFrame has taken was written before any frame that answers it is
// read. Frames go out and come back through raw syscalls, which the
// detector cannot see; without this, a caller that reuses a frame's memory
// once its answer arrived (a retry that rewrites the frame's timeout) is
// reported as racing with the write. Go's net package does the same for
// its sockets (internal/poll's ioSync).
var ioSync atomic.Uint64

// releaseIO follows a frame taken for writing.
func releaseIO() { ioSync.Add(1) }

// acquireIO precedes serving a frame read.
func acquireIO() { ioSync.Load() }
