package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/octomesh/octomesh/cp/console"
	"github.com/octomesh/octomesh/cp/inspect"
)

// addressList is a repeatable address flag.
type addressList []string

func (l *addressList) String() string { return strings.Join(*l, ",") }
func (l *addressList) Set(s string) error {
	if s == "" {
		return errors.New("empty address")
	}
	*l = append(*l, s)
	return nil
}

func runConsole(args []string) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	address := fs.String("address", console.DefaultAddress, "where the console serves its page and JSON API (host:port)")
	var pilots addressList
	fs.Var(&pilots, "pilot", "a pilot's HTTP address (repeatable; default "+inspect.DefaultPilot+")")
	meta := fs.String("meta", "", "Meta's HTTP address: show every pilot of its assignment (instead of --pilot)")
	rulesServer := fs.String("rules-server", console.DefaultRulesServer, "the rule API's address (the rules page); empty: none")
	prom := fs.String("prometheus", "", "a Prometheus URL (http://host:9090): the service graph from its queries instead of the console's own scrapes")
	interval := fs.Duration("scrape-interval", console.DefaultScrapeInterval, "time between the console's scrapes of the sidecars' metrics: the graph's window")
	timeout := fs.Duration("timeout", inspect.DefaultTimeout, "bound of each call to a pilot, Meta, a scanner or a sidecar")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	tlsCert := fs.String("tls-cert", "", "for pilots, Meta and scanners whose HTTP is mutual TLS (--http-tls-cert): the console's certificate (PEM; `octomesh ca issue --app <operator>`)")
	tlsKey := fs.String("tls-key", "", "the key of --tls-cert")
	tlsBundle := fs.String("tls-bundle", "", "with --tls-cert: the roots the servers' certificates are verified with (PEM)")
	trustDomain := fs.String("trust-domain", "mesh.local", "with --tls-cert: the mesh's trust domain")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	log, _, err := newLogger(*level)
	if err != nil {
		return err
	}
	cpTLS, err := inspect.TLSFiles(*tlsCert, *tlsKey, *tlsBundle, *trustDomain)
	if err != nil {
		return usageError{err}
	}
	opts := console.Options{Inspect: inspect.Options{Pilots: pilots, Meta: *meta, Timeout: *timeout, TLS: cpTLS}, RulesServer: *rulesServer,
		Prometheus: *prom, ScrapeInterval: *interval, Log: log}
	s, err := console.Start(*address, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "console: %s\n", s.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	s.Close()
	return nil
}
