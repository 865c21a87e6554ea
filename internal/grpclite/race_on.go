//go:build race

package grpclite

import "syscall"

// zeroFD is /dev/zero, read to tell the race detector what the socket
// makes true (race_off.go).
var zeroFD, _ = syscall.Open("/dev/zero", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)

// acquireIO follows the loop's raw reads: a read through package syscall
// (any, so /dev/zero) is what tells the race detector that the peer's
// write, through package syscall too, came before it.
func acquireIO() {
	var b [1]byte
	_, _ = syscall.Read(zeroFD, b[:])
}
