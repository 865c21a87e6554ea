package catest_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/cp/ca/catest"
)

// The files New and Issue write are what a mesh server and client load:
// a server with the pilot's certificate and a client with an app's
// verify each other against the bundle file.
func TestFilesMakeDoorTLS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	f := catest.New(t, dir)
	if f.Bundle != filepath.Join(dir, "bundle.pem") {
		t.Errorf("bundle %s", f.Bundle)
	}
	sc, sk := f.Issue(api.PilotApp)
	if sc != filepath.Join(dir, api.PilotApp+".pem") || sk != filepath.Join(dir, api.PilotApp+"-key.pem") {
		t.Errorf("files %s %s", sc, sk)
	}
	if _, err := api.ServerTLS(sc, sk, f.Bundle, catest.TrustDomain); err != nil {
		t.Fatal(err)
	}
	cc, ck := f.Issue("web")
	if _, err := api.ClientTLS(cc, ck, f.Bundle, catest.TrustDomain, api.PilotApp); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(f.Write("sub/x", []byte("data"))); err != nil || string(got) != "data" {
		t.Errorf("Write: %q %v", got, err)
	}
}

// ServerTLS and ClientTLS make configs that complete a handshake with each
// other, and a client refuses a server of an app it was not told.
func TestServerAndClientTLS(t *testing.T) {
	f := catest.New(t, t.TempDir())
	server := f.ServerTLS(api.PilotApp)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			_ = tls.Server(c, server).Handshake()
			c.Close()
		}
	}()
	dial := func(cfg *tls.Config) error {
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(f.ClientTLS("web", api.PilotApp)); err != nil {
		t.Fatalf("client of the pilot: %v", err)
	}
	if err := dial(f.ClientTLS("web", api.MetaApp)); err == nil {
		t.Fatal("a client of Meta only accepted the pilot")
	}
}
