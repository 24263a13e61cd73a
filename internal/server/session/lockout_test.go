package session

import (
	"fmt"
	"testing"
	"time"
)

func TestLockout(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLockout(5, 5*time.Minute, 3, func() time.Time { return now })
	for i := 0; i < 5; i++ {
		if l.locked("admin") {
			t.Fatalf("locked after %d failures", i)
		}
		l.failed("admin")
		now = now.Add(time.Second)
	}
	if !l.locked("admin") {
		t.Fatal("not locked after 5 failures in a row")
	}
	// A flood of other names does not unlock admin.
	for i := 0; i < 10; i++ {
		l.failed(fmt.Sprintf("guess-%d", i))
	}
	if !l.locked("admin") {
		t.Fatal("a flood of made-up names unlocked admin")
	}
	if n := len(l.failures); n > 3 {
		t.Fatalf("tracking %d names, bound is 3 unlocked (+ locked ones)", n)
	}
	now = now.Add(5 * time.Minute)
	if l.locked("admin") {
		t.Fatal("still locked after the window")
	}
	l.failed("alice")
	l.succeeded("alice")
	if _, ok := l.failures["alice"]; ok {
		t.Fatal("success did not forget failures")
	}
	// Failures further apart than the window do not add up.
	for i := 0; i < 6; i++ {
		l.failed("bob")
		now = now.Add(6 * time.Minute)
	}
	if l.locked("bob") {
		t.Fatal("failures a window apart locked the account")
	}
}
