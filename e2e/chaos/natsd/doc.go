// Command natsd is a NATS server with JetStream in a process of its own,
// for the chaos run (e2e TestChaos): the dispatcher, the pilots and the
// scanner use it through --nats-url, and the test stops and starts it. It
// listens on --address, keeps JetStream's store in --store-dir (so that a
// restart finds the streams again), writes one line "ready nats://..." on
// stdout once it accepts clients, and stops on SIGTERM or SIGINT.
//
// natsd links the NATS server only: it must never import another OctoMesh
// package.
package main
