package rtpengine_test

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"tandem/rtpengine"
)

// A call through the engine: two legs, SDP rewritten for each side, linked,
// and a packet relayed from the caller to the callee.
func Example() {
	cfg := rtpengine.DefaultConfig()
	cfg.Interfaces[0].SharedPorts = []int{0, 0} // any free ports (production: fixed)
	cfg.DedicatedPortMin, cfg.DedicatedPortMax = 0, 0
	cfg.Workers = 1
	events := make(chan rtpengine.Event, 64)
	e, err := rtpengine.New(cfg, rtpengine.WithEvents(events))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()

	callerPhone, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	calleePhone, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer callerPhone.Close()
	defer calleePhone.Close()
	sdp := func(c *net.UDPConn) []byte {
		return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", c.LocalAddr().(*net.UDPAddr).Port))
	}

	s, _ := e.NewSession("CA0123")
	caller, _ := s.NewLeg(rtpengine.LegOptions{Label: "caller"})
	callee, _ := s.NewLeg(rtpengine.LegOptions{Label: "callee", AvoidShared: caller})

	offer, _ := rtpengine.ParseSDP(sdp(callerPhone)) // the INVITE's body
	caller.SetRemote(offer.Audio.RTP(), offer.Audio.RTCP)
	toCallee, _ := callee.RewriteSDP(sdp(callerPhone)) // goes out in our INVITE
	answer, _ := rtpengine.ParseSDP(sdp(calleePhone))  // the 200 OK's body
	callee.SetRemote(answer.Audio.RTP(), answer.Audio.RTCP)
	toCaller, _ := caller.RewriteSDP(sdp(calleePhone)) // goes out in our 200 OK
	caller.Link(callee)

	d, _ := rtpengine.ParseSDP(toCaller)
	fmt.Println("caller sends to our endpoint:", d.Audio.RTP() == caller.Local().RTP())
	d, _ = rtpengine.ParseSDP(toCallee)
	fmt.Println("callee sends to our endpoint:", d.Audio.RTP() == callee.Local().RTP())

	rtp := make([]byte, 172)
	rtp[0] = 0x80 // RTP version 2
	callerPhone.WriteToUDPAddrPort(rtp, caller.Local().RTP())
	buf := make([]byte, 2048)
	calleePhone.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := calleePhone.ReadFromUDPAddrPort(buf)
	fmt.Println("callee got", n, "bytes from our endpoint:", err == nil && from == netip.AddrPortFrom(callee.Local().IP, callee.Local().Port))
	ev := <-events
	fmt.Println("event:", ev.Type, ev.Leg.Label())

	s.Close()
	fmt.Println("legs after close:", e.Stats().Legs)
	// Output:
	// caller sends to our endpoint: true
	// callee sends to our endpoint: true
	// callee got 172 bytes from our endpoint: true
	// event: first_packet caller
	// legs after close: 0
}
