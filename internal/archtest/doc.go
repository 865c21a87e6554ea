// Package archtest holds the test that keeps the package arrows of
// docs/architecture.md true: leaves import nothing of ours, the hot path
// never reaches the control plane, only proxy/transport imports netpoll.
package archtest
