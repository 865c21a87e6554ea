package mocksidecar

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"
)

// FileControls are control actions for runs driven from a shell: a
// script waits at a wait-file step until the shell creates the file, and
// a touch-file step tells the shell it got somewhere. wait-file returns
// the file's content, trimmed, as ${content}.
//
//	control: {action: wait-file, args: {path: /tmp/run/change}}
//	control: {action: touch-file, args: {path: /tmp/run/registered}}
//
// However many sidecars wait for one file, one goroutine looks for it
// (ten times a second): fifty thousand sidecars polling it each would
// take the machine's CPU from what is being measured.
func FileControls() map[string]Control {
	var mu sync.Mutex
	appeared := map[string]chan struct{}{}
	watch := func(path string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		ch := appeared[path]
		if ch == nil {
			ch = make(chan struct{})
			appeared[path] = ch
			go func() {
				for {
					if _, err := os.Stat(path); err == nil {
						close(ch)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
		}
		return ch
	}
	return map[string]Control{
		"wait-file": func(ctx context.Context, args map[string]string) (map[string]string, error) {
			path := args["path"]
			if path == "" {
				return nil, errors.New("wait-file: args.path is required")
			}
			select {
			case <-watch(path):
				// What the shell wrote (say, when it killed an instance)
				// becomes ${content}.
				b, err := os.ReadFile(path)
				if err != nil {
					return nil, err
				}
				return map[string]string{"content": strings.TrimSpace(string(b))}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		"touch-file": func(_ context.Context, args map[string]string) (map[string]string, error) {
			path := args["path"]
			if path == "" {
				return nil, errors.New("touch-file: args.path is required")
			}
			return nil, os.WriteFile(path, nil, 0o644)
		},
	}
}
