package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/cp/ca"
)

// runCA serves the mesh's certificate authority (cp/ca), or with "issue"
// writes a certificate, key and bundle for a static setup.
func runCA(args []string) error {
	if len(args) > 0 && args[0] == "issue" {
		return runCAIssue(args[1:])
	}
	fs := flag.NewFlagSet("ca", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:15040", "where the CA serves HTTPS (POST /v1/certificates, GET /v1/bundle, GET /stats): host:port")
	opts, tokens := caFlags(fs)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	readyFD := fs.Int("ready-fd", 0, "once serving, write the bound address as JSON to this inherited file descriptor and close it")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *tokens == "" {
		return usageError{errors.New("--tokens is required: the nodes' bootstrap tokens (docs/security.md)")}
	}
	if opts.Lifetime < time.Minute {
		return usageError{fmt.Errorf("--lifetime %v: at least 1m", opts.Lifetime)}
	}
	log, _, err := newLogger(*level)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*tokens)
	if err != nil {
		return err
	}
	if opts.Tokens, err = ca.LoadTokens(*tokens, data); err != nil {
		return err
	}
	c, err := ca.New(*opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	tl := tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.ServingCertificate() }})
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(tl) }()
	log.Info("ca serving", "address", ln.Addr().String(), "trust_domain", opts.TrustDomain, "roots", len(c.Bundle()), "lifetime", opts.Lifetime)
	if *readyFD > 0 {
		if err := writeReady(*readyFD, map[string]string{"address": ln.Addr().String()}); err != nil {
			_ = srv.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	log.Info("stopping", "signal", got.String())
	return srv.Close()
}

// caFlags are the flags that open the CA, for serving and issuing.
func caFlags(fs *flag.FlagSet) (*ca.Options, *string) {
	o := &ca.Options{}
	fs.StringVar(&o.TrustDomain, "trust-domain", "mesh.local", "the identities' trust domain: spiffe://<trust-domain>/app/<app>")
	fs.StringVar(&o.DataDir, "data-dir", "octomesh-ca", "keeps the root generated on first start (root.pem, root-key.pem, mode 0600)")
	fs.StringVar(&o.RootCertFile, "root-cert", "", "load the signing root from this PEM file instead (with --root-key)")
	fs.StringVar(&o.RootKeyFile, "root-key", "", "the signing root's PKCS#8 PEM key")
	fs.StringVar(&o.ExtraRootsFile, "extra-root", "", "one more root (PEM) the bundle carries during a root change")
	fs.DurationVar(&o.Lifetime, "lifetime", ca.DefaultLifetime, "lifetime of a signed certificate (sidecars renew at about half)")
	tokens := fs.String("tokens", "", "the bootstrap tokens file (YAML: tokens: [{node, token, apps: [...]}])")
	return o, tokens
}

// runCAIssue writes cert.pem, key.pem and bundle.pem for one app into a
// directory: identity.cert_file, key_file and bundle_file of a sidecar
// without a CA.
func runCAIssue(args []string) error {
	fs := flag.NewFlagSet("ca issue", flag.ContinueOnError)
	opts, _ := caFlags(fs)
	app := fs.String("app", "", "the app whose identity the certificate carries (required)")
	out := fs.String("out", "", "the directory to write cert.pem, key.pem and bundle.pem into (required)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *app == "" || *out == "" {
		return usageError{errors.New("--app and --out are required")}
	}
	c, err := ca.New(*opts)
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := c.Issue(*app, opts.Lifetime)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"cert.pem": certPEM, "bundle.pem": api.EncodeCertificates(c.Bundle()...)} {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(*out, "key.pem"), keyPEM, 0o600)
}
