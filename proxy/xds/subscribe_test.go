package xds

import (
	"errors"
	"testing"
)

func TestSubscribeLimitsAndNames(t *testing.T) {
	c := newTestClient(t, &fakeTarget{})
	if err := c.Subscribe("a", "b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("a"); err != nil {
		t.Fatalf("subscribing again: %v", err)
	}
	if err := c.Subscribe("d"); !errors.Is(err, ErrTooManySubscriptions) {
		t.Fatalf("fourth subscription: %v", err)
	}
	if err := c.Subscribe("a b"); err == nil {
		t.Fatal("bad name accepted")
	}
	if c.Await("e") {
		t.Fatal("Await of a service over the limit")
	}
	if c.Await("a") { // it gives up after subscribe_wait, counted below
		t.Fatal("Await without a pilot reported the service there")
	}
	if n := c.Stats.AwaitTimeouts.Load(); n != 1 {
		t.Errorf("await timeouts %d", n)
	}
}
