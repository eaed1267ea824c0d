package e2e

import (
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMDrainsCalls: after SIGTERM a live call goes on to its natural
// end while a new INVITE gets 503; the daemon exits 0 once the call is
// over, well before the drain deadline.
func TestSIGTERMDrainsCalls(t *testing.T) {
	d := startTandem(t, daemonOptions{extraYAML: "calls:\n  max_call_duration: 1h\n"})
	a := newApp(t)
	uas := startUAS(t, uasOptions{Mode: "answer"}, 1)
	a.on("/voice", `<Response><Dial><Sip>sip:bob@`+uas.Addr().String()+`</Sip></Dial></Response>`)
	provision(t, d, a, "/voice", nil)
	live := startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 2 * time.Second})
	a.wait("/voice", 1, 5*time.Second)
	waitUntil(t, 5*time.Second, "the call to be bridged", func() bool {
		v, _ := d.metric("tandem_sip_outbound_calls_active")
		return v == 1
	})
	d.stopped = true
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	mustSucceed(t, "new call while draining (503)", startUAC(t, d, uacOptions{Service: inboundNumber, End: "code", Code: 503}))
	mustSucceed(t, "live call", live)
	mustSucceed(t, "callee", uas)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("tandem did not exit after its last call ended")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if took := time.Since(signalled); took > 15*time.Second {
		t.Errorf("drain took %s", took)
	}
	if n := len(a.requestsTo("/voice")); n != 1 {
		t.Errorf("the call refused while draining reached the webhook (%d requests)", n)
	}
}
