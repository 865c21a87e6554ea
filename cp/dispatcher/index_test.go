package dispatcher

import (
	"slices"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/shardmap"
)

func TestIndexTargets(t *testing.T) {
	a := &shardmap.Assignment{
		Pilots: map[string]meta.PilotInfo{"p1": {ID: "p1"}, "p2": {ID: "p2"}, "p3": {ID: "p3"}},
		Apps: map[string]shardmap.AppInfo{
			"web":   {Services: []string{"echo"}},
			"api":   {Services: []string{"db", "echo"}},
			"batch": {Services: []string{"db"}},
			"lone":  {},
			"stray": {Services: []string{"echo"}}, // its owner is gone
		},
		Owner: map[string]string{"web": "p1", "api": "p2", "batch": "p2", "lone": "p3", "stray": "p9"},
	}
	x := newIndex(a)
	for _, c := range []struct {
		n    rules.Notice
		want []string
	}{
		{rules.Notice{Kind: rules.KindRoutes, Key: "web"}, []string{"p1"}},
		{rules.Notice{Kind: rules.KindRoutes, Key: "lone"}, []string{"p3"}},
		{rules.Notice{Kind: rules.KindRoutes, Key: "ghost"}, nil}, // no record, no owner
		{rules.Notice{Kind: rules.KindRoutes, Key: "stray"}, nil}, // owner not live
		{rules.Notice{Kind: rules.KindPolicy, Key: "echo"}, []string{"p1", "p2"}},
		{rules.Notice{Kind: rules.KindPolicy, Key: "db"}, []string{"p2"}}, // two apps, one pilot: once
		{rules.Notice{Kind: rules.KindPolicy, Key: "nobody"}, nil},
		{rules.Notice{Kind: rules.KindHealth, Key: "echo/10.0.0.1:7001"}, []string{"p1", "p2"}},
		{rules.Notice{Kind: rules.KindHealth, Key: "db/10.0.0.2:7001"}, []string{"p2"}},
	} {
		if got := x.targets(c.n); !slices.Equal(got, c.want) {
			t.Errorf("targets(%+v) = %v, want %v", c.n, got, c.want)
		}
	}
	exp := x.expected("p2")
	if !exp[rules.KindRoutes]["api"] || !exp[rules.KindRoutes]["batch"] || len(exp[rules.KindRoutes]) != 2 {
		t.Errorf("p2 should hold the routes of api and batch, got %v", exp[rules.KindRoutes])
	}
	if !exp[rules.KindPolicy]["db"] || !exp[rules.KindPolicy]["echo"] || len(exp[rules.KindPolicy]) != 2 {
		t.Errorf("p2 should hold the policies of db and echo, got %v", exp[rules.KindPolicy])
	}
	info := x.info()
	if !slices.Equal(info.Pilots["p2"], []string{"api", "batch"}) || info.Apps["web"] != "p1" || !slices.Equal(info.Services["echo"], []string{"api", "stray", "web"}) {
		t.Errorf("info = %+v", info)
	}
}

func TestDecodeNoticesNamesTheField(t *testing.T) {
	for body, want := range map[string]string{
		``:                             "body: empty",
		`[]`:                           "body: an empty array",
		`{"kind":"route","key":"web"}`: `notice kind "route": unknown`,
		`{"key":"web"}`:                "notice kind: missing",
		`{"kind":"routes","key":""}`:   `notice key ""`,
		`{"kind":"routes","key":"web","extra":1}`:                        `unknown field "extra"`,
		`[{"kind":"routes","key":"web"},{"kind":"health","key":"echo"}]`: `notices[1]: notice key "echo": must be <service>/<address>`,
		`{"kind":"policy","key":"echo","revision":-1}`:                   "notice revision -1",
		`[1,2`: "body: ",
	} {
		_, err := decodeNotices([]byte(body))
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("decodeNotices(%q) = %v, want an error with %q", body, err, want)
		}
	}
	ns, err := decodeNotices([]byte(` [{"kind":"routes","key":"web","revision":7},{"kind":"health","key":"echo/1.2.3.4:5"}]`))
	if err != nil || len(ns) != 2 || ns[0].Revision != 7 {
		t.Errorf("good array: %v %v", ns, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
