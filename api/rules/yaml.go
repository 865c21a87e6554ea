package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// EncodeYAML writes documents as YAML in block style, separated by "---",
// fields in the order of their JSON form: what `octomesh ctl get -o yaml`
// prints, and what apply reads back.
func EncodeYAML(docs []Document) ([]byte, error) {
	var out bytes.Buffer
	for i := range docs {
		if i > 0 {
			out.WriteString("---\n")
		}
		b, err := documentYAML(&docs[i])
		if err != nil {
			return nil, err
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

func documentYAML(d *Document) ([]byte, error) {
	j, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var n yaml.Node // JSON is YAML: the node keeps the fields' order
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, fmt.Errorf("rules: %s as YAML: %v", d.Ref(), err)
	}
	blockStyle(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("rules: %s as YAML: %v", d.Ref(), err)
	}
	return b.Bytes(), enc.Close()
}

// blockStyle drops the JSON's flow and quoting styles: the encoder quotes
// what needs it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// Diff shows how new differs from old as lines of their YAML (metadata's
// revision and time left out), "-" for old's and "+" for new's, with a
// header naming both; nil old is a creation and nil new a deletion. It is
// "" when they say the same.
func Diff(old, new *Document) string {
	var a, b []string
	var ref string
	if old != nil {
		a, ref = diffLines(old), old.Ref()
	}
	if new != nil {
		b, ref = diffLines(new), new.Ref()
	}
	if old != nil && new != nil && Same(old, new) {
		return ""
	}
	var out strings.Builder
	from, to := "(none)", "(none)"
	if old != nil {
		from = fmt.Sprintf("%s (revision %d)", ref, old.Metadata.Revision)
	}
	if new != nil {
		to = ref + " (applied)"
	}
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", from, to)
	for _, l := range lineDiff(a, b) {
		out.WriteString(l)
		out.WriteByte('\n')
	}
	return out.String()
}

func diffLines(d *Document) []string {
	c := *d
	c.Metadata.Revision, c.Metadata.Updated = 0, ""
	b, err := documentYAML(&c)
	if err != nil {
		return []string{"# " + err.Error()}
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// lineDiff is a longest-common-subsequence diff of two short texts: every
// line, prefixed " ", "-" or "+".
func lineDiff(a, b []string) []string {
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, " "+a[i])
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "-"+a[i])
			i++
		default:
			out = append(out, "+"+b[j])
			j++
		}
	}
	return out
}
