package exposition

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/octomesh/octomesh/stats"
)

var pilot = Subsystem{
	Name:     "pilot",
	Gauges:   map[string]string{"pilot.sessions": "Sessions open.", "shard.owned": "Apps owned."},
	Counters: map[string]string{"pilot.pushes": "Responses sent.", "fastpath.asked": "Checks asked.\nTwo lines \\ here."},
	Skip:     []string{"pilot.push_delay."},
}

func parse(t *testing.T, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the output does not parse: %v\n%s", err, text)
	}
	return fams
}

func TestMetricName(t *testing.T) {
	for _, c := range []struct {
		stat    string
		counter bool
		want    string
	}{
		{"pilot.pushes", true, "octomesh_pilot_pushes_total"},
		{"pilot.sessions", false, "octomesh_pilot_sessions"},
		{"pilot.watches.services", false, "octomesh_pilot_watches_services"},
		{"shard.moved", true, "octomesh_pilot_shard_moved_total"},
		{"fastpath.asked", true, "octomesh_pilot_fastpath_asked_total"},
		{"pilot.errors_total", true, "octomesh_pilot_errors_total"},
		{"pilotx.a-b", false, "octomesh_pilot_pilotx_a_b"},
	} {
		if got := pilot.MetricName(c.stat, c.counter); got != c.want {
			t.Errorf("MetricName(%q, %v) = %q, want %q", c.stat, c.counter, got, c.want)
		}
	}
}

func TestWrite(t *testing.T) {
	var h stats.Histogram
	h.Record(3 * time.Microsecond)
	h.Record(2 * time.Millisecond)
	page := "fastpath.asked 7\npilot.push_delay.p99_us 2000\npilot.pushes 12\npilot.sessions 3\nshard.owned 2\nshard.new 5\n"
	var out bytes.Buffer
	if err := pilot.Write(&out, []byte(page), Histogram{Name: "octomesh_pilot_push_delay_seconds", Help: "Delay.", H: &h}); err != nil {
		t.Fatal(err)
	}
	fams := parse(t, out.Bytes())
	want := map[string]struct {
		typ dto.MetricType
		v   float64
	}{
		"octomesh_pilot_fastpath_asked_total": {dto.MetricType_COUNTER, 7},
		"octomesh_pilot_pushes_total":         {dto.MetricType_COUNTER, 12},
		"octomesh_pilot_sessions":             {dto.MetricType_GAUGE, 3},
		"octomesh_pilot_shard_owned":          {dto.MetricType_GAUGE, 2},
		"octomesh_pilot_shard_new":            {dto.MetricType_UNTYPED, 5},
	}
	for name, w := range want {
		f := fams[name]
		if f == nil {
			t.Errorf("%s is missing:\n%s", name, out.String())
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), w.typ)
		}
		m := f.GetMetric()[0]
		var v float64
		switch w.typ {
		case dto.MetricType_COUNTER:
			v = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			v = m.GetGauge().GetValue()
		default:
			v = m.GetUntyped().GetValue()
		}
		if v != w.v {
			t.Errorf("%s = %v, want %v", name, v, w.v)
		}
	}
	if got := fams["octomesh_pilot_fastpath_asked_total"].GetHelp(); got != "Checks asked.\nTwo lines \\ here." {
		t.Errorf("help came back as %q", got)
	}
	hist := fams["octomesh_pilot_push_delay_seconds"]
	if hist == nil || hist.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("no push delay histogram:\n%s", out.String())
	}
	hm := hist.GetMetric()[0].GetHistogram()
	if hm.GetSampleCount() != 2 || hm.GetSampleSum() < 0.002 || hm.GetSampleSum() > 0.0021 {
		t.Errorf("histogram count %d sum %v, want 2 and 0.002003", hm.GetSampleCount(), hm.GetSampleSum())
	}
	for _, b := range hm.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 4e-6 {
			want = 1
		}
		if b.GetUpperBound() >= 2.048e-3 {
			want = 2
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if strings.Contains(out.String(), "push_delay_p99") {
		t.Errorf("a skipped stat was written:\n%s", out.String())
	}
	if len(fams) != len(want)+1 {
		t.Errorf("%d families, want %d:\n%s", len(fams), len(want)+1, out.String())
	}
}

func TestWriteRefusesBadPages(t *testing.T) {
	for page, want := range map[string]string{
		"pilot.pushes\n":                       `line 1 "pilot.pushes": want "name value"`,
		"pilot.pushes 1\npilot.acks one\n":     `line 2 "pilot.acks one": the value is not a number`,
		"pilot.pushes 1 2\n":                   `want "name value"`,
		"pilot.a.b 1\npilot.a_b 2\n":           "line 2: pilot.a.b and pilot.a_b are both octomesh_pilot_a_b",
		"pilot.sessions 1\nsessions 2\n":       "pilot.sessions and sessions are both octomesh_pilot_sessions",
		"pilot.pushes 1\n\npilot.pushes 2\n":   "line 3: pilot.pushes and pilot.pushes are both",
		"fastpath.asked 1\npilot.sessions x\n": "line 2",
	} {
		var out bytes.Buffer
		err := pilot.Write(&out, []byte(page))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "exposition: pilot stats") {
			t.Errorf("page %q: error %v, want one containing %q", page, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("page %q: wrote %q before failing", page, out.String())
		}
	}
}

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	var n int
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		n++
		fmt.Fprintf(w, "pilot.pushes %d\npilot.sessions 1\n", n)
	})
	mux.Handle("GET /metrics", pilot.Handler(mux, "/stats"))
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "etcd is down", http.StatusServiceUnavailable)
	})
	mux.Handle("GET /metrics-broken", pilot.Handler(mux, "/broken"))
	mux.HandleFunc("GET /garbage", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "<html>") })
	mux.Handle("GET /metrics-garbage", pilot.Handler(mux, "/garbage"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for want := 1; want <= 2; want++ {
		code, ct, body := get("/metrics")
		if code != 200 || ct != ContentType {
			t.Fatalf("GET /metrics: %d %q: %s", code, ct, body)
		}
		fams := parse(t, []byte(body))
		if v := fams["octomesh_pilot_pushes_total"].GetMetric()[0].GetCounter().GetValue(); v != float64(want) {
			t.Errorf("scrape %d: pushes %v, want %d (read from /stats each time)", want, v, want)
		}
		for _, name := range []string{HeapInuse, Goroutines} {
			if fams[name].GetMetric()[0].GetGauge().GetValue() <= 0 {
				t.Errorf("%s is not above 0:\n%s", name, body)
			}
		}
	}
	if code, _, body := get("/metrics-broken"); code != 500 || !strings.Contains(body, "pilot /broken answered 503: etcd is down") {
		t.Errorf("stats page failing: %d %q", code, body)
	}
	if code, _, body := get("/metrics-garbage"); code != 500 || !strings.Contains(body, `line 1 "<html>"`) {
		t.Errorf("stats page not stats: %d %q", code, body)
	}
}
