// Package sidecar is the wire contract between a sidecar process and what
// starts it (a supervisor, the agent, the demo, the tests): the JSON that
// `octomesh proxy --ready-fd N` writes to descriptor N once it serves
// (ReadyInfo).
//
// sidecar is a leaf: it imports nothing of OctoMesh, and must never
// import proxy/... (the sidecar's code), cp/... or sdk.
package sidecar
