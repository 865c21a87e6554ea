package shardmap

import "testing"

func TestAddServices(t *testing.T) {
	b, changed := AddServices(nil, nil)
	if !changed || string(b) != `{"services":[]}` {
		t.Fatalf("new record %s %v", b, changed)
	}
	b, changed = AddServices(b, []string{"user", "echo"})
	if !changed || string(b) != `{"services":["echo","user"]}` {
		t.Fatalf("%s %v", b, changed)
	}
	if _, changed = AddServices(b, []string{"echo"}); changed {
		t.Fatal("adding a known service changed the record")
	}
}
