package pilot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	api "github.com/octomesh/octomesh/api/ca"
)

// PilotApp is the app in the pilot's own identity (api/ca.PilotApp).
const PilotApp = api.PilotApp

// XDSTLS builds the TLS of the pilot's xDS port from files (`octomesh ca
// issue --app octomesh-pilot` writes them): TLS 1.3, its certificate, and
// a client certificate required from every sidecar, verified against the
// bundle and of trustDomain. The stream then serves only the app the
// certificate names (SessionMgr.open and request).
func XDSTLS(certFile, keyFile, bundleFile, trustDomain string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("pilot: xds certificate: %w", err)
	}
	data, err := os.ReadFile(bundleFile)
	if err != nil {
		return nil, fmt.Errorf("pilot: xds bundle: %w", err)
	}
	roots, err := api.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("pilot: xds bundle %s: %w", bundleFile, err)
	}
	if err := api.CheckName(trustDomain); err != nil {
		return nil, fmt.Errorf("pilot: trust domain: %v", err)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert, // verified below: chain, SPIFFE ID, trust domain
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := verifyWorkload(raw, pool, trustDomain)
			return err
		},
	}, nil
}

// verifyWorkload checks a peer's chain against pool and returns its ID.
func verifyWorkload(raw [][]byte, pool *x509.CertPool, trustDomain string) (api.ID, error) {
	if len(raw) == 0 {
		return api.ID{}, errors.New("no certificate")
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return api.ID{}, err
	}
	inter := x509.NewCertPool()
	for _, r := range raw[1:] {
		if c, err := x509.ParseCertificate(r); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return api.ID{}, err
	}
	id, err := api.IDOf(leaf)
	if err != nil {
		return api.ID{}, err
	}
	if id.TrustDomain != trustDomain {
		return api.ID{}, fmt.Errorf("identity %s is not of trust domain %s", id, trustDomain)
	}
	return id, nil
}

// streamIdentity is the verified identity of a stream's peer (the TLS
// handshake checked it with XDSTLS's verifier).
func streamIdentity(ctx context.Context) (api.ID, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return api.ID{}, status.Error(codes.Unauthenticated, "octomesh pilot: the stream has no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return api.ID{}, status.Error(codes.Unauthenticated, "octomesh pilot: xds needs mutual TLS: the sidecar presented no certificate")
	}
	id, err := api.IDOf(info.State.PeerCertificates[0])
	if err != nil {
		return api.ID{}, status.Errorf(codes.Unauthenticated, "octomesh pilot: %v", err)
	}
	return id, nil
}
