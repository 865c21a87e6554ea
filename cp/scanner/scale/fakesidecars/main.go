package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/scanner/scannertest"
)

func main() {
	reg := flag.String("registry", "127.0.0.1:15011", "the registration API (a pilot's HTTP address)")
	first := flag.Int("first-service", 0, "the first service's number (svc-K)")
	services := flag.Int("services", 50, "services served by this process")
	per := flag.Int("per-service", 100, "instances per service (at most 250)")
	port := flag.Int("port", 21000, "the port every fake sidecar listens on (each on its own loopback address)")
	zone := flag.String("zone", "", "the instances' zone")
	kill := flag.String("kill", "", "when this file appears, kill instance 0 of every service")
	flag.Parse()
	if err := run(*reg, *first, *services, *per, *port, *zone, *kill); err != nil {
		fmt.Fprintln(os.Stderr, "fakesidecars:", err)
		os.Exit(1)
	}
}

func run(reg string, first, services, per, port int, zone, kill string) error {
	api, err := registry.NewClient(reg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var victims []*scannertest.Sidecar
	var lease registry.LeaseID
	began := time.Now()
	for k := first; k < first+services; k++ {
		for j := 0; j < per; j++ {
			f, err := scannertest.Start(fmt.Sprintf("127.88.%d.%d:%d", k, j+1, port))
			if err != nil {
				return err
			}
			if j == 0 {
				victims = append(victims, f)
			}
			in := registry.Instance{Service: fmt.Sprintf("svc-%d", k), App: fmt.Sprintf("svc-%d", k), Address: f.Addr(), Weight: 1, Zone: zone}
			if lease == 0 {
				if lease, _, err = api.Register(ctx, in, 30*time.Second); err != nil {
					return err
				}
			} else if err := api.Update(ctx, lease, in); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(os.Stderr, "fakesidecars: %d sidecars up and registered in %s\n", services*per, time.Since(began).Round(time.Millisecond))
	go func() {
		for range time.Tick(5 * time.Second) {
			if err := api.KeepAlive(ctx, lease); err != nil {
				slog.Error("fakesidecars: keep alive", "err", err)
			}
		}
	}()
	if kill != "" {
		go func() {
			for {
				if _, err := os.Stat(kill); err == nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			for _, f := range victims {
				f.Kill()
			}
			fmt.Fprintf(os.Stderr, "fakesidecars: killed %d sidecars\n", len(victims))
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}
