package config

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"echo", "octomesh.test.echo-dest", "a_b", strings.Repeat("x", MaxNameLength)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "*", "a b", "a/b", "é", strings.Repeat("x", MaxNameLength+1)} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) accepted", bad)
		}
	}
}
