package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/internal/idlegc"
)

func runPilot(args []string) error {
	fs := flag.NewFlagSet("pilot", flag.ContinueOnError)
	xdsAddr := fs.String("xds-address", "127.0.0.1:15010", "where sidecars connect for xDS (gRPC): host:port or unix:///path")
	httpAddr := fs.String("http-address", "127.0.0.1:15011", "registration API, /debug/sessions and /stats: host:port or unix:///path")
	endpoints := fs.String("etcd-endpoints", "", "comma-separated endpoints of an etcd cluster to use as the registry; empty starts an embedded etcd")
	dataDir := fs.String("data-dir", "octomesh-pilot.etcd", "the embedded etcd's data directory")
	etcdClient := fs.String("etcd-client-address", "127.0.0.1:0", "where the embedded etcd serves clients (host:port; port 0 picks one)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	shardID := fs.String("shard-id", "", "join a sharded control plane under this id: serve only the apps Meta assigns to this pilot (the pilots and Meta share the registry's etcd)")
	leaseTTL := fs.Duration("shard-lease-ttl", 5*time.Second, "with --shard-id: how long the pilot's apps stay with it after it dies (at least 2s)")
	advertise := fs.String("shard-advertise", "", "with --shard-id: the xDS address sidecars are sent to; default --xds-address as bound")
	natsURL := fs.String("nats-url", "", "learn rule changes from the dispatcher's notices on this NATS (nats://host:port) instead of watching rules in etcd; empty: watch etcd (standalone)")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound addresses as JSON to this inherited file descriptor and close it (for supervisors and tests)")
	xdsCert := fs.String("xds-tls-cert", "", "make the xDS port mutual TLS with this certificate (PEM; `octomesh ca issue --app octomesh-pilot`): every sidecar shows its own, and is served only its certificate's app")
	xdsKey := fs.String("xds-tls-key", "", "the key of --xds-tls-cert")
	xdsBundle := fs.String("xds-tls-bundle", "", "the roots sidecars' certificates are verified with (PEM)")
	xdsTransport := fs.String("xds-transport", pilot.TransportLean, "what serves the xDS port's delta ADS streams: lean (one goroutine per sidecar connection; every other stream is gRPC-go's) or grpc (gRPC-go's server for all)")
	trustDomain := fs.String("trust-domain", "mesh.local", "with --xds-tls-cert or --http-tls-cert: the clients' trust domain")
	httpDoor := addDoorFlags(fs, "http", "HTTP port (registration API, debug pages, /stats)")
	etcdTLS := addEtcdFlags(fs)
	natsTLS := addNATSFlags(fs)
	scannerTLS := fs.Bool("scanner-tls", false, "ask scanners to check dropped sidecars over mutual TLS, with the --http-tls-cert certificate (scanners with --http-tls-cert)")
	pprofOn := fs.Bool("pprof", false, "serve Go's profiles (net/http/pprof) under /debug/pprof/ on --http-address")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if (*xdsCert != "") != (*xdsKey != "") || (*xdsCert != "") != (*xdsBundle != "") {
		return usageError{errors.New("--xds-tls-cert, --xds-tls-key and --xds-tls-bundle go together")}
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
	nTLS, err := natsTLS.config(*natsURL)
	if err != nil {
		return err
	}
	var sTLS *tls.Config
	if *scannerTLS {
		if httpTLS == nil {
			return usageError{errors.New("--scanner-tls needs --http-tls-cert, --http-tls-key and --http-tls-bundle: the pilot's certificate")}
		}
		if sTLS, err = httpDoor.clientConfig(*trustDomain, ca.ScannerApp); err != nil {
			return err
		}
	}
	opts := pilot.Options{HTTPTLS: httpTLS, ScannerTLS: sTLS, TrustDomain: *trustDomain, EtcdTLS: eTLS, XDSAddress: *xdsAddr, HTTPAddress: *httpAddr, DataDir: *dataDir, EtcdClientAddress: *etcdClient, NATSURL: *natsURL, NATSTLS: nTLS, Pprof: *pprofOn, XDSTransport: *xdsTransport, Log: log}
	if *endpoints != "" {
		opts.EtcdEndpoints = strings.Split(*endpoints, ",")
	}
	if *shardID != "" {
		opts.Shard = &pilot.ShardOptions{ID: *shardID, LeaseTTL: *leaseTTL, Advertise: *advertise}
	}
	if *xdsCert != "" {
		if opts.XDSTLS, err = pilot.XDSTLS(*xdsCert, *xdsKey, *xdsBundle, *trustDomain); err != nil {
			return err
		}
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
	// Collect in quiet moments (after a ramp or a failover of sessions),
	// before the pacer's cycle comes due in a push (internal/idlegc).
	gcCtx, stopGC := context.WithCancel(context.Background())
	defer stopGC()
	go idlegc.Run(gcCtx, time.Second, 1<<20, 16<<20)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := p.Drain(ctx); err != nil {
		log.Warn("drain", "err", err)
	}
	cancel()
	p.Close()
	return nil
}
