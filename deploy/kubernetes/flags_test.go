package kubernetes

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	bin  string
	err  error
}

// octomeshBinary builds ./cmd/octomesh once per test run. The flag sets are
// locals of package main, so the binary's own -h output is the truth about
// them.
func octomeshBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the octomesh binary is not built, so the commands' flags are not checked")
	}
	built.once.Do(func() {
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			if goTool, err = exec.LookPath("go"); err != nil {
				built.err = errors.New("no go tool to build cmd/octomesh with")
				return
			}
		}
		dir, err := os.MkdirTemp("", "octomesh-k8s-test")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "octomesh")
		cmd := exec.Command(goTool, "build", "-o", built.bin, "github.com/octomesh/octomesh/cmd/octomesh")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = errors.New("go build ./cmd/octomesh: " + err.Error() + "\n" + string(out))
		}
	})
	if built.err != nil {
		t.Skipf("the commands' flags are not checked: %v", built.err)
	}
	return built.bin
}

// flagLine is a flag in the flag package's usage: "  -name type" for a
// flag that takes a value, "  -name" for a bool flag.
var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9_.-]*)(?:[ \t]+([A-Za-z]+))?`)

// binaryFlags returns a flagLookup that asks the binary (octomesh <cmd> -h),
// once per command.
func binaryFlags(t *testing.T, bin string) flagLookup {
	type answer struct {
		flags  map[string]bool
		exists bool
	}
	cache := map[string]answer{}
	return func(command string) (map[string]bool, bool) {
		if a, ok := cache[command]; ok {
			return a.flags, a.exists
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, command, "-h")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		a := answer{flags: map[string]bool{}}
		switch {
		case bytes.Contains(stderr.Bytes(), []byte("unknown command")):
		case err != nil:
			t.Fatalf("octomesh %s -h: %v\n%s", command, err, stderr.String())
		default:
			a.exists = true
			for _, m := range flagLine.FindAllStringSubmatch(stderr.String()+stdout.String(), -1) {
				a.flags[m[1]] = m[2] != ""
			}
			if len(a.flags) == 0 {
				t.Fatalf("octomesh %s -h lists no flags:\n%s", command, stderr.String())
			}
		}
		cache[command] = a
		return a.flags, a.exists
	}
}
