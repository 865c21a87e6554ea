package xds

import (
	"errors"
	"testing"
	"time"
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
	start := time.Now()
	if c.Await("e") {
		t.Fatal("Await of a service over the limit")
	}
	if c.Await("a") || time.Since(start) > time.Second {
		t.Fatalf("Await without a pilot: should give up after subscribe_wait (took %v)", time.Since(start))
	}
	if n := c.Stats.AwaitTimeouts.Load(); n != 1 {
		t.Errorf("await timeouts %d", n)
	}
}
