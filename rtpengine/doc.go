// Package rtpengine is tandem's media plane: UDP sockets, port allocation, the
// lock-free forwarding table, latching, per-stream statistics, RTCP and media
// timeouts.
package rtpengine
