package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/internal/sipptest"
)

// TestEarlyMediaWithAnswerOnBridge: with answerOnBridge the caller is not
// answered while the callee rings; the callee's 183 reaches it with an SDP
// pointing at tandem, and the callee's early media flows to the caller
// before the answer.
func TestEarlyMediaWithAnswerOnBridge(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	dir := t.TempDir()
	caller, callee := newRTPPeer(t), newRTPPeer(t)
	uas := startUAS(t, uasOptions{Mode: "early", AnswerDelay: 2500 * time.Millisecond, RTPPort: callee.port(), PortFile: filepath.Join(dir, "b.port")}, 1)
	a.on("/voice", `<Response><Dial answerOnBridge="true"><Sip>sip:bob@`+uas.Addr().String()+`</Sip></Dial></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 200 * time.Millisecond, RTPPort: caller.port(),
		EarlyPortFile: filepath.Join(dir, "early.port"), PortFile: filepath.Join(dir, "a.port")})
	early, bPort := readPort(t, filepath.Join(dir, "early.port")), readPort(t, filepath.Join(dir, "b.port"))
	if _, err := os.Stat(filepath.Join(dir, "a.port")); err == nil {
		t.Fatal("the caller was answered before the callee answered (answerOnBridge)")
	}
	const n = 20
	if err := callee.send(bPort, n, 7); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Second, "early media at the caller", func() bool { return caller.received.Load() >= n })
	if _, err := os.Stat(filepath.Join(dir, "a.port")); err == nil {
		t.Fatal("early media test ran after the answer: make AnswerDelay longer")
	}
	mustSucceed(t, "caller", uac)
	mustSucceed(t, "callee", uas)
	if answered := readPort(t, filepath.Join(dir, "a.port")); answered != early {
		t.Errorf("the caller's media endpoint moved from %d (183) to %d (200)", early, answered)
	}
}

// TestSipHeadersReachTheCallee: <Sip> URI headers (X- and User-to-User)
// travel on the INVITE, with X-Twilio-CallSid; REST To=sip:…?k=v too.
func TestSipHeadersReachTheCallee(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "invite.log")
	uas := startUAS(t, uasOptions{Mode: "answer", InviteFile: log, LogHeaders: []string{"X-Ticket", "User-to-User", "X-Agent"}}, 1)
	a.on("/voice", `<Response><Dial><Sip>sip:bob@`+uas.Addr().String()+`?X-Ticket=42&amp;User-to-User=3030%3Bencoding%3Dhex<Headers><Header name="X-Agent" value="7"/></Headers></Sip></Dial></Response>`)
	provision(t, d, a, "/voice", nil)
	mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 200 * time.Millisecond}))
	mustSucceed(t, "callee", uas)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// SIPp logs each header's value with the blank after its colon.
	got := strings.ReplaceAll(string(b), "= ", "=")
	for _, want := range []string{"X-Ticket=42", "User-to-User=3030;encoding=hex", "X-Agent=7", "X-Twilio-CallSid=CA"} {
		if !strings.Contains(got, want) {
			t.Errorf("INVITE log lacks %q:\n%s", want, got)
		}
	}
}

const reinviteUAC = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac_reinvite">
{{template "callerAnswered" .}}
  <pause milliseconds="300"/>
{{range $i, $dir := .Directions}}
  <send retrans="500">
    <![CDATA[

      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{$.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{add $i 2}} INVITE
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

v=0
o=caller 53655765 {{add $i 2353687638}} IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 16000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a={{$dir}}

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action><ereg regexp="a={{index $.Answers $i}}" search_in="body" check_it="true" assign_to="r{{$i}}"/></action>
  </recv>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{$.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{add $i 2}} ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="200"/>
{{end}}
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 10 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <Reference variables="{{range $i, $d := .Directions}}{{if $i}},{{end}}r{{$i}}{{end}}"/>
</scenario>
`

const reinviteUAS = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas_reinvite">
  <recv request="INVITE" crlf="true" rrs="true"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

{{sdp "callee" 0}}
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{{range $i, $dir := .Directions}}
  <recv request="INVITE">
    <action><ereg regexp="a={{$dir}}" search_in="body" check_it="true" assign_to="o{{$i}}"/></action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

v=0
o=callee 1 {{add $i 2}} IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 17000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a={{index $.Answers $i}}

    ]]>
  </send>
  <recv request="ACK"/>
{{end}}
  <recv request="BYE"/>
{{template "ok"}}
  <Reference variables="{{range $i, $d := .Directions}}{{if $i}},{{end}}o{{$i}}{{end}}"/>
</scenario>
`

// TestReInviteHoldResumePassedThrough: the caller's re-INVITEs (hold with
// sendonly, resume with sendrecv) reach the callee, and the callee's
// answers (recvonly, sendrecv) come back.
func TestReInviteHoldResumePassedThrough(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	data := map[string]any{"Service": inboundNumber, "Directions": []string{"sendonly", "sendrecv"}, "Answers": []string{"recvonly", "sendrecv"}}
	uasSc := writeScenario(t, "uas_reinvite", reinviteUAS, data)
	uas, err := sipptest.Start(context.Background(), sipptest.Config{Scenario: uasSc, Calls: 1, Dir: t.TempDir(), Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(uas.Stop)
	a.on("/voice", `<Response><Dial><Sip>sip:bob@`+uas.Addr().String()+`</Sip></Dial></Response>`)
	provision(t, d, a, "/voice", nil)
	uacSc := writeScenario(t, "uac_reinvite", reinviteUAC, data)
	uac, err := sipptest.Start(context.Background(), sipptest.Config{Scenario: uacSc, Remote: d.sipAddr(), Calls: 1, Dir: t.TempDir(), Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(uac.Stop)
	mustSucceed(t, "caller (re-INVITEs)", uac)
	mustSucceed(t, "callee", uas)
}

// TestOptionsAnswered: OPTIONS (SBC and Kamailio dispatcher probing) gets 200.
func TestOptionsAnswered(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	sc := writeScenario(t, "uac_options", `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="options">
  <send retrans="500">
    <![CDATA[

      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
`, nil)
	p, err := sipptest.Start(context.Background(), sipptest.Config{Scenario: sc, Remote: d.sipAddr(), Calls: 1, Dir: t.TempDir(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "OPTIONS probe", p)
}
