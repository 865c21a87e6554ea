package config

import (
	"strings"
	"testing"
)

func TestSplitYAML(t *testing.T) {
	data := "---\nname: a\nattempts: 2\n---\n# nothing\n---\nname: b\nattempts: x\n---\n"
	docs, err := SplitYAML("r.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Index != 1 || docs[1].Index != 3 || docs[0].Line != 2 || docs[1].Line != 7 {
		t.Fatalf("docs: %+v %+v", docs[0], docs[len(docs)-1])
	}
	if got := docs[1].Field("name"); got != "b" {
		t.Errorf("Field(name) = %q", got)
	}
	type doc struct {
		Name     string `yaml:"name"`
		Attempts int    `yaml:"attempts"`
	}
	var a doc
	if err := docs[0].Decode(&a); err != nil || a != (doc{"a", 2}) {
		t.Errorf("Decode: %+v, %v", a, err)
	}
	if got := docs[0].LineOf("attempts"); got != 3 {
		t.Errorf("LineOf(attempts) = %d, want 3", got)
	}
	var b doc
	err = docs[1].Decode(&b)
	if err == nil || err.Error() != `r.yaml:8: attempts: "x" is not an integer that fits in 64 bits` {
		t.Errorf("Decode of a bad document: %v", err)
	}
}

func TestSplitYAMLErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "r.yaml: the file holds no YAML document",
		"# only\n---\n":                  "r.yaml: the file holds no YAML document",
		"a: 1\n---\nb: 2\n---\nc: [1,\n": "r.yaml:5: YAML syntax: did not find expected node content",
		"a: 1\n---\nb: \"x\n":            "r.yaml:3: YAML syntax: found unexpected end of stream",
	} {
		_, err := SplitYAML("r.yaml", []byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("SplitYAML(%q) = %v; want %q", in, err, want)
		}
	}
}
