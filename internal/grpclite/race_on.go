//go:build race

package grpclite

import "syscall"

// zeroFD is /dev/zero and nullFD /dev/null, read and written to tell the
// race detector what the socket makes true (race_off.go).
var (
	zeroFD, _ = syscall.Open("/dev/zero", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	nullFD, _ = syscall.Open("/dev/null", syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
)

// releaseIO precedes the loop's raw writes: what was done before them
// happened before the peer's read (through package syscall) of them.
func releaseIO() {
	var b [1]byte
	_, _ = syscall.Write(nullFD, b[:])
}

// acquireIO follows the loop's raw reads: a read through package syscall
// (any, so /dev/zero) is what tells the race detector that the peer's
// write, through package syscall too, came before it.
func acquireIO() {
	var b [1]byte
	_, _ = syscall.Read(zeroFD, b[:])
}
