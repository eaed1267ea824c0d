package twiml

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// typicalDial is what a webhook returns for most inbound calls: a greeting
// and a Dial to a number and a SIP endpoint with callbacks.
const typicalDial = `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say voice="Polly.Joanna" language="en-US">Please hold while we connect your call.</Say>
  <Dial action="https://app.example.com/voice/dial-status?tenant=42" timeout="25" callerId="+15005550006" answerOnBridge="true" record="record-from-answer-dual" recordingStatusCallback="https://app.example.com/voice/recording">
    <Number statusCallback="https://app.example.com/voice/leg" statusCallbackEvent="initiated ringing answered completed">+15558675310</Number>
    <Sip username="agent" password="s3cret">sip:agent42@pbx.example.com;transport=tls?X-Tenant=42&amp;User-to-User=00fa</Sip>
  </Dial>
  <Say>The party you are calling is not available.</Say>
  <Hangup/>
</Response>`

func BenchmarkParse(b *testing.B) {
	doc := []byte(typicalDial)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Parse(doc)
		if err != nil || len(r.Verbs) != 4 {
			b.Fatalf("Parse: %v", err)
		}
	}
}

func BenchmarkBytes(b *testing.B) {
	r, err := Parse([]byte(typicalDial))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenizeOnly is the floor under BenchmarkParse: encoding/xml
// reading the same document's tokens and doing nothing with them.
func BenchmarkTokenizeOnly(b *testing.B) {
	doc := []byte(typicalDial)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		d := xml.NewDecoder(bytes.NewReader(doc))
		for {
			if _, err := d.RawToken(); err != nil {
				break
			}
		}
	}
}
