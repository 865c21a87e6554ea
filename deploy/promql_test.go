package deploy

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// selector is a metric an expression selects: its name and the text of
// its label matchers ("" without braces).
type selector struct {
	Name, Matchers string
}

// aggregations and keywords are identifiers that are never metric names.
// Functions need no list: a function's name is followed by "(", a
// metric's never is.
var (
	aggregations = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
		"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true}
	labelLists = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	keywords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
		"inf": true, "nan": true}
)

// metricNames finds the metrics a PromQL expression (as written in an
// alert rule or a Grafana panel, Grafana's $variables included) selects.
// It is a tokenizer, not a parser: it skips strings, comments, label
// matchers (keeping their text), range and subquery brackets, Grafana
// variables, numbers and durations, the label lists of by/without/on/
// ignoring/group_left/group_right, aggregation operators, keywords, and
// every identifier followed by "(" (a function). What is left is a metric
// name. Its limits: a metric selected only by {__name__="..."} is not
// seen; a metric named like an aggregation operator or keyword (sum, and,
// offset, ...) is not seen; a Grafana variable inside a metric name
// (octomesh_$kind_total) cuts the name at the "$". It returns an error for
// unbalanced quotes, braces, brackets or parentheses.
func metricNames(expr string) ([]selector, error) {
	var out []selector
	depth := 0
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '{':
			end, err := skipBalanced(expr, i, '{', '}')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '[':
			end, err := skipBalanced(expr, i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '$':
			i = skipVariable(expr, i)
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("a \")\" at byte %d closes nothing", i)
			}
			i++
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
			word := expr[start:i]
			next := skipSpace(expr, i)
			lower := strings.ToLower(word)
			switch {
			case labelLists[word]:
				if next < len(expr) && expr[next] == '(' {
					end, err := skipBalanced(expr, next, '(', ')')
					if err != nil {
						return nil, err
					}
					i = end
				}
			case aggregations[word] || keywords[lower]:
			case next < len(expr) && expr[next] == '(':
				// a function
			default:
				sel := selector{Name: word}
				if next < len(expr) && expr[next] == '{' {
					end, err := skipBalanced(expr, next, '{', '}')
					if err != nil {
						return nil, err
					}
					sel.Matchers = expr[next+1 : end-1]
					i = end
				}
				out = append(out, sel)
			}
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%d \"(\" not closed", depth)
	}
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at i.
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("the string at byte %d is not closed", i)
}

// skipBalanced returns the index after the open...close group at i,
// skipping strings inside it.
func skipBalanced(s string, i int, open, close byte) (int, error) {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"', '\'', '`':
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case open:
			depth++
		case close:
			if depth--; depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("the %q at byte %d is not closed", open, i)
}

// skipVariable returns the index after the Grafana variable at i: $name,
// ${name} or ${name:format}.
func skipVariable(s string, i int) int {
	i++
	if i < len(s) && s[i] == '{' {
		if end := strings.IndexByte(s[i:], '}'); end >= 0 {
			return i + end + 1
		}
		return len(s)
	}
	for i < len(s) && isIdent(s[i]) {
		i++
	}
	return i
}

// variableQuery reads a Grafana Prometheus variable query:
// label_values(selector, label), label_values(label), query_result(expr)
// or a plain expression; it returns the PromQL part.
func variableQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	switch {
	case strings.HasPrefix(q, "label_values(") && strings.HasSuffix(q, ")"):
		args := q[len("label_values(") : len(q)-1]
		// The label is after the last top-level comma.
		depth, cut := 0, -1
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case '"', '\'', '`':
				end, err := skipString(args, i)
				if err != nil {
					return "", err
				}
				i = end - 1
			case '(', '{', '[':
				depth++
			case ')', '}', ']':
				depth--
			case ',':
				if depth == 0 {
					cut = i
				}
			}
		}
		if cut < 0 {
			return "", nil // label_values(label): no metric
		}
		return args[:cut], nil
	case strings.HasPrefix(q, "query_result(") && strings.HasSuffix(q, ")"):
		return q[len("query_result(") : len(q)-1], nil
	case strings.HasPrefix(q, "label_names(") || strings.HasPrefix(q, "metrics("):
		return "", fmt.Errorf("variable query %q: this test reads label_values and query_result only", q)
	}
	return q, nil
}

// componentMatcher reads the component label's matcher out of a
// selector's matchers: component="x" or component=~"x|y" (plain names
// only). ok is false when there is none.
var componentMatcher = regexp.MustCompile(`(?:^|[\s,])component\s*(=~|=|!=|!~)\s*"([^"]*)"`)

func components(matchers string) (names []string, ok bool, err error) {
	m := componentMatcher.FindStringSubmatch(matchers)
	if m == nil {
		return nil, false, nil
	}
	switch m[1] {
	case "=":
		return []string{m[2]}, true, nil
	case "=~":
		if !regexp.MustCompile(`^[a-z]+(\|[a-z]+)*$`).MatchString(m[2]) {
			return nil, false, fmt.Errorf("component=~%q: write the components as a|b|c", m[2])
		}
		return strings.Split(m[2], "|"), true, nil
	}
	return nil, false, nil
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []selector
	}{
		{`up{component="sidecar"} == 0`, []selector{{"up", `component="sidecar"`}}},
		{`sum by (kind) (rate(octomesh_request_errors_total{component="sidecar", app=~"$app"}[$__rate_interval])) > 0`,
			[]selector{{"octomesh_request_errors_total", `component="sidecar", app=~"$app"`}}},
		{`histogram_quantile(0.99, sum by (cluster, le) (rate(a_bucket[5m])))`, []selector{{"a_bucket", ""}}},
		{`sum(rate(a[5m])) by (instance) / ignoring(kind) group_left sum(b offset 1h)`, []selector{{"a", ""}, {"b", ""}}},
		{`count by (app) (count by (app, version) (octomesh_config_info))`, []selector{{"octomesh_config_info", ""}}},
		{`label_replace(x{a="b)"}, "dst", "$1", "src", "(.*)") and on (a) y unless z`, []selector{{"x", `a="b)"`}, {"y", ""}, {"z", ""}}},
		{"a > 1e3 and b < 0x1f # a comment with c_total\n or Inf", []selector{{"a", ""}, {"b", ""}}},
		{`rate(x[5m:1m] @ start())`, []selector{{"x", ""}}},
		{`max_over_time(x[${__range}]) * on() group_right() y`, []selector{{"x", ""}, {"y", ""}}},
		{`sum without (le) (h_bucket) / sum(h_count)`, []selector{{"h_bucket", ""}, {"h_count", ""}}},
		{`vector(1)`, nil},
	} {
		got, err := metricNames(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got  %q\n want %q", c.expr, got, c.want)
		}
	}
	for _, bad := range []string{`rate(x[5m]`, `x{a="b"`, `x{a="b}`, `sum(x))`, `x[5m`} {
		if _, err := metricNames(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestVariableQuery(t *testing.T) {
	for q, want := range map[string]string{
		`label_values(octomesh_config_info{component="sidecar", app=~"a,b"}, app)`: `octomesh_config_info{component="sidecar", app=~"a,b"}`,
		`label_values(instance)`:                 "",
		`query_result(sum by (x) (rate(y[5m])))`: `sum by (x) (rate(y[5m]))`,
		`up{component="pilot"}`:                  `up{component="pilot"}`,
	} {
		got, err := variableQuery(q)
		if err != nil || got != want {
			t.Errorf("variableQuery(%q) = %q, %v; want %q", q, got, err, want)
		}
	}
	if _, err := variableQuery("metrics(octomesh_.*)"); err == nil {
		t.Error("metrics(): no error")
	}
}

func TestComponents(t *testing.T) {
	for m, want := range map[string][]string{
		`component="sidecar", app=~"$app"`:     {"sidecar"},
		`instance="x",component=~"pilot|meta"`: {"pilot", "meta"},
		`subcomponent="x"`:                     nil,
		`component!="agent"`:                   nil,
	} {
		got, _, err := components(m)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("components(%q) = %q, %v; want %q", m, got, err, want)
		}
	}
	if _, _, err := components(`component=~"pil.*"`); err == nil {
		t.Error(`component=~"pil.*": no error`)
	}
}
