package pilot

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/cp/shardmap"
)

// fixedPrefix delivers one state of a prefix and blocks.
type fixedPrefix map[string][]byte

func (f fixedPrefix) WatchPrefix(ctx context.Context, _ string, update func(map[string][]byte, int64)) {
	update(f, 1)
	<-ctx.Done()
}

// A stream that drops makes the pilot ask the owning scanner of the zone
// to check the sidecar's inbound address; a stream the pilot ends does not.
func TestDroppedStreamAsksScanner(t *testing.T) {
	asked := make(chan string, 4)
	sc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req scanner.CheckRequest
		_ = json.Unmarshal(b, &req)
		if r.URL.Path == scanner.CheckPath {
			asked <- req.Address
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sc.Close()
	info, _ := json.Marshal(scanner.Info{ID: "s1", Zone: "z1", HTTP: strings.TrimPrefix(sc.URL, "http://")})
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := startFastPath(ctx, fixedPrefix{shardmap.ScannerKey("s1"): info}, srv, slog.New(slog.DiscardHandler), nil)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(f.cur.Load().rings) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	// GET /debug/scanners lists what the pilot follows.
	if list := f.scanners(); len(list) != 1 || list[0].ID != "s1" || list[0].Zone != "z1" || list[0].HTTP == "" {
		t.Errorf("scanners followed: %+v", list)
	}

	c := newClient(t, srv, "a-1", "web")
	md, _ := structpb.NewStruct(map[string]any{scanner.NodeInboundKey: []any{"10.0.0.1:7000"}})
	c.node.Metadata, c.node.Locality = md, &core.Locality{Zone: "z1"}
	c.subscribe(kindEndpoint, "echo")
	c.ack(c.recvKind(kindEndpoint))
	c.close()
	select {
	case a := <-asked:
		if a != "10.0.0.1:7000" {
			t.Fatalf("asked to check %s", a)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no check asked; stats asked=%d skipped=%d failed=%d", srv.FastPath.Asked.Load(), srv.FastPath.Skipped.Load(), srv.FastPath.Failed.Load())
	}
}
