package ca

import "testing"

func TestParseID(t *testing.T) {
	id, err := ParseID("spiffe://mesh.local/app/echo-server")
	if err != nil || id != (ID{"mesh.local", "echo-server"}) {
		t.Fatalf("%+v %v", id, err)
	}
	for _, bad := range []string{"", "echo", "spiffe://mesh.local", "spiffe://mesh.local/ns/x", "spiffe://mesh.local/app/", "spiffe://Mesh/app/x",
		"spiffe://mesh.local/app/a/b", "spiffe://mesh.local/app/x?y", "spiffe://u@mesh/app/x", "spiffe://mesh:1/app/x"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
