package server

import (
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/config"
)

// TestExampleConfigsLoad keeps every sidecar config under examples/ valid:
// it must parse and build a server (balancer names included).
func TestExampleConfigsLoad(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../examples", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") && strings.Contains(filepath.Base(path), "sidecar") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		cfg, err := config.Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		s.Close()
	}
}
