//go:build !race

package grpclite

// acquireIO and releaseIO tell the race detector, in race builds, that what the peer
// wrote before its bytes reached the socket happened before the loop's
// raw read of them, and the converse for the raw writes to a looped
// connection (package syscall's Read and Write do so; the loop reads and
// writes with raw system calls, or io_uring). Without -race they do
// nothing.
func acquireIO() {}
func releaseIO() {}
