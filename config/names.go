package config

import "fmt"

// MaxNameLength is the longest service or app name the mesh accepts.
const MaxNameLength = 200

// CheckName validates a service or app name as the mesh uses it in routes,
// xDS resource names and registry keys: 1 to MaxNameLength bytes of ASCII
// letters, digits, '.', '-' and '_'.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("name is empty")
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("name %.20q... is longer than %d bytes", name, MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			continue
		}
		return fmt.Errorf("name %q has %q at byte %d (allowed: letters, digits, '.', '-', '_')", name, c, i)
	}
	return nil
}
