package main

import (
	"flag"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/octomesh/octomesh/cp/pilot"
)

func runPilot(args []string) error {
	fs := flag.NewFlagSet("pilot", flag.ContinueOnError)
	xdsAddr := fs.String("xds-address", "127.0.0.1:15010", "where sidecars connect for xDS (gRPC): host:port or unix:///path")
	httpAddr := fs.String("http-address", "127.0.0.1:15011", "registration API, /debug/sessions and /stats: host:port or unix:///path")
	endpoints := fs.String("etcd-endpoints", "", "comma-separated endpoints of an etcd cluster to use as the registry; empty starts an embedded etcd")
	dataDir := fs.String("data-dir", "octomesh-pilot.etcd", "the embedded etcd's data directory")
	etcdClient := fs.String("etcd-client-address", "127.0.0.1:0", "where the embedded etcd serves clients (host:port; port 0 picks one)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound addresses as JSON to this inherited file descriptor and close it (for supervisors and tests)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, _, err := newLogger(*level)
	if err != nil {
		return err
	}
	opts := pilot.Options{XDSAddress: *xdsAddr, HTTPAddress: *httpAddr, DataDir: *dataDir, EtcdClientAddress: *etcdClient, Log: log}
	if *endpoints != "" {
		opts.EtcdEndpoints = strings.Split(*endpoints, ",")
	}
	p, err := pilot.Start(opts)
	if err != nil {
		return err
	}
	if *readyFD > 0 {
		if err := writeReady(*readyFD, p.Addrs()); err != nil {
			p.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	p.Close()
	return nil
}
