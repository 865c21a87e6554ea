package rules

import (
	"encoding/json"
	"testing"
)

func TestDecodeNotice(t *testing.T) {
	good := map[string]Notice{
		`{"kind":"routes","key":"web","revision":7}`:                {KindRoutes, "web", 7},
		`{"kind":"policy","key":"echo"}`:                            {KindPolicy, "echo", 0},
		`{"kind":"health","key":"echo/10.0.0.1:7102","revision":3}`: {KindHealth, "echo/10.0.0.1:7102", 3},
	}
	for in, want := range good {
		got, err := DecodeNotice([]byte(in))
		if err != nil || got != want {
			t.Errorf("DecodeNotice(%s) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		``, `{}`, `{"kind":"routes"}`, `{"kind":"routes","key":"a/b"}`, `{"kind":"nope","key":"x"}`,
		`{"kind":"health","key":"echo"}`, `{"kind":"policy","key":"echo","revision":-1}`,
		`{"kind":"policy","key":"echo","value":"x"}`,
	} {
		if _, err := DecodeNotice([]byte(in)); err == nil {
			t.Errorf("DecodeNotice(%s): no error", in)
		}
	}
}

// FuzzDecodeNotice: a notice is untrusted bytes (the publish API, NATS):
// decoding never panics, and what it accepts is valid and survives a
// round trip.
func FuzzDecodeNotice(f *testing.F) {
	for _, s := range []string{`{"kind":"routes","key":"web","revision":7}`, `{"kind":"health","key":"echo/10.0.0.1:7102"}`, `{}`, `[`, `{"kind":"policy","key":"a/b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeNotice(b)
		if err != nil {
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("accepted %q as %+v, which does not validate: %v", b, n, err)
		}
		again, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := DecodeNotice(again); err != nil || m != n {
			t.Fatalf("round trip of %+v: %+v, %v", n, m, err)
		}
	})
}
