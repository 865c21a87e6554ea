package exposition

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh/stats"
)

// ContentType is the content type of the Prometheus text format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Subsystem says how one server's /stats page reads as metrics. Its
// fields are set once, before use; it is then read-only and may be used
// from any goroutine.
type Subsystem struct {
	// Name is the server ("pilot", "meta", "scanner", "agent"): lower
	// case letters, digits and underscores. Every metric name starts
	// with "octomesh_" and Name.
	Name string
	// Gauges and Counters map the stats (as /stats names them) to their
	// help text. A counter's metric name ends in _total.
	Gauges, Counters map[string]string
	// Skip lists prefixes of stats not written: the quantiles /stats
	// prints from a histogram that Handler writes whole.
	Skip []string
}

// Histogram is a stats.Histogram written whole, as a Prometheus histogram
// in seconds with buckets at every power of two from 1µs to 2^25µs.
type Histogram struct {
	// Name is the full metric name, e.g. octomesh_pilot_push_delay_seconds.
	Name, Help string
	H          *stats.Histogram
}

// MetricName is the metric that stat becomes: "octomesh_", the
// subsystem, and the stat without a leading "<subsystem>." with every
// character that is not a letter, digit or underscore turned into an
// underscore; a counter's name ends in "_total".
func (s *Subsystem) MetricName(stat string, counter bool) string {
	rest := strings.TrimPrefix(stat, s.Name+".")
	var b strings.Builder
	b.WriteString("octomesh_")
	b.WriteString(s.Name)
	b.WriteByte('_')
	for _, c := range rest {
		if c < 128 && (c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	if counter && !strings.HasSuffix(rest, "_total") {
		b.WriteString("_total")
	}
	return b.String()
}

// family is one metric to write: one sample, no labels.
type family struct {
	name, typ, help, value string
}

// Write reads page, "name value" lines as a /stats endpoint writes them,
// and writes them in the text format, followed by hists. An unparsable
// line, or two stats that come out as the same metric, are an error that
// names the line; nothing is written then.
func (s *Subsystem) Write(w io.Writer, page []byte, hists ...Histogram) error {
	var fams []family
	seen := map[string]string{} // metric -> stat
	sc := bufio.NewScanner(bytes.NewReader(page))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return fmt.Errorf("exposition: %s stats line %d %q: want \"name value\"", s.Name, n, line)
		}
		stat, value := fields[0], fields[1]
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return fmt.Errorf("exposition: %s stats line %d %q: the value is not a number", s.Name, n, line)
		}
		if s.skipped(stat) {
			continue
		}
		f := family{value: value}
		if help, ok := s.Counters[stat]; ok {
			f.name, f.typ, f.help = s.MetricName(stat, true), "counter", help
		} else if help, ok := s.Gauges[stat]; ok {
			f.name, f.typ, f.help = s.MetricName(stat, false), "gauge", help
		} else {
			f.name, f.typ = s.MetricName(stat, false), "untyped"
			f.help = fmt.Sprintf("%s on /stats; neither a gauge nor a counter in the %s exposition (stats/exposition).", stat, s.Name)
		}
		if other, dup := seen[f.name]; dup {
			return fmt.Errorf("exposition: %s stats line %d: %s and %s are both %s", s.Name, n, other, stat, f.name)
		}
		seen[f.name] = stat
		fams = append(fams, f)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("exposition: %s stats: %w", s.Name, err)
	}
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
	var b []byte
	for _, f := range fams {
		b = header(b, f.name, f.typ, f.help)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.value...)
		b = append(b, '\n')
	}
	for _, h := range hists {
		b = histogram(b, h)
	}
	_, err := w.Write(b)
	return err
}

func (s *Subsystem) skipped(stat string) bool {
	for _, p := range s.Skip {
		if strings.HasPrefix(stat, p) {
			return true
		}
	}
	return false
}

// Handler serves GET /metrics: it asks statsHandler (usually the server's
// own mux) for GET statsPath, and writes that page with Write, then
// hists and WriteProcess. If the stats page is not 200 or does not read,
// it answers 500 and says why.
func (s *Subsystem) Handler(statsHandler http.Handler, statsPath string, hists ...Histogram) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, statsPath, nil)
		if err != nil {
			http.Error(w, "exposition: "+err.Error(), http.StatusInternalServerError)
			return
		}
		rec := &recorder{header: http.Header{}}
		statsHandler.ServeHTTP(rec, req)
		if rec.code != 0 && rec.code != http.StatusOK {
			http.Error(w, fmt.Sprintf("exposition: %s %s answered %d: %s", s.Name, statsPath, rec.code, strings.TrimSpace(rec.body.String())), http.StatusInternalServerError)
			return
		}
		var out bytes.Buffer
		if err := s.Write(&out, rec.body.Bytes(), hists...); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		WriteProcess(&out)
		w.Header().Set("Content-Type", ContentType)
		_, _ = w.Write(out.Bytes())
	})
}

// recorder is the http.ResponseWriter the stats page is written into.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func header(b []byte, name, typ, help string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	help = strings.ReplaceAll(strings.ReplaceAll(help, `\`, `\\`), "\n", `\n`)
	b = append(b, help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

// histogram writes h with the bounds stats.Snapshot.Octaves gives.
func histogram(b []byte, h Histogram) []byte {
	snap := h.H.Snapshot()
	b = header(b, h.Name, "histogram", h.Help)
	snap.Octaves(func(bound time.Duration, cum uint64) {
		b = append(b, h.Name...)
		b = append(b, `_bucket{le="`...)
		b = strconv.AppendFloat(b, bound.Seconds(), 'g', -1, 64)
		b = append(b, `"} `...)
		b = strconv.AppendUint(b, cum, 10)
		b = append(b, '\n')
	})
	count := snap.Count()
	b = append(b, h.Name...)
	b = append(b, `_bucket{le="+Inf"} `...)
	b = strconv.AppendUint(b, count, 10)
	b = append(b, '\n')
	b = append(b, h.Name...)
	b = append(b, "_sum "...)
	b = strconv.AppendFloat(b, snap.Sum.Seconds(), 'g', -1, 64)
	b = append(b, '\n')
	b = append(b, h.Name...)
	b = append(b, "_count "...)
	b = strconv.AppendUint(b, count, 10)
	return append(b, '\n')
}
