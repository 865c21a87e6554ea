package release

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSpecJSONRoundTrip(t *testing.T) {
	in := `{"name":"r1","version":"1.4.0","scope":{"apps":["web"]},"canary_share":0.1,"batches":3,"pause":"10m","gate":{"max_error_rate":0.01,"window":"5m"}}`
	var s Spec
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if time.Duration(s.Pause) != 10*time.Minute || time.Duration(s.Gate.Window) != 5*time.Minute || s.Scope.Apps[0] != "web" {
		t.Fatalf("decoded %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"pause":"10m0s"`) {
		t.Fatalf("encoded %s", b)
	}
	for _, bad := range []string{`{"pause":10}`, `{"pause":"ten"}`} {
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func TestNamesAndDigests(t *testing.T) {
	for name, ok := range map[string]bool{"web-7": true, "a": true, "n.1_b": true, "-a": false, "": false, "a b": false, "a/b": false, strings.Repeat("a", 64): false} {
		if err := ValidName("node", name); (err == nil) != ok || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidName(%q): %v", name, err)
		}
	}
	if err := ValidSHA256("sha256", strings.Repeat("A", 64)); err == nil {
		t.Error("an upper-case digest passed: the store names files by the lower-case one")
	}
	if err := ValidSHA256("sha256", strings.Repeat("a", 64)); err != nil {
		t.Error(err)
	}
}
