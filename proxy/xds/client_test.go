package xds

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/config"
)

func TestFromConfig(t *testing.T) {
	cfg, err := config.Parse("x.yaml", []byte(`
node: {id: web-1, app: web, zone: z1}
listeners:
  - name: outbound
    address: unix:///tmp/om-web.sock
    routes: [{service: local, cluster: local-app}]
  - name: inbound
    address: 127.0.0.1:7101
    routes: [{cluster: local-app}]
clusters:
  - {name: local-app, endpoints: [{address: "unix:///tmp/app.sock"}]}
xds:
  meta: 127.0.0.1:15020
  services: [echo]
`))
	if err != nil {
		t.Fatal(err)
	}
	o := FromConfig(cfg, nil)
	if o.Meta != "127.0.0.1:15020" || o.Pilot != "" || o.NodeID != "web-1" || o.App != "web" || o.Zone != "z1" || o.Listener != "outbound" ||
		fmt.Sprint(o.Services) != "[echo]" || o.MaxSubscriptions != 1024 || o.SubscribeWait != 2*time.Second {
		t.Errorf("%+v", o)
	}
	if len(o.StaticClusters) != 1 || len(o.StaticRoutes) != 1 || o.StaticRoutes[0].Service != "local" {
		t.Errorf("static %+v %+v", o.StaticClusters, o.StaticRoutes)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Options{Pilot: "nowhere"}, &fakeTarget{}); err == nil || !strings.HasPrefix(err.Error(), "xds: pilot: ") {
		t.Errorf("a bad pilot address: %v", err)
	}
	if _, err := New(Options{Meta: "nowhere"}, &fakeTarget{}); err == nil || !strings.HasPrefix(err.Error(), "xds: meta: ") {
		t.Errorf("a bad meta address: %v", err)
	}
	// The subscriptions file and Services are subscribed, valid names
	// only, up to MaxSubscriptions.
	file := filepath.Join(t.TempDir(), "subs.json")
	if err := os.WriteFile(file, []byte(`{"services":["a","b c","d","e"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Pilot: "127.0.0.1:1", App: "web", Services: []string{"s"}, SubscriptionsFile: file, MaxSubscriptions: 3}, &fakeTarget{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := fmt.Sprint(c.Status().Subscriptions); got != "[a d s]" {
		t.Errorf("subscriptions %s", got)
	}
}

// TestNodeMetadata: the node's metadata names the inbound addresses and
// the admin address the server set, each under its api/scanner key, and is
// nil when neither is set.
func TestNodeMetadata(t *testing.T) {
	c, err := New(Options{Pilot: "127.0.0.1:1", App: "web"}, &fakeTarget{})
	if err != nil {
		t.Fatal(err)
	}
	if md := c.nodeMetadata(); md != nil {
		t.Fatalf("metadata without inbound or admin: %v", md)
	}
	c.SetAdmin("127.0.0.1:9901")
	md := c.nodeMetadata().GetFields()
	if len(md) != 1 || md[scanner.NodeAdminKey].GetStringValue() != "127.0.0.1:9901" {
		t.Fatalf("admin only: %v", md)
	}
	c.SetInbound([]string{"10.0.0.1:7000"})
	md = c.nodeMetadata().GetFields()
	if md[scanner.NodeAdminKey].GetStringValue() != "127.0.0.1:9901" || md[scanner.NodeInboundKey].GetListValue().GetValues()[0].GetStringValue() != "10.0.0.1:7000" {
		t.Fatalf("both: %v", md)
	}
}
