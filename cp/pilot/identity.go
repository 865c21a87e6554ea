package pilot

import (
	"context"
	"crypto/tls"
	"fmt"

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
// bundle and of trustDomain (api/ca.ServerTLS). The stream then serves only
// the app the certificate names (SessionMgr.open and request).
func XDSTLS(certFile, keyFile, bundleFile, trustDomain string) (*tls.Config, error) {
	cfg, err := api.ServerTLS(certFile, keyFile, bundleFile, trustDomain)
	if err != nil {
		return nil, fmt.Errorf("pilot: xds tls: %w", err)
	}
	return cfg, nil
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
