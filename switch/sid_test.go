package callswitch

import (
	"regexp"
	"testing"
	"time"
)

func TestCallSIDsAreTwilioShapedUniqueAndSortByCreation(t *testing.T) {
	shape := regexp.MustCompile(`^CA[0-9a-f]{32}$`)
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	seen := make(map[string]bool)
	prev := ""
	for i := range 1000 {
		// Several calls in the same nanosecond, then later ones.
		sid := newCallSID(at.Add(time.Duration(i/4) * time.Microsecond))
		if !shape.MatchString(sid) {
			t.Fatalf("SID %q does not match %s", sid, shape)
		}
		if seen[sid] {
			t.Fatalf("SID %q made twice", sid)
		}
		seen[sid] = true
		if i%4 == 0 && sid[:18] <= prev[:min(len(prev), 18)] {
			t.Fatalf("SID %q made later sorts before %q", sid, prev)
		}
		prev = sid
	}
	// Calls made at the same time differ in their random half.
	a, b := newCallSID(at), newCallSID(at)
	if a[:18] != b[:18] || a[18:] == b[18:] {
		t.Fatalf("same-time SIDs %q and %q: want the same time half and different random halves", a, b)
	}
}
