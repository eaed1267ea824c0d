package sipstack_test

import (
	"context"
	"fmt"

	"tandem/sipstack"
)

const exampleSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"

// Example runs two stacks on loopback: "tandem" answers inbound calls from
// its trunk, and a "carrier" stack dials it.
func Example() {
	ctx := context.Background()

	cfg := sipstack.DefaultConfig()
	cfg.Listen = []sipstack.ListenConfig{{Transport: "udp", Address: "127.0.0.1:0", Sockets: 2}}
	cfg.InboundTrunks = []sipstack.InboundTrunk{{Name: "carrier", CIDRs: []string{"127.0.0.0/8"}}}
	tandem, err := sipstack.New(cfg, sipstack.WithInviteHandler(func(call *sipstack.InboundCall) {
		fmt.Println("call to", call.Called(), "from trunk", call.Trunk())
		_ = call.Progress(180, nil)
		if err := call.Answer(ctx, []byte(exampleSDP), []sipstack.Header{{Name: "X-Served-By", Value: "tandem"}}); err != nil {
			return
		}
		_ = call.Hangup(ctx, nil) // the switch would run TwiML here first
	}))
	if err != nil {
		panic(err)
	}
	if err := tandem.Start(ctx); err != nil {
		panic(err)
	}
	defer tandem.Close()

	carrierCfg := sipstack.DefaultConfig()
	carrierCfg.Listen = []sipstack.ListenConfig{{Transport: "udp", Address: "127.0.0.1:0"}}
	carrier, _ := sipstack.New(carrierCfg)
	if err := carrier.Start(ctx); err != nil {
		panic(err)
	}
	defer carrier.Close()

	oc, err := carrier.Dial(ctx, sipstack.DialRequest{
		Target:   "sip:+14155550100@" + tandem.Addr("udp").String(),
		FromUser: "+15005550006",
		SDP:      []byte(exampleSDP),
	})
	if err != nil {
		panic(err)
	}
	for u := range oc.Updates() {
		if !u.Final {
			continue // 180 Ringing (sipgo may reorder it behind the 200)
		}
		served, _ := sipstack.HeaderValue(u.Headers, "X-Served-By")
		fmt.Println(u.Code, served)
	}
	<-oc.Done()
	fmt.Println("ended by", oc.End().Cause)
	// Output:
	// call to +14155550100 from trunk carrier
	// 200 tandem
	// ended by remote_bye
}
