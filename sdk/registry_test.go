package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"

	caapi "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/ca/catest"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
	echoservice "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo/echo"
	"github.com/octomesh/octomesh/sdk"
)

// TestWithRegistrationRegistersWhileServing runs a Kitex server with the
// registration option against a real pilot (embedded etcd): the instance
// appears once Kitex registers it and leaves as soon as the server stops.
func TestWithRegistrationRegistersWhileServing(t *testing.T) {
	dir, err := os.MkdirTemp("", "oms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	api, err := registry.NewClient(p.Addrs().HTTP)
	if err != nil {
		t.Fatal(err)
	}

	regOpt, err := sdk.WithRegistration(sdk.Registration{Registry: p.Addrs().HTTP, App: "echo-app", Address: "127.0.0.1:7102",
		Zone: "z1", Metadata: map[string]string{"version": "2"}, TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "app.sock")
	opts, err := sdk.ServerOptions(sock)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, regOpt, server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "echo"}))
	svr := echoservice.NewServer(&echoHandler{name: "s1"}, opts...)
	runErr := make(chan error, 1)
	go func() { runErr <- svr.Run() }()
	cli, err := echoservice.NewClient("echo", append(sdk.ClientOptions(sock), client.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Echo(context.Background(), &echo.EchoRequest{Id: 1}); err != nil {
		t.Fatal(err)
	}

	instances := func() []registry.Instance {
		list, err := api.Instances(context.Background(), "echo")
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(instances()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server was not registered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	in := instances()[0]
	if in.App != "echo-app" || in.Address != "127.0.0.1:7102" || in.Weight != 1 || in.Zone != "z1" || in.Metadata["version"] != "2" {
		t.Fatalf("registered %+v", in)
	}

	if err := svr.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	if list := instances(); len(list) != 0 {
		t.Fatalf("after Stop: %+v; the lease should be revoked", list)
	}
}

func TestWithRegistrationChecksNow(t *testing.T) {
	for _, r := range []sdk.Registration{
		{Registry: "127.0.0.1:1", App: "a", Address: "unix:///x.sock"},
		{Registry: "127.0.0.1:1", Address: "127.0.0.1:7102"},
		{Registry: "ftp://x", App: "a", Address: "127.0.0.1:7102"},
		{Registry: "127.0.0.1:1", App: "a", Address: "127.0.0.1:7102", TTL: time.Second},
		{Registry: "127.0.0.1:1", App: "a", Address: "127.0.0.1:7102", CertFile: "cert.pem"},
		{Registry: "127.0.0.1:1", App: "a", Address: "127.0.0.1:7102", CertFile: "none.pem", KeyFile: "none.pem", BundleFile: "none.pem"},
		{Registry: "https://127.0.0.1:1", App: "a", Address: "127.0.0.1:7102"},
	} {
		if _, err := sdk.WithRegistration(r); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

func TestSidecarAdminSubscribe(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/subscribe" || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("Authorization") != "Bearer t0k" {
			http.Error(w, "bad request "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil || strings.Contains(strings.Join(got, ","), " ") {
			http.Error(w, `subscribe: services[0]: name "a b" has ' ' at byte 1`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"subscribed":["echo"]}`))
	}))
	defer srv.Close()
	admin := sdk.SidecarAdmin{Address: strings.TrimPrefix(srv.URL, "http://"), Token: "t0k"}
	if err := admin.Subscribe(context.Background(), "echo", "user"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "echo,user" {
		t.Errorf("sidecar got %v", got)
	}
	err := admin.Subscribe(context.Background(), "a b")
	if err == nil || !strings.Contains(err.Error(), `400 Bad Request: subscribe: services[0]: name "a b"`) {
		t.Errorf("error %v", err)
	}
}

// With the app's certificate files, the sdk registers at a pilot whose
// registration API is authenticated, and a registration of a service
// another app owns is refused at once (not retried).
func TestRegisterOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := catest.New(t, dir)
	serverTLS := pki.ServerTLS(caapi.PilotApp)
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"),
		HTTPTLS: serverTLS, TrustDomain: "mesh.local", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	registration := func(app string) sdk.Registration {
		cert, key := pki.Issue(app)
		return sdk.Registration{Registry: "https://" + strings.TrimPrefix(p.Addrs().HTTP, "tcp://"), App: app, Address: "127.0.0.1:7102",
			CertFile: cert, KeyFile: key, BundleFile: pki.Bundle, TrustDomain: "mesh.local"}
	}
	ctx := context.Background()
	reg, err := sdk.Register(ctx, registration("echo-app"), "echo")
	if err != nil {
		t.Fatalf("the owner: %v", err)
	}
	if reg.Lease() == 0 {
		t.Fatal("registered without a lease")
	}
	start := time.Now()
	other := registration("web")
	other.Address = "127.0.0.1:7103"
	if _, err := sdk.Register(ctx, other, "echo"); !errors.Is(err, registry.ErrForbidden) || !strings.Contains(err.Error(), `app "echo-app"`) {
		t.Fatalf("another app's registration of echo: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the refusal took %v: it was retried", d)
	}
	if err := reg.Close(ctx); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}
