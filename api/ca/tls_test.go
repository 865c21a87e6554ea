package ca_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/cp/ca/catest"
)

// A server built by ServerTLS and a client by ClientTLS read their
// certificates from files, and read them again when the files change:
// the next handshake shows the new ones, with no restart. Bad new files
// leave the last good ones in use.
func TestDoorTLSReadsNewFiles(t *testing.T) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	bundle := pki.Bundle
	sc, sk := pki.Issue(api.PilotApp)
	server, err := api.ServerTLS(sc, sk, bundle, "mesh.local")
	if err != nil {
		t.Fatal(err)
	}
	cc, ck := pki.Issue("web")
	client, err := api.ClientTLS(cc, ck, bundle, "mesh.local", api.PilotApp)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan string, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			if tc.Handshake() == nil {
				id, err := api.PeerID(ptr(tc.ConnectionState()))
				if err == nil {
					peers <- tc.ConnectionState().PeerCertificates[0].SerialNumber.String() + " " + id.String()
				}
			}
			conn.Close()
		}
	}()
	handshake := func() (serverSerial, clientSeen string) {
		t.Helper()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), client)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		select {
		case s := <-peers:
			return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), s
		case <-time.After(10 * time.Second):
			t.Fatal("the server saw no client certificate")
		}
		return "", ""
	}
	s1, c1 := handshake()
	// New files, stamped a minute later whatever the file system's clock
	// resolution.
	later := time.Now().Add(time.Minute)
	for _, app := range []string{api.PilotApp, "web"} {
		cert, key := pki.Issue(app)
		for _, f := range []string{cert, key} {
			if err := os.Chtimes(f, later, later); err != nil {
				t.Fatal(err)
			}
		}
	}
	s2, c2 := handshake()
	if s1 == s2 || c1 == c2 {
		t.Fatalf("the same certificates after new files: server %s -> %s, client %s -> %s", s1, s2, c1, c2)
	}
	pki.Write(api.PilotApp+".pem", []byte("half written"))
	if s3, _ := handshake(); s3 != s2 {
		t.Fatalf("bad files: server certificate %s, want the last good %s", s3, s2)
	}
}

func ptr[T any](v T) *T { return &v }

// ExternalTLS reads an external server's roots and the client's
// certificate, and says what is wrong with them, naming the server.
func TestExternalTLS(t *testing.T) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	roots := pki.Bundle
	cert, key := pki.Issue("octomesh-pilot")
	cfg, err := api.ExternalTLS("etcd", roots, cert, key)
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.InsecureSkipVerify {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, tc := range []struct{ ca, cert, key, want string }{
		{roots, cert, "", "nats tls: the client certificate and key go together"},
		{pki.Write("empty.pem", []byte("nothing")), "", "", "holds no PEM certificate"},
		{filepath.Join(dir, "none.pem"), "", "", "no such file"},
		{roots, cert, roots, "nats tls:"},
	} {
		if _, err := api.ExternalTLS("nats", tc.ca, tc.cert, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ExternalTLS(nats, %s, %s, %s): %v, want %q", tc.ca, tc.cert, tc.key, err, tc.want)
		}
	}
}
