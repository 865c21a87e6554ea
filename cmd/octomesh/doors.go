package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"

	"github.com/octomesh/octomesh/api/ca"
)

// doorFlags are the mutual TLS flags of one control-plane port:
// --<name>-tls-cert, --<name>-tls-key and --<name>-tls-bundle.
type doorFlags struct {
	name              string
	cert, key, bundle *string
}

func addDoorFlags(fs *flag.FlagSet, name, what string) doorFlags {
	return doorFlags{
		name:   name,
		cert:   fs.String(name+"-tls-cert", "", "make the "+what+" mutual TLS with this certificate (PEM; `octomesh ca issue --app ...`)"),
		key:    fs.String(name+"-tls-key", "", "the key of --"+name+"-tls-cert"),
		bundle: fs.String(name+"-tls-bundle", "", "with --"+name+"-tls-cert: the roots clients' certificates are verified with (PEM)"),
	}
}

// config is the port's server TLS (api/ca.ServerTLS), or nil without the
// flags.
func (d doorFlags) config(trustDomain string) (*tls.Config, error) {
	if *d.cert == "" && *d.key == "" && *d.bundle == "" {
		return nil, nil
	}
	if *d.cert == "" || *d.key == "" || *d.bundle == "" {
		return nil, usageError{fmt.Errorf("--%[1]s-tls-cert, --%[1]s-tls-key and --%[1]s-tls-bundle go together", d.name)}
	}
	return ca.ServerTLS(*d.cert, *d.key, *d.bundle, trustDomain)
}

// clientConfig is the TLS with which this server calls others whose
// certificates name one of serverApps, with the port's certificate as its
// own (api/ca.ClientTLS); nil without the flags.
func (d doorFlags) clientConfig(trustDomain string, serverApps ...string) (*tls.Config, error) {
	if *d.cert == "" {
		return nil, nil
	}
	return ca.ClientTLS(*d.cert, *d.key, *d.bundle, trustDomain, serverApps...)
}

// etcdFlags are the client TLS flags to an external etcd, as etcdctl's.
type etcdFlags struct{ ca, cert, key *string }

func addEtcdFlags(fs *flag.FlagSet) etcdFlags {
	return etcdFlags{
		ca:   fs.String("etcd-ca", "", "with --etcd-endpoints: speak TLS to etcd and verify its certificate with these roots (PEM)"),
		cert: fs.String("etcd-cert", "", "with --etcd-endpoints: the client certificate etcd asks for (PEM)"),
		key:  fs.String("etcd-key", "", "the key of --etcd-cert"),
	}
}

// config is the etcd client TLS, or nil without the flags.
func (e etcdFlags) config(endpoints string) (*tls.Config, error) {
	if *e.ca == "" && *e.cert == "" && *e.key == "" {
		return nil, nil
	}
	if endpoints == "" {
		return nil, usageError{errors.New("--etcd-ca, --etcd-cert and --etcd-key are for an external etcd (--etcd-endpoints); the embedded one serves plain")}
	}
	cfg, err := ca.ExternalTLS("etcd", *e.ca, *e.cert, *e.key)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// natsFlags are the client TLS flags to an external NATS, as the nats
// tool's --tlsca, --tlscert and --tlskey.
type natsFlags struct{ ca, cert, key *string }

func addNATSFlags(fs *flag.FlagSet) natsFlags {
	return natsFlags{
		ca:   fs.String("nats-ca", "", "with --nats-url: speak TLS to NATS and verify its certificate with these roots (PEM)"),
		cert: fs.String("nats-cert", "", "with --nats-url: the client certificate NATS asks for (PEM; verify_and_map or verify in its tls block)"),
		key:  fs.String("nats-key", "", "the key of --nats-cert"),
	}
}

// config is the NATS client TLS, or nil without the flags.
func (n natsFlags) config(url string) (*tls.Config, error) {
	if *n.ca == "" && *n.cert == "" && *n.key == "" {
		return nil, nil
	}
	if url == "" {
		return nil, usageError{errors.New("--nats-ca, --nats-cert and --nats-key are for an external NATS (--nats-url)")}
	}
	cfg, err := ca.ExternalTLS("nats", *n.ca, *n.cert, *n.key)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}
