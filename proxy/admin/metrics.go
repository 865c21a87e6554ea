package admin

import (
	"io"
	"math"
	"strconv"
	"strings"
)

// MetricsContentType is the content type of the Prometheus text format.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// Label is one name="value" pair of a metric.
type Label struct{ Name, Value string }

// Metrics builds a page in the Prometheus text exposition format (0.0.4).
// Write a family's Header once, then its samples, before the next family.
// Names are the caller's constants and are not checked; label values and
// help text are escaped.
type Metrics struct {
	b []byte
}

// Header starts a metric family: typ is counter, gauge or histogram.
func (m *Metrics) Header(name, typ, help string) {
	m.b = append(m.b, "# HELP "...)
	m.b = append(m.b, name...)
	m.b = append(m.b, ' ')
	m.b = appendEscaped(m.b, help, false)
	m.b = append(m.b, "\n# TYPE "...)
	m.b = append(m.b, name...)
	m.b = append(m.b, ' ')
	m.b = append(m.b, typ...)
	m.b = append(m.b, '\n')
}

// Uint writes one sample with an integer value.
func (m *Metrics) Uint(name string, v uint64, labels ...Label) {
	m.series(name, labels, Label{})
	m.b = strconv.AppendUint(m.b, v, 10)
	m.b = append(m.b, '\n')
}

// Float writes one sample.
func (m *Metrics) Float(name string, v float64, labels ...Label) {
	m.series(name, labels, Label{})
	m.b = appendFloat(m.b, v)
	m.b = append(m.b, '\n')
}

// Histogram writes one histogram series: cumulative counts at increasing
// upper bounds (bounds and cumulative have the same length), the total
// count (the +Inf bucket) and the sum of the observations.
func (m *Metrics) Histogram(name string, labels []Label, bounds []float64, cumulative []uint64, count uint64, sum float64) {
	bucket := name + "_bucket"
	for i, le := range bounds {
		m.series(bucket, labels, Label{"le", string(appendFloat(nil, le))})
		m.b = strconv.AppendUint(m.b, cumulative[i], 10)
		m.b = append(m.b, '\n')
	}
	m.series(bucket, labels, Label{"le", "+Inf"})
	m.b = strconv.AppendUint(m.b, count, 10)
	m.b = append(m.b, '\n')
	m.Float(name+"_sum", sum, labels...)
	m.Uint(name+"_count", count, labels...)
}

// series writes a sample's name and labels and the space before its value.
func (m *Metrics) series(name string, labels []Label, extra Label) {
	m.b = append(m.b, name...)
	if len(labels) > 0 || extra.Name != "" {
		m.b = append(m.b, '{')
		for i, l := range labels {
			if i > 0 {
				m.b = append(m.b, ',')
			}
			m.b = appendLabel(m.b, l)
		}
		if extra.Name != "" {
			if len(labels) > 0 {
				m.b = append(m.b, ',')
			}
			m.b = appendLabel(m.b, extra)
		}
		m.b = append(m.b, '}')
	}
	m.b = append(m.b, ' ')
}

func appendLabel(b []byte, l Label) []byte {
	b = append(b, l.Name...)
	b = append(b, `="`...)
	b = appendEscaped(b, l.Value, true)
	return append(b, '"')
}

// appendEscaped escapes backslash and newline, and in label values the
// double quote, as the text format requires.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// WriteTo writes the page so far.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m.b)
	return int64(n), err
}
