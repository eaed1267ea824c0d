package rtpengine

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/pion/rtcp"
)

// FuzzRewriteSDP: untrusted SDP never crashes the rewriter; what it
// accepts it turns into SDP that parses, points at our endpoint and
// carries none of the far side's ICE candidates.
func FuzzRewriteSDP(f *testing.F) {
	f.Add([]byte(offerSDP))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"))
	local := Endpoint{IP: netip.MustParseAddr("203.0.113.5"), Port: 30000, RTCPPort: 30001}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, perr := ParseSDP(body)
		out, err := RewriteSDP(body, local, &Origin{})
		if (perr == nil) != (err == nil) {
			t.Fatalf("ParseSDP err %v but RewriteSDP err %v", perr, err)
		}
		if err != nil {
			return
		}
		d, err := ParseSDP(out)
		if err != nil {
			t.Fatalf("rewritten SDP does not parse: %v\n%q", err, out)
		}
		if d.Audio.RTP() != local.RTP() {
			t.Fatalf("rewritten audio at %s", d.Audio.RTP())
		}
		for _, ln := range bytes.Split(out, []byte("\r\n")) {
			name, _, _ := bytes.Cut(ln, []byte(":"))
			if string(name) == "a=candidate" || string(name) == "a=ice-pwd" {
				t.Fatalf("%s survived: %q", name, out)
			}
		}
	})
}

// FuzzRTCP compares the relay's allocation-free RTCP reader with pion/rtcp
// on the first report block.
func FuzzRTCP(f *testing.F) {
	rr, _ := (&rtcp.ReceiverReport{SSRC: 2, Reports: []rtcp.ReceptionReport{{SSRC: 1, FractionLost: 64, TotalLost: 12, Jitter: 160, LastSenderReport: 7, Delay: 9}}}).Marshal()
	sr, _ := (&rtcp.SenderReport{SSRC: 1, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 3, TotalLost: 0xffffff}}}).Marshal()
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{1}}).Marshal()
	f.Add(rr)
	f.Add(append(sr, bye...))
	f.Add([]byte{0x80, 0xc8, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var info rtcpInfo
		ok := parseRTCP(b, &info)
		pkts, err := rtcp.Unmarshal(b)
		if err != nil || !ok || len(pkts) == 0 {
			return
		}
		var reports []rtcp.ReceptionReport
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.ReceiverReport:
				reports = p.Reports
			case *rtcp.SenderReport:
				reports = p.Reports
			}
			if len(reports) > 0 {
				break
			}
		}
		if len(reports) == 0 {
			return
		}
		r := reports[0]
		if !info.hasReport || info.fractionLost != r.FractionLost || info.jitter != r.Jitter || info.lsr != r.LastSenderReport || info.dlsr != r.Delay {
			t.Fatalf("first report differs: ours %+v, pion %+v", info, r)
		}
		if uint32(info.cumulativeLost)&0xffffff != r.TotalLost&0xffffff {
			t.Fatalf("cumulative lost %d, pion %d", info.cumulativeLost, r.TotalLost)
		}
	})
}

// FuzzForwardPath pushes arbitrary datagrams through the worker's real
// forward step (RTP or RTCP socket): it never crashes and every packet is
// either queued for sending or counted as a drop.
func FuzzForwardPath(f *testing.F) {
	rr, _ := (&rtcp.ReceiverReport{SSRC: 2, Reports: []rtcp.ReceptionReport{{SSRC: 1}}}).Marshal()
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 1}, false)
	f.Add(rr, true)
	f.Add(rr, false) // RTCP multiplexed on the RTP port (RFC 5761)
	f.Add([]byte{0x00, 0x01, 0x00, 0x00}, false)
	fb := newForwardBench(f, 1)
	f.Fuzz(func(t *testing.T, pkt []byte, rtcpSocket bool) {
		if len(pkt) > bufSize {
			pkt = pkt[:bufSize]
		}
		w := fb.w
		kind := streamRTP
		if rtcpSocket {
			kind = streamRTCP
		}
		leg := fb.legs[0]
		src := fb.caller[0]
		if rtcpSocket {
			_, src = leg.Remote()
		}
		r, _, _ := encodeRaw(src, true)
		w.rnames[0] = r
		copy(w.bufs[:bufSize], pkt)
		w.rmsgs[0].Len = uint32(len(pkt))
		w.rmsgs[0].Hdr.Flags = 0
		var dropsBefore uint64
		for i := range w.c.drops {
			dropsBefore += w.c.drops[i].Load()
		}
		w.nsend = 0
		w.process(0, 1, uint32(leg.sharedIdx*2+kind), kind, nil)
		var dropsAfter uint64
		for i := range w.c.drops {
			dropsAfter += w.c.drops[i].Load()
		}
		if w.nsend+int(dropsAfter-dropsBefore) != 1 {
			t.Fatalf("packet neither queued (%d) nor dropped (%d)", w.nsend, dropsAfter-dropsBefore)
		}
		w.nsend = 0
	})
}
