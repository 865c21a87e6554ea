package server

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"

	"github.com/octomesh/octomesh/codec"
	"github.com/octomesh/octomesh/config"
)

// twoBackends starts backends in their own directories (each listens on
// dir/app.sock).
func twoBackends(t *testing.T) (*backend, *backend) {
	return newBackend(t, sockDir(t)), newBackend(t, sockDir(t))
}

func hasBody(b *backend, body string) bool {
	_, ok := b.bodies.Load(body)
	return ok
}

func TestHashKeyPinsEachKeyToOneEndpointFromEverySidecar(t *testing.T) {
	for _, balancer := range []string{"maglev", "ring_hash"} {
		t.Run(balancer, func(t *testing.T) {
			b1, b2 := twoBackends(t)
			dir := sockDir(t)
			// Two independent sidecars, endpoints listed in opposite orders.
			var outs []string
			for i, order := range [][2]string{{b1.addr, b2.addr}, {b2.addr, b1.addr}} {
				out := filepath.Join(dir, fmt.Sprintf("o%d.sock", i))
				sidecar(t, fmt.Sprintf(`
listeners: [{name: outbound, address: "unix://%s", routes: [{service: echo, cluster: app}]}]
clusters:
  - name: app
    balancer: %s
    hash_key: user
    endpoints: [{address: "unix://%s"}, {address: "unix://%s"}]
`, out, balancer, order[0], order[1]))
				outs = append(outs, out)
			}
			for _, out := range outs {
				conn := dial(t, out)
				for i := 0; i < 200; i++ {
					user := fmt.Sprintf("user-%d", i%40)
					r := call(t, conn, request("echo", "Echo", int32(i), thrift.CALL, []byte(user), codec.StrKV{Key: "user", Value: user}))
					if r.body != user {
						t.Fatalf("reply %+v", r)
					}
				}
			}
			on1 := 0
			for i := 0; i < 40; i++ {
				user := fmt.Sprintf("user-%d", i)
				in1, in2 := hasBody(b1, user), hasBody(b2, user)
				if in1 == in2 {
					t.Fatalf("%s reached backend 1: %v, backend 2: %v; want exactly one", user, in1, in2)
				}
				if in1 {
					on1++
				}
			}
			if on1 < 8 || on1 > 32 {
				t.Errorf("%d of 40 keys on backend 1: hashing does not spread", on1)
			}
		})
	}
}

func TestP2CMovesLoadOffASlowEndpoint(t *testing.T) {
	fast, slow := twoBackends(t)
	slow.hold = func([]byte) (time.Duration, bool) { return 20 * time.Millisecond, false }
	out := filepath.Join(sockDir(t), "o.sock")
	sidecar(t, fmt.Sprintf(`
listeners: [{name: outbound, address: "unix://%s", routes: [{service: echo, cluster: app}]}]
clusters:
  - name: app
    balancer: p2c_peak_ewma
    endpoints: [{address: "unix://%s"}, {address: "unix://%s"}]
`, out, fast.addr, slow.addr))
	conn := dial(t, out)
	for i := 0; i < 200; i++ {
		if r := call(t, conn, request("echo", "Echo", int32(i), thrift.CALL, []byte("x"))); r.body != "x" {
			t.Fatalf("reply %+v", r)
		}
	}
	if n := slow.calls.Load(); n > 20 {
		t.Errorf("the 20ms endpoint got %d of 200 requests; p2c should send it a few at most", n)
	}
	if fast.calls.Load()+slow.calls.Load() != 200 {
		t.Errorf("calls %d + %d", fast.calls.Load(), slow.calls.Load())
	}
}

func TestUnknownBalancerIsAConfigError(t *testing.T) {
	cfg, err := config.Parse("s.yaml", []byte(`
listeners: [{name: out, address: "unix:///tmp/x.sock", routes: [{cluster: app}]}]
clusters:
  - name: app
    balancer: fastest
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `s.yaml:5: clusters[0].balancer: lb: unknown balancer "fastest" (known: maglev, p2c_peak_ewma, ring_hash, round_robin)`) {
		t.Fatalf("error %v", err)
	}
}

func TestLocalityKeepsTrafficInTheNodesZone(t *testing.T) {
	near, far := twoBackends(t)
	out := filepath.Join(sockDir(t), "o.sock")
	sidecar(t, fmt.Sprintf(`
node: {zone: z1}
listeners: [{name: outbound, address: "unix://%s", routes: [{service: echo, cluster: app}]}]
clusters:
  - name: app
    locality: {panic_threshold: 0.5}
    endpoints: [{address: "unix://%s", zone: z2}, {address: "unix://%s", zone: z1}]
`, out, far.addr, near.addr))
	conn := dial(t, out)
	for i := 0; i < 50; i++ {
		call(t, conn, request("echo", "Echo", int32(i), thrift.CALL, []byte("x")))
	}
	if near.calls.Load() != 50 || far.calls.Load() != 0 {
		t.Errorf("same zone got %d, other zone %d; want 50 and 0", near.calls.Load(), far.calls.Load())
	}
}
