package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem/internal/sipptest"
)

// referrerOptions describe a SIPp party that, once its call is up, sends a
// REFER and follows the NOTIFYs.
type referrerOptions struct {
	// Caller: the referrer is the carrier's UAC; otherwise it is a callee.
	Caller  bool
	Service string
	ReferTo string
	// Expect202 false: the REFER is expected to be refused with 603.
	Expect202 bool
	// FinalNotify is the sipfrag status expected in the last NOTIFY.
	FinalNotify int
	// AfterFinal: "bye-in" (tandem drops the referrer) or "bye-out" (the
	// referrer, still bridged, hangs up after Hold).
	AfterFinal string
	Hold       time.Duration
	Pause      time.Duration // before sending the REFER
	RTPPort    int
	PortFile   string
}

const referrerTemplate = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="referrer">
{{- if .Caller}}
  <send retrans="500">
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

{{sdp "caller" .RTPPort}}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
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
      From: "Carrier" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- else}}
  <recv request="INVITE" crlf="true" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/>
      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="m,mport"/>
{{- if .PortFile}}
      <exec command="echo [$mport] > {{.PortFile}}"/>
{{- end}}
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

{{sdp "agent" .RTPPort}}
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{{- end}}
  <pause milliseconds="{{ms .Pause}}"/>
  <send retrans="500">
    <![CDATA[

      REFER [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{{- if .Caller}}
      From: "Carrier" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      CSeq: 2 REFER
{{- else}}
      From: <sip:agent@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
      To: [$from]
      CSeq: 1 REFER
{{- end}}
      Call-ID: [call_id]
      Contact: <sip:referrer@[local_ip]:[local_port]>
      Refer-To: {{.ReferTo}}
      Referred-By: <sip:referrer@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- if not .Expect202}}
  <recv response="603"/>
{{- else}}
  <recv response="202"/>
  <recv request="NOTIFY">
    <action><ereg regexp="SIP/2.0 100" search_in="body" check_it="true" assign_to="n1"/></action>
  </recv>
{{template "ok"}}
  <recv request="NOTIFY">
    <action><ereg regexp="SIP/2.0 {{.FinalNotify}}" search_in="body" check_it="true" assign_to="n2"/></action>
  </recv>
{{template "ok"}}
{{- end}}
{{- if eq .AfterFinal "bye-in"}}
  <recv request="BYE"/>
{{template "ok"}}
{{- else}}
  <pause milliseconds="{{ms .Hold}}"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{{- if .Caller}}
      From: "Carrier" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      CSeq: 3 BYE
{{- else}}
      From: <sip:agent@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
      To: [$from]
      CSeq: 2 BYE
{{- end}}
      Call-ID: [call_id]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
{{- end}}
  <Reference variables="m,mport{{if not .Caller}},from{{end}}{{if .Expect202}},n1,n2{{end}}"/>
</scenario>
`

func startReferrer(t *testing.T, d *tandem, o referrerOptions) *sipptest.Process {
	t.Helper()
	sc := writeScenario(t, "referrer", referrerTemplate, o)
	cfg := sipptest.Config{Scenario: sc, Calls: 1, Dir: t.TempDir(), Timeout: 60 * time.Second}
	if o.Caller {
		cfg.Remote = d.sipAddr()
	}
	p, err := sipptest.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// TestInboundReferFromCallee: the callee (an agent) transfers the caller:
// REFER with X- headers inside Refer-To, 202, NOTIFY 100 then 200, the
// referUrl webhook's <Dial> reaching the target, the agent dropped.
func TestInboundReferFromCallee(t *testing.T) {
	for _, aob := range []bool{false, true} {
		name := "answerOnBridge=false"
		if aob {
			name = "answerOnBridge=true"
		}
		t.Run(name, func(t *testing.T) {
			d := startTandem(t, daemonOptions{})
			a := newApp(t)
			invite := filepath.Join(t.TempDir(), "invite.log")
			target := startUAS(t, uasOptions{Mode: "answer", End: "bye", Hold: 300 * time.Millisecond, InviteFile: invite, LogHeaders: []string{"Referred-By"}}, 1)
			agent := startReferrer(t, d, referrerOptions{
				ReferTo:   "<sip:carol@" + target.Addr().String() + "?X-Ticket=42&User-to-User=abcd>",
				Expect202: true, FinalNotify: 200, AfterFinal: "bye-in", Pause: 300 * time.Millisecond,
			})
			attr := ""
			if aob {
				attr = ` answerOnBridge="true"`
			}
			a.on("/voice", `<Response><Dial referUrl="/refer"`+attr+` action="/dial-done"><Sip>sip:agent@`+agent.Addr().String()+`</Sip></Dial></Response>`)
			a.on("/refer", `<Response><Dial><Sip>sip:carol@`+target.Addr().String()+`</Sip></Dial></Response>`)
			provision(t, d, a, "/voice", nil)
			mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
			mustSucceed(t, "agent (referrer)", agent)
			mustSucceed(t, "transfer target", target)

			voice := a.wait("/voice", 1, 5*time.Second)[0]
			ref := a.wait("/refer", 1, 5*time.Second)[0]
			tt := ref.Form.Get("ReferTransferTarget")
			if !strings.Contains(tt, "sip:carol@") || !strings.Contains(tt, "X-Ticket=42") {
				t.Errorf("ReferTransferTarget %q", tt)
			}
			expectParams(t, ref, map[string]string{"SipHeader_X-Ticket": "42", "SipHeader_User-to-User": "abcd", "ParentCallSid": voice.Form.Get("CallSid")})
			if !ref.SignatureOK {
				t.Error("referUrl request: bad signature")
			}
			if n := len(a.requestsTo("/dial-done")); n != 0 {
				t.Errorf("the Dial action ran %d times after a transfer replaced it", n)
			}
			if b, err := os.ReadFile(invite); err != nil || !strings.Contains(string(b), "sip:referrer@") {
				t.Errorf("the transfer target's INVITE lacks the transferor's Referred-By: %q (%v)", b, err)
			}
		})
	}
}

// TestInboundReferFromCaller: the carrier side sends the REFER; the callee
// stays and is connected to the target.
func TestInboundReferFromCaller(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	target := startUAS(t, uasOptions{Mode: "answer", End: "bye", Hold: 300 * time.Millisecond}, 1)
	callee := startUAS(t, uasOptions{Mode: "answer", End: "wait"}, 1)
	a.on("/voice", `<Response><Dial referUrl="/refer"><Sip>sip:callee@`+callee.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/refer", `<Response><Dial><Sip>sip:carol@`+target.Addr().String()+`</Sip></Dial></Response>`)
	provision(t, d, a, "/voice", nil)
	caller := startReferrer(t, d, referrerOptions{
		Caller: true, Service: inboundNumber, ReferTo: "<sip:carol@" + target.Addr().String() + "?X-From-Caller=yes>",
		Expect202: true, FinalNotify: 200, AfterFinal: "bye-in", Pause: 300 * time.Millisecond,
	})
	mustSucceed(t, "caller (referrer)", caller)
	mustSucceed(t, "target", target)
	mustSucceed(t, "callee (stays)", callee)
	ref := a.wait("/refer", 1, 5*time.Second)[0]
	voice := a.wait("/voice", 1, 5*time.Second)[0]
	expectParams(t, ref, map[string]string{"SipHeader_X-From-Caller": "yes", "CallSid": voice.Form.Get("CallSid")})
}

// TestInboundReferFailureReconnects: with answerOnBridge the caller stays
// bridged to the transferor while the target rings; the target is busy, the
// transferor hears 486 in a NOTIFY, and caller and transferor still talk.
func TestInboundReferFailureReconnects(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	dir := t.TempDir()
	callerRTP, agentRTP := newRTPPeer(t), newRTPPeer(t)
	target := startUAS(t, uasOptions{Mode: "busy"}, 1)
	agent := startReferrer(t, d, referrerOptions{
		ReferTo: "<sip:carol@" + target.Addr().String() + ">", Expect202: true, FinalNotify: 486,
		AfterFinal: "bye-out", Hold: 3 * time.Second, Pause: 300 * time.Millisecond,
		RTPPort: agentRTP.port(), PortFile: filepath.Join(dir, "agent.port"),
	})
	a.on("/voice", `<Response><Dial referUrl="/refer" answerOnBridge="true" action="/dial-done"><Sip>sip:agent@`+agent.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/refer", `<Response><Dial><Sip>sip:carol@`+target.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait", RTPPort: callerRTP.port(), PortFile: filepath.Join(dir, "caller.port")})
	mustSucceed(t, "busy target", target)
	a.wait("/refer", 1, 5*time.Second)
	// After the failed transfer the caller and the transferor are still
	// bridged: media flows both ways.
	cPort, aPort := readPort(t, filepath.Join(dir, "caller.port")), readPort(t, filepath.Join(dir, "agent.port"))
	time.Sleep(200 * time.Millisecond)
	const n = 20
	if err := callerRTP.send(cPort, n, 1); err != nil {
		t.Fatal(err)
	}
	if err := agentRTP.send(aPort, n, 2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Second, "RTP between caller and transferor after the failed transfer", func() bool {
		return callerRTP.received.Load() >= n && agentRTP.received.Load() >= n
	})
	mustSucceed(t, "agent (referrer, hangs up later)", agent)
	mustSucceed(t, "caller", uac)
	expectParams(t, a.wait("/dial-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "DialBridged": "true"})
}

// TestInboundReferWithoutReferURLRefused: no referUrl on the Dial: 603, and
// the call stays up until the callee hangs up.
func TestInboundReferWithoutReferURLRefused(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	agent := startReferrer(t, d, referrerOptions{ReferTo: "<sip:carol@127.0.0.1:9>", Expect202: false, AfterFinal: "bye-out", Hold: 300 * time.Millisecond, Pause: 200 * time.Millisecond})
	a.on("/voice", `<Response><Dial action="/dial-done"><Sip>sip:agent@`+agent.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
	mustSucceed(t, "agent", agent)
	expectParams(t, a.wait("/dial-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "DialBridged": "true"})
}

// uacReferred is a carrier whose call gets an outbound REFER: it accepts it
// and reports FinalNotify, then waits for tandem's BYE.
const uacReferredTemplate = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac_referred">
{{template "callerAnswered" .}}
  <recv request="REFER">
    <action><ereg regexp="{{.ExpectReferTo}}" search_in="hdr" header="Refer-To:" check_it="true" assign_to="rt"/></action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 202 Accepted
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[

      NOTIFY [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 NOTIFY
      Contact: sip:caller@[local_ip]:[local_port]
      Event: refer
      Subscription-State: active;expires=60
      Max-Forwards: 70
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

SIP/2.0 100 Trying
    ]]>
  </send>
  <recv response="200"/>
  <send retrans="500">
    <![CDATA[

      NOTIFY [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 NOTIFY
      Contact: sip:caller@[local_ip]:[local_port]
      Event: refer
      Subscription-State: terminated;reason=noresource
      Max-Forwards: 70
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

SIP/2.0 {{.FinalNotify}} Final
    ]]>
  </send>
  <recv response="200"/>
  <recv request="BYE"/>
{{template "ok"}}
  <Reference variables="rt"/>
</scenario>
`

// TestOutboundRefer: <Refer><Sip> sends REFER to the caller's leg, follows
// the NOTIFYs, and requests the action with ReferCallStatus,
// ReferSipResponseCode and NotifySipResponseCode, for a success and a busy
// target.
func TestOutboundRefer(t *testing.T) {
	for _, c := range []struct {
		notify int
		status string
	}{{200, "in-progress"}, {486, "busy"}} {
		t.Run(c.status, func(t *testing.T) {
			d := startTandem(t, daemonOptions{})
			a := newApp(t)
			a.on("/voice", `<Response><Refer action="/refer-done"><Sip>sip:alice@example.com?X-Case=77</Sip></Refer></Response>`)
			a.on("/refer-done", `<Response><Hangup/></Response>`)
			provision(t, d, a, "/voice", nil)
			sc := writeScenario(t, "uac_referred", uacReferredTemplate, map[string]any{
				"Service": inboundNumber, "FinalNotify": c.notify, "ExpectReferTo": "sip:alice@example.com\\?X-Case=77",
			})
			p, err := sipptest.Start(context.Background(), sipptest.Config{Scenario: sc, Remote: d.sipAddr(), Calls: 1, Dir: t.TempDir(), Timeout: 60 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Stop)
			mustSucceed(t, "referred caller", p)
			expectParams(t, a.wait("/refer-done", 1, 5*time.Second)[0], map[string]string{
				"ReferCallStatus": c.status, "ReferSipResponseCode": "202", "NotifySipResponseCode": strconv.Itoa(c.notify),
			})
		})
	}
}
