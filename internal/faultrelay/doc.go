// Package faultrelay is a TCP relay on loopback that injects network
// faults between two processes, for tests on machines without netem or
// iptables: the chaos run (e2e) puts it between a client's sidecar and a
// server's sidecar. Its modes are Pass (bytes flow), Partition (existing
// connections are reset, new ones are reset at once), Blackhole (nothing
// passes, nothing is reset: bytes wait in the relay and the kernel's
// buffers, as packets a link drops wait for TCP to send them again, and
// flow once the mode is Pass again) and Loss (a chunk, with the given
// probability, is held for the given delay before it passes: a relay that
// terminates TCP cannot lose a packet, only delay it as a retransmit does).
//
// faultrelay is a leaf: it must never import another OctoMesh package.
package faultrelay
