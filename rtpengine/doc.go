// Package rtpengine is tandem's media plane: UDP sockets, port allocation, the
// lock-free forwarding table, latching, per-stream statistics, RTCP and media
// timeouts.
//
// # Model
//
// An Engine owns every media socket and a few workers. The call path makes a
// Session per call and a Leg per SIP leg:
//
//	e, _ := rtpengine.New(cfg, rtpengine.WithLogger(log), rtpengine.WithEvents(events))
//	s, _ := e.NewSession(callSID)
//	caller, _ := s.NewLeg(rtpengine.LegOptions{Label: "caller"})                    // trunk: shared port
//	callee, _ := s.NewLeg(rtpengine.LegOptions{Label: "callee", Port: rtpengine.PortDedicated}) // NAT'd client
//	offer, _ := rtpengine.ParseSDP(inviteBody)                  // 488 on error
//	caller.SetRemote(offer.Audio.RTP(), offer.Audio.RTCP)       // where the caller receives
//	out, _ := callee.RewriteSDP(inviteBody)                     // SDP sent to the callee
//	... 200 OK from the callee: callee.SetRemote(...), caller.RewriteSDP(answer) ...
//	caller.Link(callee)                                          // media flows both ways
//	... BYE: s.Close() (ports drain before reuse)
//
// A leg's local endpoint (Local) never changes, so re-INVITEs keep it; the
// rewritten SDP keeps a per-leg o= line whose version rises when the body
// changes (RFC 3264 §8). SetRemote with the same address keeps what was
// latched; with 0.0.0.0 or port 0 it stops sending (hold). SetDirection
// records sendrecv/sendonly/recvonly/inactive: a held leg gets the hold
// timeout instead of the media timeout. Only the first audio stream is
// relayed; other media lines are declined (port 0, RFC 3264 §6).
//
// # Shared and dedicated ports
//
// Shared ports are the fast path: a few ports per interface, each bound by
// one receiving socket per worker (SO_REUSEPORT, steered by a classic BPF
// program) plus one send-only socket per worker on the same port. A worker
// reads a batch with recvmmsg, finds each packet's leg by its source address
// in an open-addressing table whose reads take no lock, and sends the batch
// to the peer legs' remotes with sendmmsg, from the port the peer's party was
// told in SDP. A packet from an unknown source is latched only when exactly
// one leg on that port waits for that IP; otherwise it is dropped and
// counted. A released leg's source stays in the table as draining for the
// drain period, so a late packet cannot be latched to a new call.
//
// Dedicated ports give a leg its own port pair for clients behind NAT; they
// learn the remote as rtpengine's endpoint learning does (LatchOff,
// LatchImmediate, LatchDelayed, LatchHeuristic) and can drop other sources
// (strict source). They are served by the same workers through epoll.
//
// # Rules of the packet path
//
// No allocation, lock, log line or goroutine per packet (BenchmarkForward
// shows 0 allocs/op); counters are atomics; events go to a bounded channel
// and are dropped and counted when it is full. Workers park in Go's netpoller
// when idle, and under load pace their wake-ups (WakeCoalesce) so that reads
// come in batches.
//
// The ng subpackage speaks rtpengine's ng control protocol so the engine can
// stand in for rtpengine behind Kamailio or OpenSIPS (`tandem media`).
package rtpengine
