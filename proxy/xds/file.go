package xds

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/octomesh/octomesh/config"
)

// subscriptionsFile is the file's content.
type subscriptionsFile struct {
	Services []string `json:"services"`
}

// readFile returns the services in the subscriptions file; a missing file
// is no subscriptions, a name that is not valid is skipped.
func (c *Client) readFile() ([]string, error) {
	path := c.opts.SubscriptionsFile
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f subscriptionsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := f.Services[:0]
	for _, s := range f.Services {
		if err := config.CheckName(s); err != nil {
			c.log.Warn("xds: skipping a bad service in the subscriptions file", "file", path, "err", err)
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// writeFile replaces the subscriptions file with the current
// subscriptions, atomically (write and rename), so that a crash leaves the
// old list or the new one.
func (c *Client) writeFile() {
	path := c.opts.SubscriptionsFile
	if path == "" {
		return
	}
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	c.mu.Lock()
	f := subscriptionsFile{Services: c.subscriptionList()}
	c.mu.Unlock()
	b, _ := json.MarshalIndent(f, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".subscriptions-*")
	if err == nil {
		_, err = tmp.Write(append(b, '\n'))
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}
	if err != nil {
		c.log.Warn("xds: cannot write the subscriptions file", "file", path, "err", err)
	}
}
