package main

import (
	"flag"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/cp/scanner"
)

func runScanner(args []string) error {
	fs := flag.NewFlagSet("scanner", flag.ContinueOnError)
	id := fs.String("id", "", "the scanner's id in the shard map (required): restarted under the same id, it takes its share back")
	zone := fs.String("zone", "", "the zone whose instances it checks (empty: instances registered without a zone)")
	httpAddr := fs.String("http-address", "127.0.0.1:15030", "check-now and confirm requests, /stats, /debug/instances: host:port")
	advertise := fs.String("advertise", "", "the HTTP address pilots and other scanners use; default --http-address as bound")
	endpoints := fs.String("etcd-endpoints", "", "comma-separated endpoints of the registry's etcd; empty starts an embedded etcd")
	dataDir := fs.String("data-dir", "octomesh-scanner.etcd", "the embedded etcd's data directory (without --etcd-endpoints)")
	etcdClient := fs.String("etcd-client-address", "127.0.0.1:0", "where the embedded etcd serves clients (host:port; port 0 picks one)")
	leaseTTL := fs.Duration("lease-ttl", 5*time.Second, "how long its share stays with it after it dies (at least 2s)")
	period := fs.Duration("period", time.Second, "how often each instance is checked")
	timeout := fs.Duration("timeout", 500*time.Millisecond, "a check's time limit (at most --period)")
	fall := fs.Int("fall", 3, "failed checks in a row before a second scanner is asked to confirm and the instance is marked down")
	rise := fs.Int("rise", 2, "good checks in a row before a marked instance is marked up")
	maxChecks := fs.Int("max-checks", 4096, "checks in flight at most")
	natsURL := fs.String("nats-url", "", "the dispatcher's NATS (nats://host:port): publish a health notice after writing or clearing a mark")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound addresses as JSON to this inherited file descriptor and close it (for supervisors and tests)")
	trustDomain := fs.String("trust-domain", "mesh.local", "with --http-tls-cert: the callers' trust domain")
	httpDoor := addDoorFlags(fs, "http", "HTTP port (check-now from pilots, confirm from scanners, /stats); other scanners are then asked over mutual TLS too")
	etcdTLS := addEtcdFlags(fs)
	natsTLS := addNATSFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, _, err := newLogger(*level)
	if err != nil {
		return err
	}
	httpTLS, err := httpDoor.config(*trustDomain)
	if err != nil {
		return err
	}
	clientTLS, err := httpDoor.clientConfig(*trustDomain, ca.ScannerApp)
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
	opts := scanner.Options{HTTPTLS: httpTLS, ClientTLS: clientTLS, TrustDomain: *trustDomain, EtcdTLS: eTLS, ID: *id, Zone: *zone, HTTPAddress: *httpAddr, Advertise: *advertise, DataDir: *dataDir, EtcdClientAddress: *etcdClient,
		LeaseTTL: *leaseTTL, Period: *period, Timeout: *timeout, Fall: *fall, Rise: *rise, MaxChecks: *maxChecks, NATSURL: *natsURL, NATSTLS: nTLS, Log: log}
	if *endpoints != "" {
		opts.EtcdEndpoints = strings.Split(*endpoints, ",")
	}
	s, err := scanner.Start(opts)
	if err != nil {
		return err
	}
	if *readyFD > 0 {
		if err := writeReady(*readyFD, s.Addrs()); err != nil {
			s.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	s.Close() // leaves the shard map: its share moves at once
	return nil
}
