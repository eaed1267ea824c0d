package main

import "fmt"

// runMediaCommand runs the media core alone, driven over rtpengine's ng
// protocol (for use behind a Kamailio SBC in place of rtpengine).
func runMediaCommand(args []string, e env) int {
	fmt.Fprintln(e.stderr, "tandem media: not wired yet")
	return 1
}
