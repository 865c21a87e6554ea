// Command racy has a data race, then behaves as a sidecar to proc: it
// says ready on fd 3 and exits on SIGTERM. Built with -race, it reports
// the race on stderr.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	n := 0
	done := make(chan bool)
	go func() {
		n++ // races with the increment below
		done <- true
	}()
	n++
	<-done
	ready := os.NewFile(3, "ready")
	_, _ = ready.WriteString("{}\n")
	_ = ready.Close()
	<-stop
	os.Exit(n - 2) // 0
}
