package pilot

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/store"
)

// lockedBuffer is a log sink the pilot writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestEtcdOutage: a pilot on an external etcd that stops. While it is
// down the pilot says so, once, in its log and in /healthz (503, with the
// reason). The etcd that comes back has lost the app's lease; the pilot
// gives it back at once, under the same id, with the app's instance,
// without the app registering again, and the app's keepalives of that
// lease carry on.
func TestEtcdOutage(t *testing.T) {
	etcd, err := store.Open(store.Options{DataDir: t.TempDir(), Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := etcd.Endpoints()
	stopEtcd := sync.OnceFunc(func() { etcd.Close() })
	defer stopEtcd()
	var logs lockedBuffer
	p, err := Start(Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{endpoint},
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, httpAddr, err := config.ParseAddress(p.Addrs().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	health := func() (int, string) {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := health(); code != 200 || body != "ok\n" {
		t.Fatalf("healthz with etcd up: %d %q", code, body)
	}
	c, err := registry.NewClient(p.Addrs().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	in := registry.Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7001", Weight: 1}
	lease, _, err := c.Register(ctx, in, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.KeepAlive(ctx, lease); err != nil {
		t.Fatal(err)
	}

	// etcd stops. The app renews its lease all along (and fails to).
	stopEtcd()
	keepalives := make(chan struct{})
	var kaDone sync.WaitGroup
	kaDone.Add(1)
	go func() {
		defer kaDone.Done()
		for {
			select {
			case <-keepalives:
				return
			case <-time.After(200 * time.Millisecond):
				_ = c.KeepAlive(ctx, lease)
			}
		}
	}()
	stopKeepalives := sync.OnceFunc(func() { close(keepalives); kaDone.Wait() })
	defer stopKeepalives()
	agoRE := regexp.MustCompile(`\((\d+)s ago\)`)
	eventually(t, "healthz 503 for a few probes", func() bool {
		code, body := health()
		m := agoRE.FindStringSubmatch(body)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "etcd "+endpoint+" unreachable since") || m == nil {
			return false
		}
		n, _ := strconv.Atoi(m[1])
		return n >= 3
	})
	if n := strings.Count(logs.String(), "etcd unreachable"); n != 1 {
		t.Fatalf("%d log lines say etcd is unreachable, want 1 (once per outage):\n%s", n, logs.String())
	}

	// etcd returns, without the lease (it expired meanwhile, or etcd came
	// back from older data: the same to the app). The app's keepalives
	// stop here, so that only the pilot can give the lease back.
	stopKeepalives()
	backAt := time.Now()
	back, err := store.Open(store.Options{DataDir: t.TempDir(), ClientAddress: endpoint, Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := back.Instances(ctx, "echo")
		if err == nil && len(list) == 1 && list[0].Address == in.Address {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instance is not back in etcd: %+v, %v; the pilot's log:\n%s", list, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the instance was back in etcd %v after etcd started", time.Since(backAt).Round(time.Millisecond))
	eventually(t, "healthz ok", func() bool { code, body := health(); return code == 200 && body == "ok\n" })
	if err := c.KeepAlive(ctx, lease); err != nil {
		t.Fatalf("the app's keepalive of its lease after the outage: %v", err)
	}
	if list, err := c.Instances(ctx, "echo"); err != nil || len(list) != 1 {
		t.Fatalf("instances through the pilot: %+v, %v", list, err)
	}
	l := logs.String()
	if n := strings.Count(l, "etcd reachable again"); n != 1 || !strings.Contains(l, "leases_given_back=1") || strings.Count(l, "etcd unreachable") != 1 {
		t.Fatalf("want one line for the outage and one for its end, with the lease given back:\n%s", l)
	}
}
