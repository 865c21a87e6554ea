package rules

import "testing"

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
