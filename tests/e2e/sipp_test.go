package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"tandem/internal/sipptest"
)

// SIPp plays the carrier (UAC) and the callees (UAS). The scenarios are
// written from templates so each test states the behaviour it needs: who
// hangs up, when the callee answers, which headers travel. A scenario that
// sees its peer's SDP writes the media port it was given to a file, so the
// test can send RTP to tandem's endpoint for that leg.

type uacOptions struct {
	Service string // the dialled number (Request-URI user)
	From    string // the caller's user part
	Headers []string
	RTPPort int    // where this side receives RTP (0: 9, the discard port)
	End     string // "bye" (the caller hangs up after Hold), "wait" (the callee hangs up), "cancel" (after CancelAfter), "code" (expect Code)
	Hold    time.Duration
	// CancelAfter is how long after the 180 the caller cancels.
	CancelAfter time.Duration
	Code        int // End == "code": the final response expected
	PortFile    string
	// EarlyPortFile receives the media port of a 183's SDP.
	EarlyPortFile string
}

type uasOptions struct {
	Mode        string // "answer", "busy" (486), "noanswer" (ring until CANCEL), "slow" (answer after AnswerDelay unless cancelled), "code" (Code)
	Code        int
	AnswerDelay time.Duration
	RTPPort     int
	// End for answered calls: "wait" (the caller hangs up) or "bye" (this
	// side hangs up after Hold).
	End         string
	Hold        time.Duration
	Headers200  []string // extra headers on the 200 OK
	HeadersBye  []string // extra headers on our BYE
	HeadersFail []string // extra headers on a failure response
	PortFile    string
	// InviteFile receives the INVITE's From, X-Twilio-CallSid and the
	// LogHeaders (to check what tandem sent).
	InviteFile string
	LogHeaders []string
	// Port is SIPp's SIP port (0: a free one).
	Port int
}

const sdpBody = `v=0
o={{.User}} 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio {{.Port}} RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
`

var funcs = template.FuncMap{
	"ms":   func(d time.Duration) int64 { return d.Milliseconds() },
	"sdp":  func(user string, port int) string { return sdpFor(user, port) },
	"hdrs": func(hs []string) string { return joinHeaders(hs) },
	"add":  func(a, b int) int { return a + b },
}

// dummyPorts gives each SIPp party that receives no RTP its own port in
// the SDP: two legs with one remote address on one shared media port would
// be ambiguous (the media core refuses that).
var dummyPorts atomic.Int32

func sdpFor(user string, port int) string {
	if port == 0 {
		port = 10000 + int(dummyPorts.Add(2)%20000)
	}
	var b bytes.Buffer
	template.Must(template.New("sdp").Parse(sdpBody)).Execute(&b, map[string]any{"User": user, "Port": port})
	return b.String()
}

func joinHeaders(hs []string) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString("      " + h + "\n")
	}
	return b.String()
}

const uacTemplate = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac">
  <send retrans="500">
    <![CDATA[

      INVITE sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:{{.From}}@[local_ip]:[local_port]
      Max-Forwards: 70
{{hdrs .Headers}}      Content-Type: application/sdp
      Content-Length: [len]

{{sdp "carrier" .RTPPort}}
    ]]>
  </send>
  <recv response="100" optional="true"/>
{{- if eq .End "cancel"}}
  <recv response="180"/>
  <pause milliseconds="{{ms .CancelAfter}}"/>
  <send>
    <![CDATA[

      CANCEL sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "Carrier" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
    <![CDATA[

      ACK sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "Carrier" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- else if eq .End "code"}}
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="{{.Code}}"/>
  <send>
    <![CDATA[

      ACK sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "Carrier" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- else}}
  <recv response="180" optional="true"/>
  <recv response="183" optional="true">
    <action>
      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="false" assign_to="em,emport"/>
{{- if .EarlyPortFile}}
      <exec command="echo [$emport] > {{.EarlyPortFile}}"/>
{{- end}}
    </action>
  </recv>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="m,mport"/>
{{- if .PortFile}}
      <exec command="echo [$mport] > {{.PortFile}}"/>
{{- end}}
    </action>
  </recv>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:{{.From}}@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- if eq .End "bye"}}
  <pause milliseconds="{{ms .Hold}}"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:{{.From}}@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
{{- else}}
  <recv request="BYE"/>
{{template "ok"}}
{{- end}}
  <Reference variables="m,mport,em,emport"/>
{{- end}}
</scenario>
`

const uasTemplate = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas">
  <recv request="INVITE" crlf="true" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/>
      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="m,mport"/>
{{- if .PortFile}}
      <exec command="echo [$mport] > {{.PortFile}}"/>
{{- end}}
{{- if .InviteFile}}
      <ereg regexp=".*" search_in="hdr" header="X-Twilio-CallSid:" assign_to="callsid"/>
{{- range $i, $h := .LogHeaders}}
      <ereg regexp=".*" search_in="hdr" header="{{$h}}:" assign_to="h{{$i}}"/>
{{- end}}
      <log message="From=[$from] X-Twilio-CallSid=[$callsid]{{range $i, $h := .LogHeaders}} {{$h}}=[$h{{$i}}]{{end}}"/>
{{- end}}
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
{{- if eq .Mode "busy" "code"}}
  <send>
    <![CDATA[

      SIP/2.0 {{.Code}} Failure
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{hdrs .HeadersFail}}      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
{{- else if eq .Mode "noanswer"}}
  <recv request="CANCEL"/>
{{template "ok"}}
  <send>
    <![CDATA[

      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: 1 INVITE
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
{{- else}}
{{- if eq .Mode "slow"}}
  <recv request="CANCEL" timeout="{{ms .AnswerDelay}}" ontimeout="answer"/>
{{template "ok"}}
  <send>
    <![CDATA[

      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: 1 INVITE
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" next="end"/>
  <label id="answer"/>
{{- else if eq .Mode "early"}}
  <send>
    <![CDATA[

      SIP/2.0 183 Session Progress
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

{{sdp "callee" .RTPPort}}
    ]]>
  </send>
  <pause milliseconds="{{ms .AnswerDelay}}"/>
{{- else if .AnswerDelay}}
  <pause milliseconds="{{ms .AnswerDelay}}"/>
{{- end}}
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
{{hdrs .Headers200}}      Content-Type: application/sdp
      Content-Length: [len]

{{sdp "callee" .RTPPort}}
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{{- if eq .End "bye"}}
  <pause milliseconds="{{ms .Hold}}"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
      To: [$from]
      Call-ID: [call_id]
      CSeq: 1 BYE
{{hdrs .HeadersBye}}      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
{{- else}}
  <recv request="BYE"/>
{{template "ok"}}
{{- end}}
{{- end}}
  <label id="end"/>
  <Reference variables="m,mport,from{{if .InviteFile}},callsid{{range $i, $h := .LogHeaders}},h{{$i}}{{end}}{{end}}"/>
</scenario>
`

// commonTemplates are the pieces scenarios share: "ok" answers the last
// request with 200; "callerAnswered" is the carrier's INVITE to .Service,
// answered and ACKed (the media and REFER scenarios start with it).
const commonTemplates = `{{define "ok"}}  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>{{end}}
{{define "callerAnswered"}}  <send retrans="500">
    <![CDATA[

      INVITE sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

{{sdp "caller" 0}}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>{{end}}`

func writeScenario(t *testing.T, name, tmpl string, data any) string {
	t.Helper()
	var b bytes.Buffer
	if err := template.Must(template.Must(template.New(name).Funcs(funcs).Parse(commonTemplates)).Parse(tmpl)).Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startUAS runs a SIPp callee for n calls.
func startUAS(t *testing.T, o uasOptions, calls int) *sipptest.Process {
	t.Helper()
	if o.Code == 0 && o.Mode == "busy" {
		o.Code = 486
	}
	if o.End == "" {
		o.End = "wait"
	}
	sc := writeScenario(t, "uas_"+o.Mode, uasTemplate, o)
	args := []string{}
	if o.InviteFile != "" {
		args = append(args, "-trace_logs", "-log_file", o.InviteFile)
	}
	p, err := sipptest.Start(context.Background(), sipptest.Config{Scenario: sc, Port: o.Port, Calls: calls, Dir: t.TempDir(), Timeout: 60 * time.Second, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// startUAC runs a SIPp carrier placing one call to tandem.
func startUAC(t *testing.T, d *tandem, o uacOptions) *sipptest.Process {
	t.Helper()
	if o.From == "" {
		o.From = "+14155550100"
	}
	if o.End == "" {
		o.End = "bye"
	}
	sc := writeScenario(t, "uac_"+o.End, uacTemplate, o)
	p, err := sipptest.Start(context.Background(), sipptest.Config{Scenario: sc, Remote: d.sipAddr(), Calls: 1, Dir: t.TempDir(), Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// mustSucceed waits for a SIPp run and fails the test unless every call
// passed.
func mustSucceed(t *testing.T, name string, p *sipptest.Process) {
	t.Helper()
	r, err := p.Wait()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !r.OK() {
		t.Fatalf("%s: %s", name, r)
	}
}

// readPort waits for a scenario to write the media port it saw.
func readPort(t *testing.T, path string) int {
	t.Helper()
	var port int
	waitUntil(t, 10*time.Second, "media port in "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		p, err := strconv.Atoi(strings.TrimSpace(string(b)))
		port = p
		return err == nil && p > 0
	})
	return port
}

// rtpPeer is one end of a call's media: a UDP socket that sends RTP to
// tandem and counts what comes back.
type rtpPeer struct {
	conn     *net.UDPConn
	received atomic.Int64
	done     chan struct{}
}

func newRTPPeer(t *testing.T) *rtpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{conn: c, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 2048)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 {
				p.received.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-p.done
	})
	return p
}

func (p *rtpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// send sends n G.711-sized RTP packets (160-byte payload) to port, 5 ms
// apart.
func (p *rtpPeer) send(port, n int, ssrc uint32) error {
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		if _, err := p.conn.WriteToUDP(pkt, dst); err != nil {
			return fmt.Errorf("send RTP: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
