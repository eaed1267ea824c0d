// Package sipstack is tandem's SIP layer on github.com/emiago/sipgo: listeners,
// admission, dialogs as UAS and UAC, CANCEL, re-INVITE, REFER/NOTIFY,
// registration, digest authentication and SDP offer/answer. It knows nothing of
// TwiML; the switch drives it through the types below and never imports sipgo.
//
// # Life cycle
//
//	st, err := sipstack.New(cfg, sipstack.WithLogger(log), sipstack.WithInviteHandler(onCall))
//	err = st.Start(ctx)   // binds UDP (SO_REUSEPORT sockets) and TCP
//	st.Drain()            // SIGTERM: new INVITEs get 503 + Retry-After
//	st.Close()            // SIGINT: stop, end dialogs, wait for goroutines
//
// # Inbound calls (UAS)
//
// Every INVITE passes, in this order and before anything costly: the drain
// flag, loop detection (our Via → 482), Max-Forwards (0 → 483), Require (420),
// the source check (a configured inbound trunk's CIDR, else 403 or a silent
// drop), the per-source token bucket, the calls-per-second and concurrent-call
// caps (503 + Retry-After), and only then the SDP offer (missing or malformed
// → 488, not SDP → 415). UDP datagrams whose body is shorter than their
// Content-Length get 400 before sipgo parses them. Every refusal is counted by
// Reason in Stats. Refusals are stateless (RFC 3261 §8.2.7).
//
// An admitted call is handed to the InviteHandler on its own goroutine with
// 100 Trying already sent. The handler reads the call (Called, From, To,
// Source, Trunk, Headers, XHeaders, Offer) and answers it:
//
//	call.Progress(183, earlySDP)          // or 180
//	err := call.Answer(ctx, sdp, headers) // 200, retransmitted until ACK
//	call.Reject(486, "", nil)             // any 3xx–6xx
//	<-call.Done()                         // BYE, CANCEL (487 sent by the stack), …
//	call.End()                            // cause and final code
//
// # Outbound calls (UAC)
//
//	oc, err := st.Dial(ctx, sipstack.DialRequest{Target: "+14155550100", SDP: offer})
//	for u := range oc.Updates() { … }     // 180/183 (early media), then one Final
//	oc.Cancel()                           // or cancel ctx: CANCEL → 487
//
// A number is routed through the outbound trunks whose prefixes match
// (longest prefix first, then priority) with failover on 408, 5xx, timeouts
// and transport errors; a sip: URI target is called directly, its ?X-…
// headers split off and sent as headers. 401/407 challenges are answered once.
// A 2xx that crosses our CANCEL is ACKed and hung up with BYE and reported as
// 487 with AnsweredAfterCancel. Synthesized codes: no response 408
// (ErrTimeout), transport failure 503 (ErrTransport), ring timeout 487
// (ErrRingTimeout).
//
// # Established dialogs
//
// InboundCall and OutboundCall embed *Dialog: Hangup, ReInvite (hold/resume),
// Refer (with the NOTIFY sipfrag codes as a channel), Context/Done/End, and
// SetHooks to receive the peer's re-INVITE, REFER, NOTIFY and INFO on the
// stack's goroutines.
//
// # sipgo v1.7.2 findings handled here (ARCHITECTURE.md)
//
// Outbound UDP requests leave from the listening socket (Via and Contact
// agree); truncated bodies and bad SDP are refused; Max-Forwards 0 gets 483;
// sipgo's logs pass a rate-limited, truncating handler and its parse failures
// are counted; finished transactions are freed after timers.transaction_linger
// (the ACK ends an INVITE transaction at once) instead of 64*T1, which bounds
// memory per call rate.
package sipstack
