// Package echo is the OctoMesh example service: a Kitex echo server and
// client wired to the mesh through the sdk package, and a closed-loop load
// run that checks every response.
//
// Tests, demos and benchmarks use it in-process (NewServer, NewClient,
// RunLoad) or through the commands in cmd/echo-server and cmd/echo-client.
// The Kitex code in kitex_gen is generated from echo.thrift by gen.sh; do not
// edit it by hand.
//
// Like any app, this package reaches the mesh only through sdk and the wire
// protocol: it must never import proxy/... or cp/....
package echo
