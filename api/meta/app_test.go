package meta

import (
	"strings"
	"testing"

	"github.com/octomesh/octomesh/config"
)

func TestCheckApp(t *testing.T) {
	for _, app := range []string{"web", "echo-client", "a.b_c-1", "..a", strings.Repeat("a", config.MaxNameLength)} {
		if err := CheckApp(app); err != nil {
			t.Errorf("CheckApp(%q) = %v, want nil", app, err)
		}
	}
	for _, app := range []string{"", ".", "..", "a/b", "../etc", "/", "a b", "a\x00b", "a\nb", "\x7f", "é", strings.Repeat("a", config.MaxNameLength+1)} {
		if err := CheckApp(app); err == nil {
			t.Errorf("CheckApp(%q) = nil, want an error", app)
		}
	}
}
