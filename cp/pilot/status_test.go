package pilot

import "testing"

// TestResourceStatus: how a resource's versions decide its state.
func TestResourceStatus(t *testing.T) {
	for _, c := range []struct {
		current, acked, sent string
		answered             bool
		want                 string
	}{
		{"v1", "v1", "v1", true, StateSynced},
		{"v2", "v1", "v2", false, StateStale},  // sent, awaiting the ACK
		{"v2", "v1", "v2", true, StateNacked},  // answered, and not ACKed
		{"v2", "v1", "", true, StateStale},     // not sent yet (awaiting an earlier ACK)
		{"v1", "", "v1", false, StateStale},    // first version in flight
		{"v1", "", "", true, StateNotSent},     // never sent
		{"", "", "", true, StateNotSent},       // not loaded
		{absent, "", "", true, StateSynced},    // does not exist, told so
		{absent, "v1", "", true, StateStale},   // removed, removal not ACKed
		{"v3", "v1", "v2", true, StateNacked},  // refused v2, v3 not sent yet
		{"v1", "v1", "v1", false, StateSynced}, // nothing new in flight for it
		{"", "v1", "v1", true, StateStale},     // held, data reloading
		{"v2", "v2", "v2", true, StateSynced},
	} {
		got := resourceStatus("r", c.current, c.acked, c.sent, c.answered)
		if got.State != c.want {
			t.Errorf("current %q acked %q sent %q answered %v: %s, want %s", c.current, c.acked, c.sent, c.answered, got.State, c.want)
		}
	}
}
