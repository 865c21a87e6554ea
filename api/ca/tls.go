package ca

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
)

// MetaApp is the app of Meta's own identity,
// spiffe://<trust-domain>/app/octomesh-meta, as PilotApp is the pilot's. A
// CA's tokens file must not grant it to a node that runs apps either.
const MetaApp = "octomesh-meta"

// ScannerApp is the app of a health-check scanner's own identity: pilots
// and other scanners accept only it at a scanner's mutual-TLS port.
const ScannerApp = "octomesh-scanner"

// ServerTLS builds the TLS of a control-plane server's door from files
// (`octomesh ca issue --app ...` writes them): TLS 1.3, the server's
// certificate, and a client certificate required from every peer,
// verified against the bundle's roots and naming an identity of
// trustDomain. The server reads the peer's identity back with PeerID.
// The pilot's xDS and HTTP ports and Meta's HTTP port use it.
func ServerTLS(certFile, keyFile, bundleFile, trustDomain string) (*tls.Config, error) {
	kp, pool, err := loadFiles(certFile, keyFile, bundleFile, trustDomain)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
		ClientAuth:     tls.RequireAnyClientCert, // verified below: chain, SPIFFE ID, trust domain
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := VerifyPeer(raw, pool, trustDomain)
			return err
		},
	}, nil
}

// ClientTLS builds the TLS with which a client (an app's sdk, a tool)
// calls a control-plane server from files: TLS 1.3, the client's
// certificate, and the server's verified against the bundle, which must
// name one of serverApps (PilotApp, MetaApp) in trustDomain. There are no
// host names to check: the identity is what is checked.
func ClientTLS(certFile, keyFile, bundleFile, trustDomain string, serverApps ...string) (*tls.Config, error) {
	kp, pool, err := loadFiles(certFile, keyFile, bundleFile, trustDomain)
	if err != nil {
		return nil, err
	}
	if len(serverApps) == 0 {
		return nil, errors.New("ca: client tls: no server identity to accept")
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() },
		InsecureSkipVerify:   true, // no host names: the chain and the identity are checked below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			id, err := VerifyPeer(raw, pool, trustDomain)
			if err != nil {
				return fmt.Errorf("the server's certificate: %w", err)
			}
			if !slices.Contains(serverApps, id.App) {
				return fmt.Errorf("the server's certificate names %s, want the app %v", id, serverApps)
			}
			return nil
		},
	}, nil
}

// VerifyPeer checks a peer's chain (raw, leaf first, as TLS gives it)
// against pool at the present time and returns its identity, which must
// be of trustDomain.
func VerifyPeer(raw [][]byte, pool *x509.CertPool, trustDomain string) (ID, error) {
	if len(raw) == 0 {
		return ID{}, errors.New("no certificate")
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return ID{}, err
	}
	inter := x509.NewCertPool()
	for _, r := range raw[1:] {
		if c, err := x509.ParseCertificate(r); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return ID{}, err
	}
	id, err := IDOf(leaf)
	if err != nil {
		return ID{}, err
	}
	if id.TrustDomain != trustDomain {
		return ID{}, fmt.Errorf("identity %s is not of trust domain %s", id, trustDomain)
	}
	return id, nil
}

// PeerID is the identity of a connection's verified peer (ServerTLS's
// verifier checked its chain at the handshake); an error if it showed no
// certificate or its certificate names no identity.
func PeerID(state *tls.ConnectionState) (ID, error) {
	if state == nil {
		return ID{}, errors.New("the connection is not TLS")
	}
	if len(state.PeerCertificates) == 0 {
		return ID{}, errors.New("the peer presented no certificate")
	}
	return IDOf(state.PeerCertificates[0])
}

// loadFiles reads the key pair (kept, and read again when its files
// change) and the bundle (read once).
func loadFiles(certFile, keyFile, bundleFile, trustDomain string) (*keyPairFiles, *x509.CertPool, error) {
	kp := &keyPairFiles{certFile: certFile, keyFile: keyFile}
	if _, err := kp.get(); err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(bundleFile)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: bundle: %w", err)
	}
	roots, err := ParseCertificates(data)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: bundle %s: %w", bundleFile, err)
	}
	if err := CheckName(trustDomain); err != nil {
		return nil, nil, fmt.Errorf("ca: trust domain: %v", err)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	return kp, pool, nil
}

// keyPairFiles is a certificate and key from files, read again at a
// handshake when either file's modification time or size changed, so that
// an operator who writes new files (`octomesh ca issue` before the old
// certificate expires) needs no restart. If the new files do not load
// (half written, say), the last good pair is kept until they do.
type keyPairFiles struct {
	certFile, keyFile string

	mu    sync.Mutex
	cur   *tls.Certificate
	stamp [2]fileStamp
}

type fileStamp struct{ mod, size int64 }

func stampOf(name string) fileStamp {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime().UnixNano(), size: fi.Size()}
}

func (k *keyPairFiles) get() (*tls.Certificate, error) {
	stamp := [2]fileStamp{stampOf(k.certFile), stampOf(k.keyFile)}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != nil && stamp == k.stamp {
		return k.cur, nil
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		if k.cur != nil {
			return k.cur, nil
		}
		return nil, fmt.Errorf("ca: certificate %s, key %s: %w", k.certFile, k.keyFile, err)
	}
	k.cur, k.stamp = &cert, stamp
	return k.cur, nil
}

// ExternalTLS builds the client TLS to infrastructure that has its own
// certificates, an external etcd or NATS (what names it in errors), from
// PEM files as their own tools take them (etcdctl's --cacert, --cert,
// --key; nats' --tlsca, --tlscert, --tlskey): caFile verifies the
// server's certificate, host names included; certFile and keyFile, both
// or neither, are the client's certificate for a server that requires one.
// These servers are not mesh identities, so nothing SPIFFE is checked.
func ExternalTLS(what, caFile, certFile, keyFile string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%s tls: the client certificate and key go together", what)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		data, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s tls: %w", what, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("%s tls: %s holds no PEM certificate", what, caFile)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s tls: %w", what, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
