//go:build !race

package grpclite

// acquireIO tells the race detector, in race builds, that what the peer
// wrote before its bytes reached the socket happened before the loop's
// raw read of them (package syscall's Read does so for its reads; the
// loop reads with raw system calls, or io_uring). Without -race it does
// nothing.
func acquireIO() {}
