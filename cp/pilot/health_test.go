package pilot

import (
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

// A scanner's health mark turns an instance UNHEALTHY in the assignment,
// keeping its weight (the sidecar's panic threshold may still use it), and
// its removal turns it back; nothing else is pushed.
func TestHealthMarksInAssignment(t *testing.T) {
	srv, src := newTestServer(t)
	src.setService("echo", inst("10.0.0.1:7000", 2), inst("10.0.0.2:7000", 1))
	c := newClient(t, srv, "a-1", "web")
	c.subscribe(kindEndpoint, "echo")
	eds := c.recvKind(kindEndpoint)
	if w := weights(assignment(t, eds)); w != "10.0.0.1:7000=2/HEALTHY 10.0.0.2:7000=1/HEALTHY" {
		t.Fatalf("endpoints %s", w)
	}
	c.ack(eds)

	src.setMarks("echo", map[string]registry.HealthMark{"10.0.0.1:7000": {Service: "echo", Address: "10.0.0.1:7000", Scanner: "s1", Confirmer: "s2"}})
	eds = c.recvKind(kindEndpoint)
	if w := weights(assignment(t, eds)); w != "10.0.0.1:7000=2/UNHEALTHY 10.0.0.2:7000=1/HEALTHY" {
		t.Fatalf("endpoints after a mark %s", w)
	}
	c.ack(eds)

	// A mark on an address that is not an instance changes nothing.
	src.setMarks("echo", map[string]registry.HealthMark{
		"10.0.0.1:7000": {Service: "echo", Address: "10.0.0.1:7000"},
		"10.0.0.9:7000": {Service: "echo", Address: "10.0.0.9:7000"},
	})
	c.quiet(100 * time.Millisecond)

	src.setMarks("echo", nil)
	eds = c.recvKind(kindEndpoint)
	if w := weights(assignment(t, eds)); w != "10.0.0.1:7000=2/HEALTHY 10.0.0.2:7000=1/HEALTHY" {
		t.Fatalf("endpoints after the mark went %s", w)
	}
	c.ack(eds)
}
