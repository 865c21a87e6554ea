package xds

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// Status is what the admin endpoint's GET /xds shows: its JSON names are
// read by operators' tools.
func TestStatus(t *testing.T) {
	c := newTestClient(t, &fakeTarget{})
	_ = c.Subscribe("echo", "ghost")
	_ = c.handle(response(typeURLs[kCluster], nil, edsCluster("echo")))
	_ = c.handle(response(typeURLs[kEndpoint], nil, assignment("echo", lbEndpoint("10.0.0.1", 7000))))
	_ = c.handle(response(typeURLs[kCluster], []string{"ghost"}))
	st := c.Status()
	if st.Pilot != "" || st.Connected || fmt.Sprint(st.Subscriptions) != "[echo ghost]" || fmt.Sprint(st.Absent) != "[ghost]" ||
		st.Clusters["echo"] != "v0" || st.Endpoints["echo"] != "v0" || len(st.Routes) != 0 {
		t.Errorf("%+v", st)
	}
	if eps := st.Applied.Clusters["echo"]; len(eps) != 1 || !strings.HasPrefix(eps[0], "10.0.0.1:7000 (weight ") {
		t.Errorf("applied echo %v", eps)
	}
	if fmt.Sprint(st.Applied.Routes) != "[local/* -> local-app echo/* -> echo]" {
		t.Errorf("applied routes %v", st.Applied.Routes)
	}
	if st.Stats["responses"] != 0 || len(st.Stats) != 8 {
		t.Errorf("stats %v", st.Stats)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[absent applied clusters connected endpoints pilot routes stats subscriptions]" {
		t.Errorf("JSON keys %v", keys)
	}
}
