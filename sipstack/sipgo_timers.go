package sipstack

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// acceptedLinger bounds how long sipgo keeps an INVITE transaction in the
// Accepted state (RFC 6026 §7.1: Timer L on the server side, Timer M on the
// client side), which sipgo sets to 64*T1 = 32 s.
//
// sipgo v1.7.2 leaves those two timers running when a transaction is
// terminated: ClientTx.delete and ServerTx.delete stop every other timer
// but not timer_m and timer_l. The pending timer keeps the terminated
// transaction reachable — its request, its last response, its callbacks
// and, through the CANCEL callback, the whole call — for 32 s after the
// stack freed it. At 500 calls/s that held ~120 MB of dead calls on the
// heap (bench/sip/README.md), which the collector marks on every cycle:
// the "memory grows with the call rate" and the GC pauses ARCHITECTURE.md
// measured. The stack ends these transactions itself (the INVITE server
// transaction at the ACK, the client one after timers.transaction_linger)
// and answers what arrives after them from the dialog table (a
// retransmitted INVITE is recognised, a retransmitted 2xx is ACKed again,
// RFC 3261 §13.2.2.4), so the Accepted state never needs to outlast the
// default linger. The variables are sipgo's own tuning globals, set once
// here before any stack exists; remove this when sipgo stops the timers on
// delete.
const acceptedLinger = 4 * time.Second

func init() {
	sip.Timer_L = min(sip.Timer_L, acceptedLinger)
	sip.Timer_M = min(sip.Timer_M, acceptedLinger)
}
