// Command echo-server runs the OctoMesh example echo service on a Unix
// socket, the way an app runs behind its sidecar. It serves until SIGINT or
// SIGTERM, then prints how many requests it answered.
//
// Like any app, it reaches the mesh through the sdk and the wire protocol
// only: it must never import proxy/... or cp/....
package main
