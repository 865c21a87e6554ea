package admin

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func mutating(t *testing.T, token string) *Server {
	t.Helper()
	s := New()
	s.RequireToken(token)
	s.HandleMutating("POST /change", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "changed") }))
	s.Handle("GET /change", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "read") }))
	return s
}

// serve runs one request through the mux with a faked caller address: no
// traffic is sent anywhere.
func serve(s *Server, method, remote string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/change", nil)
	r.RemoteAddr = remote
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	return w
}

func TestMutatingEndpointsAuthorization(t *testing.T) {
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	cases := []struct {
		name   string
		token  string
		method string
		remote string
		header http.Header
		want   int
	}{
		{"loopback v4, no token configured", "", "POST", "127.0.0.1:5000", nil, 200},
		{"loopback v6", "", "POST", "[::1]:5000", nil, 200},
		{"loopback v4-mapped v6", "", "POST", "[::ffff:127.0.0.1]:5000", nil, 200},
		{"other loopback address", "", "POST", "127.0.0.2:5000", nil, 200},
		{"remote, no token configured", "", "POST", "10.1.2.3:5000", nil, 403},
		{"remote v6, no token configured", "", "POST", "[2001:db8::1]:5000", nil, 403},
		{"remote offering a token nobody configured", "", "POST", "10.1.2.3:5000", bearer("x"), 403},
		{"garbage remote address", "", "POST", "nonsense", nil, 403},
		{"remote read needs nothing", "", "GET", "10.1.2.3:5000", nil, 200},
		{"token: remote with it", "s3cret", "POST", "10.1.2.3:5000", bearer("s3cret"), 200},
		{"token: loopback with it", "s3cret", "POST", "127.0.0.1:5000", bearer("s3cret"), 200},
		{"token: loopback without it", "s3cret", "POST", "127.0.0.1:5000", nil, 403},
		{"token: remote with a wrong one", "s3cret", "POST", "10.1.2.3:5000", bearer("s3cre"), 403},
		{"token: not a bearer", "s3cret", "POST", "10.1.2.3:5000", http.Header{"Authorization": {"Basic s3cret"}}, 403},
		{"token: remote read needs nothing", "s3cret", "GET", "10.1.2.3:5000", nil, 200},
		{"cross-origin browser request", "", "POST", "127.0.0.1:5000", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"cross-origin browser request with the token", "s3cret", "POST", "127.0.0.1:5000",
			http.Header{"Authorization": {"Bearer s3cret"}, "Origin": {"http://evil.example"}}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := serve(mutating(t, c.token), c.method, c.remote, c.header)
			if w.Code != c.want {
				t.Fatalf("%s from %s: status %d, want %d (%s)", c.method, c.remote, w.Code, c.want, w.Body)
			}
			if c.want == 403 && !strings.Contains(w.Body.String(), "forbidden") && !strings.Contains(strings.ToLower(w.Body.String()), "cross-origin") {
				t.Errorf("403 body does not say why: %q", w.Body)
			}
		})
	}
}

func TestEndpointListensOnLoopbackByDefault(t *testing.T) {
	s := New()
	if err := s.Listen(":0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("\":0\" listens on %s, want 127.0.0.1", s.Addr())
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := get("/ready"); code != 503 {
		t.Errorf("/ready before SetReady: %d", code)
	}
	s.SetReady(true)
	if code, _ := get("/ready"); code != 200 {
		t.Errorf("/ready after SetReady: %d", code)
	}
	if code, body := get("/debug/pprof/"); code != 200 || !strings.Contains(body, "allocs") {
		t.Errorf("/debug/pprof/: %d", code)
	}
	if code, body := get("/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("/debug/pprof/heap: %d %.60q", code, body)
	}
	if err := New().Listen("no-port"); err == nil {
		t.Error("an address without a port was accepted")
	}
}

func TestMetricsParseAsPrometheusText(t *testing.T) {
	var m Metrics
	m.Header("om_requests_total", "counter", "Requests.\nSecond line with a \\ backslash.")
	m.Uint("om_requests_total", 42)
	m.Header("om_errors_total", "counter", "Errors by kind.")
	m.Uint("om_errors_total", 1, Label{"kind", "timeout"})
	m.Uint("om_errors_total", 2, Label{"kind", `we"ird\` + "\n"})
	m.Header("om_inflight", "gauge", "In flight.")
	m.Float("om_inflight", 0.5)
	m.Header("om_latency_seconds", "histogram", "Latency.")
	m.Histogram("om_latency_seconds", []Label{{"cluster", "a"}}, []float64{0.001, 0.002}, []uint64{3, 5}, 6, 0.0123)
	m.Histogram("om_latency_seconds", []Label{{"cluster", "b"}}, []float64{0.001, 0.002}, []uint64{0, 0}, 0, 0)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if got := fams["om_requests_total"]; got.GetHelp() != "Requests.\nSecond line with a \\ backslash." || got.Metric[0].Counter.GetValue() != 42 {
		t.Errorf("requests: %v", got)
	}
	errs := fams["om_errors_total"].Metric
	if len(errs) != 2 || errs[1].Label[0].GetValue() != "we\"ird\\\n" || errs[1].Counter.GetValue() != 2 {
		t.Errorf("errors: %v", errs)
	}
	if fams["om_inflight"].Metric[0].Gauge.GetValue() != 0.5 {
		t.Errorf("inflight: %v", fams["om_inflight"])
	}
	h := fams["om_latency_seconds"].Metric[0].Histogram
	if h.GetSampleCount() != 6 || h.GetSampleSum() != 0.0123 || len(h.Bucket) != 3 ||
		h.Bucket[0].GetUpperBound() != 0.001 || h.Bucket[1].GetCumulativeCount() != 5 ||
		!math.IsInf(h.Bucket[2].GetUpperBound(), 1) || h.Bucket[2].GetCumulativeCount() != 6 {
		t.Errorf("histogram: %v", h)
	}
}
