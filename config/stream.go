package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"

	"gopkg.in/yaml.v3"
)

// YAMLDocument is one document of a YAML stream: a file of several
// documents separated by "---". Split reads a stream; Decode decodes one
// document as strictly as a config file.
type YAMLDocument struct {
	// File names the stream in errors.
	File string
	// Index is the document's position in the stream, from 1; empty
	// documents count, so it is what a reader counts by "---".
	Index int
	// Line is the line of the document's first node.
	Line int

	root   *yaml.Node
	lines  map[string]int
	budget *int
}

// MaxYAMLDocuments bounds the documents of one stream.
const MaxYAMLDocuments = 10000

// SplitYAML reads data's documents, skipping empty ones (nothing but
// comments, or a trailing "---"). A syntax error is an *Error with the
// line of the problem; a stream without a document is an error too.
func SplitYAML(file string, data []byte) ([]*YAMLDocument, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	budget := nodeBudget(len(data))
	var docs []*YAMLDocument
	for index := 1; ; index++ {
		var root yaml.Node
		if err := dec.Decode(&root); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, syntaxError(file, data, err)
		}
		if index > MaxYAMLDocuments {
			return nil, &Error{File: file, Line: root.Line, Msg: fmt.Sprintf("more than %d YAML documents", MaxYAMLDocuments)}
		}
		if len(root.Content) == 0 || root.Content[0].Kind == yaml.ScalarNode && root.Content[0].Tag == "!!null" && root.Content[0].Value == "" {
			continue
		}
		docs = append(docs, &YAMLDocument{File: file, Index: index, Line: root.Content[0].Line, root: &root, budget: &budget})
	}
	if len(docs) == 0 {
		return nil, &Error{File: file, Msg: "the file holds no YAML document: it is empty, or only comments"}
	}
	return docs, nil
}

// Field returns the value of the document's field at path (top-level
// names, then names inside them: Field("metadata", "name")) when it is a
// single value, and "" otherwise (absent, a mapping, a list): to choose the
// type to Decode into, or to name a document that does not decode.
func (d *YAMLDocument) Field(path ...string) string {
	n := d.root.Content[0]
	for _, name := range path {
		if n.Kind != yaml.MappingNode {
			return ""
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return ""
		}
		n = next
	}
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// Decode decodes the document into v, a pointer to a struct with yaml
// tags, as strictly as DecodeYAML: an error is an *Error naming the file,
// the line and the field path. The documents of one stream share one
// budget of nodes (aliases).
func (d *YAMLDocument) Decode(v any) error {
	dec := decoder{lines: map[string]int{}, budget: *d.budget}
	err := dec.decode(d.root, reflect.ValueOf(v), "")
	*d.budget = dec.budget
	d.lines = dec.lines
	if err != nil {
		var pe *pathError
		if errors.As(err, &pe) {
			return &Error{File: d.File, Line: pe.line, Path: pe.path, Msg: pe.msg}
		}
		return fmt.Errorf("%s: %w", d.File, err)
	}
	return nil
}

// LineOf is the line of the field at path after Decode, or of its nearest
// enclosing field that the document has (as Config.Errorf finds it): for
// errors found after decoding.
func (d *YAMLDocument) LineOf(path string) int {
	c := Config{lines: d.lines}
	if line := c.lineOf(path); line > 0 {
		return line
	}
	return d.Line
}
