package registry

import (
	"errors"
	"strings"
	"testing"
)

var echo = Instance{Service: "echo", App: "echo", Address: "127.0.0.1:7102", Weight: 1, Zone: "z1", Metadata: map[string]string{"v": "2"}}

func TestInstanceValidate(t *testing.T) {
	cases := []struct {
		change func(*Instance)
		want   string
	}{
		{func(in *Instance) { in.Service = "" }, "service: name is empty"},
		{func(in *Instance) { in.App = "a b" }, "app: name"},
		{func(in *Instance) { in.Address = "unix:///x.sock" }, "reached over TCP"},
		{func(in *Instance) { in.Address = "127.0.0.1:0" }, "port from 1 to 65535"},
		{func(in *Instance) { in.Address = "127.0.0.1" }, "not host:port"},
		{func(in *Instance) { in.Weight = 1 << 21 }, "weight"},
		{func(in *Instance) { in.Set = "s/1" }, "set: name"},
		{func(in *Instance) { in.Metadata = map[string]string{"": "x"} }, "metadata"},
	}
	for _, tc := range cases {
		in := echo
		tc.change(&in)
		err := in.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", in, err, tc.want)
		}
	}
	if err := echo.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseIDText(t *testing.T) {
	l := LeaseID(0x694d7a1b2c3d4e5f)
	b, _ := l.MarshalText()
	var back LeaseID
	if err := back.UnmarshalText(b); err != nil || back != l || string(b) != "694d7a1b2c3d4e5f" {
		t.Fatalf("%s -> %v %v", b, back, err)
	}
	if _, err := ParseLeaseID("zz"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}
