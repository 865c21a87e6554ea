package grpclite

import (
	"context"
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
)

// HandshakenTLS is the transport credentials of a grpc.Server that serves
// Server.Fallback when Options.TLS is set: the TLS handshake was done by
// the Server, so ServerHandshake only reports it (credentials.TLSInfo, as
// credentials.NewTLS would).
func HandshakenTLS() credentials.TransportCredentials { return handshaken{} }

type handshaken struct{}

var errNotHandshaken = errors.New("grpclite: HandshakenTLS serves only connections from Server.Fallback with Options.TLS")

func (handshaken) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	rc, ok := c.(*replayConn)
	if !ok || rc.tls == nil {
		return nil, nil, errNotHandshaken
	}
	return rc, tlsInfo(rc.tls), nil
}

func (handshaken) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("grpclite: HandshakenTLS is for servers")
}

func (handshaken) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls", SecurityVersion: "1.2"}
}

func (h handshaken) Clone() credentials.TransportCredentials { return h }

func (handshaken) OverrideServerName(string) error { return nil }
