package shardmap

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/config"
)

// Key layout in etcd, beside the registry's (cp/store/keys.go).
const (
	// PilotPrefix holds one leased key per live pilot: PilotKey(id) ->
	// meta.PilotInfo (api/meta). The key goes when the pilot drains
	// (revokes its lease) or stops renewing it (dies): its apps move then.
	PilotPrefix = "/octomesh/v1/pilots/"
	// AppPrefix holds one record per app: AppKey(app) -> AppInfo.
	AppPrefix = "/octomesh/v1/apps/"
)

// PilotKey is pilot id's membership key.
func PilotKey(id string) string { return PilotPrefix + id }

// AppKey is app's record key.
func AppKey(app string) string { return AppPrefix + app }

// AppInfo is an app's record: the services its sidecars have subscribed
// to (the owning pilot adds to it), which a pilot preloads when the app is
// assigned to it. It only grows: a service no sidecar calls any more costs
// one idle watch on the app's owner.
type AppInfo struct {
	Services []string `json:"services"`
}

// DecodePilot reads a stored meta.PilotInfo and checks it.
func DecodePilot(b []byte) (meta.PilotInfo, error) {
	var p meta.PilotInfo
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("shardmap: pilot record: %v", err)
	}
	if err := config.CheckName(p.ID); err != nil {
		return p, fmt.Errorf("shardmap: pilot record: id: %v", err)
	}
	if _, _, err := config.ParseAddress(p.XDS); err != nil {
		return p, fmt.Errorf("shardmap: pilot record %s: xds: %v", p.ID, err)
	}
	return p, nil
}

// DecodeApp reads a stored AppInfo; names that are not valid are dropped.
func DecodeApp(b []byte) (AppInfo, error) {
	var a AppInfo
	if len(b) == 0 {
		return a, nil
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("shardmap: app record: %v", err)
	}
	a.Services = slices.DeleteFunc(a.Services, func(s string) bool { return config.CheckName(s) != nil })
	return a, nil
}

// AddServices returns the record b with services added (sorted, no
// duplicates), and whether that changed it.
func AddServices(b []byte, services []string) ([]byte, bool) {
	a, _ := DecodeApp(b)
	changed := b == nil
	for _, s := range services {
		if !slices.Contains(a.Services, s) {
			a.Services = append(a.Services, s)
			changed = true
		}
	}
	if !changed {
		return b, false
	}
	slices.Sort(a.Services)
	if a.Services == nil {
		a.Services = []string{}
	}
	out, _ := json.Marshal(a)
	return out, true
}

// nameUnder returns the last part of key under prefix, if it is a valid
// name.
func nameUnder(key, prefix string) (string, bool) {
	name, ok := strings.CutPrefix(key, prefix)
	return name, ok && config.CheckName(name) == nil
}
