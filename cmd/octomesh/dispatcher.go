package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/cp/dispatcher"
)

func runDispatcher(args []string) error {
	fs := flag.NewFlagSet("dispatcher", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "octomesh-dispatcher.data", "the embedded NATS's JetStream store (jetstream/), the embedded etcd's data (etcd/) and the operator token")
	natsURL := fs.String("nats-url", "", "an external NATS with JetStream (nats://host:port, comma-separated); empty starts an embedded one")
	natsAddr := fs.String("nats-address", "127.0.0.1:4222", "where the embedded NATS serves clients (host:port; port 0 picks one)")
	endpoints := fs.String("etcd-endpoints", "", "comma-separated endpoints of the registry's etcd; empty starts an embedded etcd")
	etcdClient := fs.String("etcd-client-address", "127.0.0.1:0", "where the embedded etcd serves clients (host:port; port 0 picks one)")
	apiAddr := fs.String("api-address", "127.0.0.1:15050", "the operator API: notices, rules (ctl), releases, nodes, /stats, /metrics, /healthz: host:port (keep it on loopback or a trusted network)")
	tokenFile := fs.String("token-file", "", "the operator token that writes to the API need (Authorization: Bearer); default <data-dir>/operator.token, created when missing")
	agentTokenFile := fs.String("agent-token-file", "", "a file holding the token agents' release polls and reports must carry; empty: agents are accepted from loopback only")
	backCheck := fs.Duration("back-check", 30*time.Second, "how often every pilot's revisions are compared with etcd's (also after each reassignment and when a pilot reconnects)")
	etcdTLS := addEtcdFlags(fs)
	natsTLS := addNATSFlags(fs)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound addresses as JSON to this inherited file descriptor and close it (for supervisors and tests)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *backCheck <= 0 {
		return usageError{fmt.Errorf("--back-check %v: must be positive", *backCheck)}
	}
	log, _, err := newLogger(*level)
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
	opts := dispatcher.Options{EtcdTLS: eTLS, NATSTLS: nTLS, DataDir: *dataDir, NATSURL: *natsURL, NATSAddress: *natsAddr, EtcdClientAddress: *etcdClient,
		APIAddress: *apiAddr, TokenFile: *tokenFile, BackCheck: *backCheck, Log: log}
	if *agentTokenFile != "" {
		b, err := os.ReadFile(*agentTokenFile)
		if err != nil {
			return usageError{fmt.Errorf("--agent-token-file: %w", err)}
		}
		if opts.AgentToken = strings.TrimSpace(string(b)); opts.AgentToken == "" {
			return usageError{fmt.Errorf("--agent-token-file %s: empty", *agentTokenFile)}
		}
	}
	if *endpoints != "" {
		opts.EtcdEndpoints = strings.Split(*endpoints, ",")
	}
	d, err := dispatcher.Start(opts)
	if err != nil {
		return err
	}
	if *readyFD > 0 {
		if err := writeReady(*readyFD, d.Addrs()); err != nil {
			d.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	d.Close()
	return nil
}
