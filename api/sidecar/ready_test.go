package sidecar

import (
	"encoding/json"
	"testing"
)

// What a sidecar writes to its ready descriptor is read by supervisors of
// other versions: its form must not change.
func TestReadyInfoWireForm(t *testing.T) {
	b, _ := json.Marshal(ReadyInfo{PID: 42, Listeners: map[string]string{"inbound": "tcp://127.0.0.1:7001"}, Admin: "127.0.0.1:9901"})
	if want := `{"pid":42,"listeners":{"inbound":"tcp://127.0.0.1:7001"},"admin":"127.0.0.1:9901"}`; string(b) != want {
		t.Errorf("%s, want %s", b, want)
	}
	b, _ = json.Marshal(ReadyInfo{PID: 7, Listeners: map[string]string{}, Version: "1.2.0"})
	if want := `{"pid":7,"listeners":{},"version":"1.2.0"}`; string(b) != want {
		t.Errorf("%s, want %s", b, want)
	}
	b, _ = json.Marshal(ReadyInfo{PID: 1, Listeners: map[string]string{}})
	if want := `{"pid":1,"listeners":{}}`; string(b) != want {
		t.Errorf("%s, want %s", b, want)
	}
}
