package meta

import (
	"fmt"

	"github.com/octomesh/octomesh/config"
)

// CheckApp checks an app's name as Meta and the pilots take it: a name
// (config.CheckName: letters, digits, '.', '-', '_', at most
// config.MaxNameLength bytes) that is also not "." or "..", since it ends
// a key of the shard map in etcd (apps/<app>) and a path of the HTTP APIs.
// Meta checks the app of every lookup with it, a pilot the node.cluster
// (and x-octomesh-app header) of every xDS stream, before either writes
// the app's record.
func CheckApp(app string) error {
	if err := config.CheckName(app); err != nil {
		return err
	}
	if app == "." || app == ".." {
		return fmt.Errorf("name %q is a path segment, not a name", app)
	}
	return nil
}
