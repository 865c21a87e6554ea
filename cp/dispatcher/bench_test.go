package dispatcher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/store"
)

// BenchmarkForward measures the dispatcher alone: b.N notices published
// to the stream at once (asynchronously), 100 apps owned by one pilot;
// ns/op is the time until the dispatcher has forwarded them all (consumed,
// routed, sent on core NATS, acknowledged).
//
//	go test -run - -bench Forward -benchtime 20000x ./cp/dispatcher
func BenchmarkForward(b *testing.B) {
	st, err := store.Open(store.Options{DataDir: b.TempDir(), Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d, err := dispatcher.Start(dispatcher.Options{DataDir: b.TempDir(), EtcdEndpoints: []string{st.Endpoints()}, NATSAddress: "127.0.0.1:0",
		APIAddress: "127.0.0.1:0", BackCheck: -1, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for i := range 100 {
		addApp(b, st, fmt.Sprintf("app%d", i), "echo")
	}
	nc, err := nats.Connect(d.Addrs().NATS)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	msgs := make([][]byte, 100)
	for i := range msgs {
		msgs[i], _ = json.Marshal(rules.Notice{Kind: rules.KindRoutes, Key: fmt.Sprintf("app%d", i)})
	}
	b.ResetTimer()
	start := d.Stats.ForwardedAll.Load()
	for i := range b.N {
		if _, err := js.PublishAsync(rules.NoticeSubject(rules.KindRoutes), msgs[i%100], jetstream.WithStallWait(30*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishes not acknowledged within a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for d.Stats.ForwardedAll.Load()-start < uint64(b.N) {
		if ctx.Err() != nil {
			b.Fatalf("forwarded %d of %d", d.Stats.ForwardedAll.Load()-start, b.N)
		}
		time.Sleep(time.Millisecond)
	}
}
