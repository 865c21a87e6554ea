package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkApplyOneApp is one app's Route document changed, in one write,
// with this many other apps' documents stored: a write reads (and
// decodes) every stored document, so its cost grows with them
// (docs/performance.md, "Rule changes at scale: the dispatcher").
//
//	go test -run - -bench ApplyOneApp -benchtime 200x ./cp/rules
func BenchmarkApplyOneApp(b *testing.B) {
	for _, stored := range []int{10, 1000} {
		b.Run(fmt.Sprintf("stored=%d", stored), func(b *testing.B) {
			kv := openEtcd(b)
			st := New(kv, Options{Publisher: &notices{}})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			route := func(app int, cluster string) string {
				return fmt.Sprintf("kind: Route\nmetadata: {name: r-%d}\ntarget: {app: app-%d, service: echo}\nspec: {cluster: %s}\n", app, app, cluster)
			}
			for a := 0; a < stored; a += 200 {
				var docs []string
				for k := a; k < min(stored, a+200); k++ {
					docs = append(docs, route(k, "echo"))
				}
				if _, err := st.Apply(ctx, decode(b, strings.Join(docs, "---\n")), false); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				i++
				if _, err := st.Apply(ctx, decode(b, route(i%stored, fmt.Sprintf("echo-v%d", i))), false); err != nil {
					b.Fatal(err)
				}
			}
			r, c := st.Stats.ReadDelay.Snapshot(), st.Stats.CommitDelay.Snapshot()
			b.ReportMetric(float64(r.Quantile(0.5).Microseconds()), "read-p50-µs")
			b.ReportMetric(float64(c.Quantile(0.5).Microseconds()), "commit-p50-µs")
		})
	}
}
