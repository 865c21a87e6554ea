package config

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports a syntax error as "yaml: line N: problem", where N is not
// reliably the line of the problem: for errors of its parser (as opposed to
// its scanner) N counts from 0, and for both it is often the line where the
// enclosing block or bracket starts rather than where the problem is. So
// syntaxError finds the line itself: the first line at which the document,
// read up to the end of that line, fails with the same problem. That is the
// line that makes the document wrong (an unclosed bracket is reported at the
// bracket's line, an unterminated quote at the quote's).

// yamlError splits a yaml.v3 error message into its line (0 if none) and
// its problem.
var yamlError = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems are the problems yaml.v3's parser reports, whose line N
// counts from 0; the problem is then on line N+1 or later.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxSearchBudget bounds the bytes syntaxError re-reads to find the line
// of a problem (the search re-reads the document's prefixes).
const syntaxSearchBudget = 8 << 20

// syntaxError turns a yaml.v3 decoding error of data into an *Error with
// the line of the problem.
func syntaxError(file string, data []byte, err error) error {
	m := yamlError.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: file, Msg: "YAML: " + err.Error()}
	}
	reported, _ := strconv.Atoi(m[1])
	problem := m[2]
	// The parser's N is the 0-based line of the block or bracket the
	// problem is in, or, when that starts on the first line, of the
	// problem: the problem's line is 1 or at least N+1. It may be the end
	// of the document, past its last line.
	from := 1
	if parserProblems[problem] {
		from = min(reported+1, lineCount(data))
	}
	line := problemLine(data, problem, from)
	if line == 0 { // not found within the budget: the best guess
		line = max(from, reported)
	}
	return &Error{File: file, Line: line, Msg: "YAML syntax: " + problem}
}

// lineCount is the number of lines in data, a last one without a newline
// included.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// problemLine returns the first line, the first one or from line from on,
// such that data up to the end of that line fails to decode with problem;
// 0 if none does within syntaxSearchBudget.
func problemLine(data []byte, problem string, from int) int {
	budget := syntaxSearchBudget
	line := 0
	for end := 0; end < len(data); {
		if nl := bytes.IndexByte(data[end:], '\n'); nl >= 0 {
			end += nl + 1
		} else {
			end = len(data)
		}
		if line++; line > 1 && line < from {
			continue
		}
		if budget -= end; budget < 0 {
			return 0
		}
		if prefixProblem(data[:end]) == problem {
			return line
		}
	}
	return 0
}

// prefixProblem is the problem yaml.v3 finds in data, without its line; ""
// if it finds none.
func prefixProblem(data []byte) string {
	var n yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var err error
	// Every document: a stream's (SplitYAML) error may be in any.
	for docs := 0; err == nil && docs <= MaxYAMLDocuments; docs++ {
		err = dec.Decode(&n)
	}
	if err == nil {
		return ""
	}
	if errors.Is(err, io.EOF) {
		return ""
	}
	if m := yamlError.FindStringSubmatch(err.Error()); m != nil {
		return m[2]
	}
	return err.Error()
}
