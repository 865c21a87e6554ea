package ca

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
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
	cert, pool, err := loadFiles(certFile, keyFile, bundleFile, trustDomain)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert, // verified below: chain, SPIFFE ID, trust domain
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
	cert, pool, err := loadFiles(certFile, keyFile, bundleFile, trustDomain)
	if err != nil {
		return nil, err
	}
	if len(serverApps) == 0 {
		return nil, errors.New("ca: client tls: no server identity to accept")
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true, // no host names: the chain and the identity are checked below
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

func loadFiles(certFile, keyFile, bundleFile, trustDomain string) (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("ca: certificate %s, key %s: %w", certFile, keyFile, err)
	}
	data, err := os.ReadFile(bundleFile)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("ca: bundle: %w", err)
	}
	roots, err := ParseCertificates(data)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("ca: bundle %s: %w", bundleFile, err)
	}
	if err := CheckName(trustDomain); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("ca: trust domain: %v", err)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	return cert, pool, nil
}
