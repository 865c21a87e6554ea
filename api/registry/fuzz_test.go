package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeInstance feeds arbitrary bytes to DecodeInstance (a value from
// the store, which other tools may write). It must never panic; a refusal
// is ErrInvalid; an instance it accepts is valid, and encodes to a value
// that decodes to the same instance.
func FuzzDecodeInstance(f *testing.F) {
	b, err := EncodeInstance(echo)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"service":"s","app":"a","address":"tcp://[::1]:65535","weight":0}`))
	f.Add([]byte(`{"service":"s","app":"a","address":"h:1","metadata":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeInstance(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("a decoded instance does not validate: %v", err)
		}
		if _, _, err := SplitAddress(in.Address); err != nil {
			t.Fatalf("a decoded instance's address: %v", err)
		}
		enc, err := EncodeInstance(in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeInstance(enc)
		if err != nil {
			t.Fatalf("%s decodes, but its encoding %s does not: %v", b, enc, err)
		}
		if enc2, _ := EncodeInstance(again); !bytes.Equal(enc2, enc) {
			t.Fatalf("%s encodes to %s, which decodes and encodes to %s", b, enc, enc2)
		}
	})
}

// FuzzDecodeStored feeds arbitrary bytes to DecodeRoutes and DecodePolicy
// (values from the store, passed on to the pilot without validation). They
// must never panic; a refusal is ErrInvalid; what they decode re-encodes to
// a fixed point; and what they decode, once valid, stays valid after the
// round trip.
func FuzzDecodeStored(f *testing.F) {
	f.Add([]byte(`{"routes":[{"service":"echo","method":"Get","split":[{"cluster":"echo","weight":90},{"cluster":"echo-v2","weight":10}],` +
		`"timeout":"800ms","retry":{"attempts":3},"rate_limit":{"requests_per_second":100},"fault":{"abort":{"percent":1}},"mirror":{"cluster":"echo-shadow"}}]}`))
	f.Add([]byte(`{"circuit_breaker":{"max_requests":10},"retry_budget":{},"outlier_detection":{"interval":"1s"},"routes":[{"method":"Put","retry":{}}]}`))
	f.Add([]byte(`{"routes":[{"service":"*","cluster":"x","headers":{},"tags":{"lane":"a"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := DecodeRoutes(b); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodeRoutes error %v is not ErrInvalid", err)
			}
		} else {
			fixedPoint(t, a, func(b []byte) (any, error) { return DecodeRoutes(b) })
			if a.Validate() == nil {
				again, _ := DecodeRoutes(mustJSON(t, a))
				if err := again.Validate(); err != nil {
					t.Fatalf("valid rules %s are no longer valid after a round trip: %v", mustJSON(t, a), err)
				}
			}
		}
		if p, err := DecodePolicy("echo", b); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodePolicy error %v is not ErrInvalid", err)
			}
		} else {
			fixedPoint(t, p, func(b []byte) (any, error) { return DecodePolicy("echo", b) })
			if p.Validate("echo") == nil {
				again, _ := DecodePolicy("echo", mustJSON(t, p))
				if err := again.Validate("echo"); err != nil {
					t.Fatalf("a valid policy %s is no longer valid after a round trip: %v", mustJSON(t, p), err)
				}
			}
		}
	})
}

// fixedPoint checks that v encodes to JSON that decodes to a value that
// encodes the same.
func fixedPoint(t *testing.T, v any, decode func([]byte) (any, error)) {
	t.Helper()
	b := mustJSON(t, v)
	again, err := decode(b)
	if err != nil {
		t.Fatalf("%+v encodes to %s, which does not decode: %v", v, b, err)
	}
	if b2 := mustJSON(t, again); !bytes.Equal(b2, b) {
		t.Fatalf("%s decodes and encodes to %s", b, b2)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%+v does not encode: %v", v, err)
	}
	return b
}
