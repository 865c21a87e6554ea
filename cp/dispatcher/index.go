package dispatcher

import (
	"sort"
	"strings"

	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/shardmap"
)

// index says which shard pilots a notice concerns, from one assignment of
// the shard map (the one Meta and every pilot compute): app -> owner, and
// service -> the apps whose record lists it. It is immutable.
type index struct {
	a         *shardmap.Assignment
	byService map[string][]string // service -> apps, sorted
}

func newIndex(a *shardmap.Assignment) *index {
	x := &index{a: a, byService: map[string][]string{}}
	for app, info := range a.Apps {
		for _, svc := range info.Services {
			x.byService[svc] = append(x.byService[svc], app)
		}
	}
	for _, apps := range x.byService {
		sort.Strings(apps)
	}
	return x
}

// targets lists the shard pilots a notice goes to, sorted, without
// duplicates: the owner of the app for a routes notice; the owners of every
// app whose record lists the service for a policy or health notice. None
// means no shard pilot is interested.
func (x *index) targets(n rules.Notice) []string {
	var apps []string
	switch n.Kind {
	case rules.KindRoutes:
		apps = []string{n.Key}
	case rules.KindPolicy:
		apps = x.byService[n.Key]
	case rules.KindHealth:
		svc, _, _ := strings.Cut(n.Key, "/")
		apps = x.byService[svc]
	}
	seen := map[string]bool{}
	var out []string
	for _, app := range apps {
		owner, ok := x.a.OwnerOf(app)
		if !ok || seen[owner.ID] {
			continue
		}
		seen[owner.ID] = true
		out = append(out, owner.ID)
	}
	sort.Strings(out)
	return out
}

// expected is what pilot id should hold: the route rules of the apps it
// owns, and the policies of their services.
func (x *index) expected(id string) map[string]map[string]bool {
	out := map[string]map[string]bool{rules.KindRoutes: {}, rules.KindPolicy: {}}
	for _, app := range x.a.Owned(id) {
		out[rules.KindRoutes][app] = true
		for _, svc := range x.a.Apps[app].Services {
			out[rules.KindPolicy][svc] = true
		}
	}
	return out
}

// IndexInfo is /debug/index: the shard pilots with their apps, every app's
// owner, and the apps of every service.
type IndexInfo struct {
	Pilots   map[string][]string `json:"pilots"`
	Apps     map[string]string   `json:"apps"`
	Services map[string][]string `json:"services"`
}

func (x *index) info() IndexInfo {
	out := IndexInfo{Pilots: map[string][]string{}, Apps: map[string]string{}, Services: x.byService}
	for id := range x.a.Pilots {
		out.Pilots[id] = x.a.Owned(id)
		if out.Pilots[id] == nil {
			out.Pilots[id] = []string{}
		}
	}
	for app := range x.a.Apps {
		out.Apps[app] = x.a.Owner[app]
	}
	return out
}
