package main

import (
	"flag"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/octomesh/octomesh/cp/meta"
)

func runMeta(args []string) error {
	fs := flag.NewFlagSet("meta", flag.ContinueOnError)
	httpAddr := fs.String("http-address", "127.0.0.1:15020", "owner look-ups (GET /v1/owner?app=), /v1/assignment, /stats and the registration API: host:port or unix:///path")
	endpoints := fs.String("etcd-endpoints", "", "comma-separated endpoints of the registry's etcd (where pilots register); empty starts an embedded etcd")
	dataDir := fs.String("data-dir", "octomesh-meta.etcd", "the embedded etcd's data directory (without --etcd-endpoints)")
	etcdClient := fs.String("etcd-client-address", "127.0.0.1:0", "where the embedded etcd serves clients (host:port; port 0 picks one)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound addresses as JSON to this inherited file descriptor and close it")
	trustDomain := fs.String("trust-domain", "mesh.local", "with --http-tls-cert: the clients' trust domain")
	httpDoor := addDoorFlags(fs, "http", "HTTP port (owner look-ups, registration API, /stats)")
	etcdTLS := addEtcdFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	log, _, err := newLogger(*level)
	if err != nil {
		return err
	}
	httpTLS, err := httpDoor.config(*trustDomain)
	if err != nil {
		return err
	}
	eTLS, err := etcdTLS.config(*endpoints)
	if err != nil {
		return err
	}
	opts := meta.Options{HTTPTLS: httpTLS, TrustDomain: *trustDomain, EtcdTLS: eTLS, HTTPAddress: *httpAddr, DataDir: *dataDir, EtcdClientAddress: *etcdClient, Log: log}
	if *endpoints != "" {
		opts.EtcdEndpoints = strings.Split(*endpoints, ",")
	}
	m, err := meta.Start(opts)
	if err != nil {
		return err
	}
	if *readyFD > 0 {
		if err := writeReady(*readyFD, m.Addrs()); err != nil {
			m.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	m.Close()
	return nil
}
