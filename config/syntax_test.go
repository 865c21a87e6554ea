package config

import (
	"errors"
	"strings"
	"testing"
)

// A YAML syntax error names the line that makes the document wrong, not
// yaml.v3's line (which for its parser's errors counts from 0, and is
// often where the enclosing block starts).
func TestSyntaxErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		problem    string
	}{
		{"unclosed list", "listeners:\n  - name: a\n    address: \":1\"\n    routes: [{cluster: c}\nclusters: [{name: c}]\n", 4, "did not find expected ',' or ']'"},
		{"unclosed mapping", "node: {id: a\nlisteners: []\n", 1, "did not find expected ',' or '}'"},
		{"unclosed mapping further down", "listeners: []\nnode: {id: a\nadmin: {}\n", 2, "did not find expected ',' or '}'"},
		{"unclosed list at the end", "node: {}\nlisteners: [\n", 2, "did not find expected node content"},
		{"bad indentation in a list", "listeners:\n  - name: a\n    address: \":1\"\n   routes: []\n", 4, "did not find expected '-' indicator"},
		{"list item in a mapping", "node: {}\n- listeners\n", 2, "did not find expected key"},
		{"bad indentation in a mapping", "node:\n  id: a\n app: b\n", 3, "did not find expected key"},
		{"tab", "node:\n\tid: a\n", 2, "found character that cannot start any token"},
		{"mapping in a value", "node:\n  id: a: b\n", 2, "mapping values are not allowed in this context"},
		{"unterminated quote", "node:\n  id: 'a\n  app: b\n", 2, "found unexpected end of stream"},
		{"second document", "node: {}\n---\nnode: [\n", 3, "did not find expected node content"},
	}
	for _, tc := range cases {
		_, err := Parse("a.yaml", []byte(tc.yaml))
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: error %v (%T), want an *Error", tc.name, err, err)
			continue
		}
		if ce.File != "a.yaml" || ce.Line != tc.line || !strings.Contains(ce.Msg, tc.problem) {
			t.Errorf("%s: %q, want a.yaml:%d: ...%s", tc.name, err, tc.line, tc.problem)
		}
	}
}

func TestEmptyFileSaysSo(t *testing.T) {
	for _, doc := range []string{"", "\n\n", "# only a comment\n"} {
		_, err := Parse("a.yaml", []byte(doc))
		if err == nil || err.Error() != "a.yaml: the file holds no YAML: it is empty, or only comments" {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

// A required field the file leaves out is reported at the line of the
// nearest enclosing field it has.
func TestMissingFieldsHaveALine(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"listener name", "clusters: [{name: c}]\nlisteners:\n  - address: \":1\"\n    routes: [{cluster: c}]\n",
			"a.yaml:3: listeners[0].name: missing"},
		{"cluster name", "listeners: [{name: a, address: \":1\", routes: [{cluster: c}]}]\nclusters:\n  - {name: c}\n  - balancer: maglev\n",
			"a.yaml:4: clusters[1].name: missing"},
		{"listener address", "clusters: [{name: c}]\nlisteners:\n  - name: a\n    routes: [{cluster: c}]\n",
			"a.yaml:3: listeners[0].address: address missing"},
		{"no listeners", "# a comment\nnode: {id: a}\n", "a.yaml:2: listeners: at least one listener is needed"},
		{"rate limit rate", "clusters: [{name: c}]\nlisteners:\n  - name: a\n    address: \":1\"\n    routes:\n      - cluster: c\n        rate_limit: {burst: 3}\n",
			"a.yaml:7: listeners[0].routes[0].rate_limit.requests_per_second"},
	}
	for _, tc := range cases {
		_, err := Parse("a.yaml", []byte(tc.yaml))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s...", tc.name, err, tc.want)
		}
	}
}
