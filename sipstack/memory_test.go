package sipstack

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestEndedCallIsFreed checks that a finished call's state becomes garbage
// soon after the call: the call itself at once (the terminated INVITE
// transaction's CANCEL callback no longer reaches it), and its INVITE, which
// that transaction keeps, once the Accepted state ends (acceptedLinger),
// not 64*T1 = 32 s later, when sipgo's own Timer L would fire
// (sipgo_timers.go). Memory that outlives calls grows with the call rate
// and is marked by every collection.
func TestEndedCallIsFreed(t *testing.T) {
	callFreed, inviteFreed := make(chan struct{}), make(chan struct{})
	var once1, once2 sync.Once
	s := startStack(t, testConfig(), WithInviteHandler(func(in *InboundCall) {
		runtime.AddCleanup(in, func(ch chan struct{}) { once1.Do(func() { close(ch) }) }, callFreed)
		runtime.AddCleanup(in.orig, func(ch chan struct{}) { once2.Do(func() { close(ch) }) }, inviteFreed)
		// The BYE follows the ACK at once and may end the call before
		// Answer has seen the ACK: ErrCallEnded.
		if err := in.Answer(context.Background(), []byte(testSDP), nil); err != nil && !errors.Is(err, ErrCallEnded) {
			t.Errorf("answer: %v", err)
			return
		}
		<-in.Done()
	}))
	c := newRawClient(t, s.Addr("udp").String())
	c.send(c.invite("freed-1", ""))
	res := c.recvResponse(200, 5*time.Second)
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("INVITE answered %v, want 200", res)
	}
	tag := toTag(res)
	c.send(c.ack("freed-1", tag, 1))
	c.send(c.bye("freed-1", tag))
	if r := c.recvResponse(200, 5*time.Second); r == nil {
		t.Fatal("no 200 for the BYE")
	}
	ended := time.Now()
	deadline := time.After(acceptedLinger + 4*time.Second)
	for _, w := range []struct {
		what  string
		freed chan struct{}
	}{{"call", callFreed}, {"INVITE", inviteFreed}} {
	wait:
		for {
			runtime.GC()
			select {
			case <-w.freed:
				t.Logf("%s freed %v after the BYE", w.what, time.Since(ended).Round(100*time.Millisecond))
				break wait
			case <-deadline:
				t.Fatalf("the ended call's %s is still reachable %v after its BYE (sipgo keeps terminated INVITE transactions 64*T1)", w.what, time.Since(ended).Round(time.Second))
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}
