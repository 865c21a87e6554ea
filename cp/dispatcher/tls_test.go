package dispatcher_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/dispatcher/publish"
)

// An external NATS that requires TLS and client certificates: the
// dispatcher and a publisher given the client TLS (api/ca.ExternalTLS, as
// --nats-ca/--nats-cert/--nats-key build it) use it; a publisher without
// it publishes nothing; TLS for the embedded NATS is refused by name.
func TestExternalNATSOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, serverTLS, certFile, keyFile := natsPKI(t, dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: filepath.Join(dir, "js"),
		NoSigs: true, NoLog: true, TLS: true, TLSVerify: true, TLSConfig: serverTLS, TLSTimeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats did not start")
	}
	url := "tls://" + ns.Addr().String()
	clientTLS, err := ca.ExternalTLS("nats", caFile, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}

	st := startEtcd(t)
	d := startDispatcher(t, dispatcher.Options{DataDir: filepath.Join(dir, "d"), EtcdEndpoints: []string{st.Endpoints()}, NATSURL: url, NATSTLS: clientTLS, BackCheck: time.Hour})
	defer d.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := rules.Notice{Kind: rules.KindRoutes, Key: "web", Revision: 1}
	withTLS, err := publish.NewPublisher(url, "test-tls", clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer withTLS.Close()
	// The stream is the dispatcher's: it exists once Start returned.
	if err := withTLS.Publish(ctx, n); err != nil {
		t.Fatalf("a publisher with the client certificate: %v", err)
	}

	plain, err := publish.NewPublisher(url, "test-plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if err := plain.Publish(short, n); err == nil {
		t.Fatal("a publisher without TLS published to a NATS that requires it")
	}
	if withTLS.Published.Load() != 1 || plain.Published.Load() != 0 {
		t.Fatalf("published: with TLS %d, plain %d", withTLS.Published.Load(), plain.Published.Load())
	}

	if _, err := dispatcher.Start(dispatcher.Options{DataDir: filepath.Join(dir, "e"), NATSAddress: "127.0.0.1:0", APIAddress: "127.0.0.1:0",
		EtcdEndpoints: []string{st.Endpoints()}, NATSTLS: clientTLS, Log: testLog()}); err == nil || !strings.Contains(err.Error(), "external NATS") {
		t.Fatalf("TLS for the embedded NATS: %v", err)
	}
}

// natsPKI writes a CA's certificate and a client certificate with its key
// into dir, and returns them with a server TLS for 127.0.0.1 that requires
// client certificates from that CA: a NATS operator's own PKI, not the
// mesh's.
func natsPKI(t *testing.T, dir string) (caFile string, serverTLS *tls.Config, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nats test ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, usage x509.ExtKeyUsage, ips ...net.IP) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprintf("nats test %d", serial)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, kind string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	caFile = write("ca.pem", "CERTIFICATE", caDER)
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth)
	certFile = write("client.pem", "CERTIFICATE", clientDER)
	keyFile = write("client-key.pem", "EC PRIVATE KEY", keyDER(clientKey))
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}}}
	return caFile, serverTLS, certFile, keyFile
}
