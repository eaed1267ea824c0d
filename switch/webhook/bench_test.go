package webhook

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// benchServer is a fast local application (fasthttp, so the client's cost
// dominates) answering every request with a small TwiML document.
func benchServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="alice">Hello</Say><Dial><Number>+18005551212</Number></Dial></Response>`)
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("text/xml; charset=utf-8")
			ctx.SetBody(doc)
		},
		// fasthttp's worker-pool cleaner sleeps this long before it sees
		// Shutdown; keep it short so the leak check at the end passes.
		MaxIdleWorkerDuration: 50 * time.Millisecond,
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	b.Cleanup(func() { _ = srv.Shutdown(); <-done })
	return "http://" + ln.Addr().String()
}

// BenchmarkFetch is one signed TwiML fetch (POST, ten parameters, a
// keep-alive connection) end to end, server included.
func BenchmarkFetch(b *testing.B) {
	base := benchServer(b)
	for _, bc := range []struct{ name, method string }{{"POST", "POST"}, {"GET", "GET"}} {
		b.Run(bc.name, func(b *testing.B) {
			c := newClient(b, nil)
			r := Request{URL: base + "/voice?tenant=7", Method: bc.method, Params: callParams, AuthToken: token}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Fetch(bg, r)
				if err != nil || resp.Kind != KindTwiML {
					b.Fatalf("Fetch: %v", err)
				}
			}
		})
	}
}

func BenchmarkFetchParallel(b *testing.B) {
	base := benchServer(b)
	c := newClient(b, nil)
	r := Request{URL: base + "/voice", Params: callParams, AuthToken: token}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Fetch(bg, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
