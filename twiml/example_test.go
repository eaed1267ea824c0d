package twiml_test

import (
	"fmt"
	"time"

	"tandem/twiml"
)

// Parse a webhook's answer, then build a document in Go.
func Example() {
	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say>Connecting you.</Say>
  <Dial timeout="20" action="/after-dial" record="true">
    <Number>+15558675310</Number>
    <Sip>sip:agent@pbx.example.com?X-Tenant=42</Sip>
  </Dial>
  <Sya>typo</Sya>
</Response>`)
	r, err := twiml.Parse(doc)
	if err != nil {
		fmt.Println(err) // a *twiml.Error: 11750, 12100 or 12102, with the line
		return
	}
	for _, v := range r.Verbs {
		switch v := v.(type) {
		case *twiml.Say:
			fmt.Printf("line %d: say %q\n", v.Line, v.Text)
		case *twiml.Dial:
			fmt.Printf("line %d: dial %d targets, ring %v, record %s, action %s\n",
				v.Line, len(v.Targets), v.Timeout, v.Record, *v.Action)
			for _, t := range v.Targets {
				switch t := t.(type) {
				case *twiml.Number:
					fmt.Println("  number", t.Number)
				case *twiml.Sip:
					fmt.Println("  sip", t.URI)
				}
			}
		}
	}
	for _, w := range r.Warnings {
		fmt.Println(w)
	}

	d := twiml.NewDial(twiml.NewClient("alice"))
	d.Timeout = 15 * time.Second
	d.Action = twiml.String("/voicemail")
	out, err := twiml.New(twiml.NewSay("Please hold."), d).Bytes()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// line 3: say "Connecting you."
	// line 4: dial 2 targets, ring 20s, record record-from-answer, action /after-dial
	//   number +15558675310
	//   sip sip:agent@pbx.example.com?X-Tenant=42
	// twiml: warning 12200 at line 8: <Sya> is not allowed in <Response> (unknown verb); skipped
	// <?xml version="1.0" encoding="UTF-8"?><Response><Say>Please hold.</Say><Dial action="/voicemail" timeout="15"><Client>alice</Client></Dial></Response>
}
