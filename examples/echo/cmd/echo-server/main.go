package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/octomesh/octomesh/examples/echo"
)

func main() {
	socket := flag.String("socket", "/tmp/octomesh-echo.sock", "Unix socket to listen on (the sidecar forwards to it)")
	name := flag.String("name", defaultName(), "instance name put in every response")
	flag.Parse()

	h := echo.NewHandler(*name)
	svr, err := echo.NewServer(*socket, *name, h)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-server: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "echo-server: %s listening on %s\n", *name, *socket)
	err = svr.Run()
	fmt.Fprintf(os.Stderr, "echo-server: %s answered %d requests, %d distinct ids, %d ids more than once\n",
		*name, h.Total(), h.DistinctIDs(), h.RepeatedIDs())
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-server: %v\n", err)
		os.Exit(1)
	}
}

func defaultName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "echo"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
