package mocksidecar

import (
	"context"
	"errors"
	"os"
	"time"
)

// FileControls are control actions for runs driven from a shell: a
// script waits at a wait-file step until the shell creates the file, and
// a touch-file step tells the shell it got somewhere.
//
//	control: {action: wait-file, args: {path: /tmp/run/change}}
//	control: {action: touch-file, args: {path: /tmp/run/registered}}
func FileControls() map[string]Control {
	return map[string]Control{
		"wait-file": func(ctx context.Context, args map[string]string) (map[string]string, error) {
			path := args["path"]
			if path == "" {
				return nil, errors.New("wait-file: args.path is required")
			}
			for {
				if _, err := os.Stat(path); err == nil {
					return nil, nil
				}
				if !sleepCtx(ctx, 100*time.Millisecond) {
					return nil, ctx.Err()
				}
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
