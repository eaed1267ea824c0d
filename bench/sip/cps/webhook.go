package main

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// webhook is the application under the benchmark: it answers every voice
// request with <Dial><Sip> to the SIPp callee and records its own handling
// time per call (keyed by the call number SIPp puts in the From user,
// "aliceN"), so that the switch's added latency can be told apart from the
// application's.
type webhook struct {
	ln    net.Listener
	srv   *fasthttp.Server
	done  chan struct{}
	twiml atomic.Pointer[[]byte]

	mu    sync.Mutex
	times map[int]time.Duration

	requests atomic.Int64
	unknown  atomic.Int64
}

func startWebhook() (*webhook, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook listen: %w", err)
	}
	w := &webhook{ln: ln, done: make(chan struct{}), times: make(map[int]time.Duration, 1<<15)}
	empty := []byte("<Response/>")
	w.twiml.Store(&empty)
	w.srv = &fasthttp.Server{
		Handler:            w.handle,
		Name:               "bench-webhook",
		ReadTimeout:        30 * time.Second,
		IdleTimeout:        60 * time.Second,
		MaxRequestBodySize: 64 << 10,
		Concurrency:        16384,
	}
	go func() {
		defer close(w.done)
		_ = w.srv.Serve(ln)
	}()
	return w, nil
}

func (w *webhook) url() string { return "http://" + w.ln.Addr().String() + "/voice" }

// setCallee points the TwiML at a callee; answerOnBridge keeps the caller
// unanswered until the callee answers (Twilio's answerOnBridge).
func (w *webhook) setCallee(uri string, answerOnBridge bool) {
	attr := ""
	if answerOnBridge {
		attr = ` answerOnBridge="true"`
	}
	b := []byte(`<?xml version="1.0" encoding="UTF-8"?><Response><Dial` + attr + `><Sip>` + uri + `</Sip></Dial></Response>`)
	w.twiml.Store(&b)
}

func (w *webhook) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if !ctx.IsPost() || string(ctx.Path()) != "/voice" {
		// Status callbacks and anything else: an empty answer.
		ctx.SetStatusCode(fasthttp.StatusOK)
		return
	}
	w.requests.Add(1)
	n, ok := callNumber(ctx.PostArgs().Peek("From"))
	ctx.SetContentType("text/xml")
	ctx.SetBody(*w.twiml.Load())
	d := time.Since(start)
	if !ok {
		w.unknown.Add(1)
		return
	}
	w.mu.Lock()
	w.times[n] = d
	w.mu.Unlock()
}

// callNumber reads N from a From URI "sip:aliceN@…".
func callNumber(from []byte) (int, bool) {
	i := bytes.Index(from, []byte("alice"))
	if i < 0 {
		return 0, false
	}
	n, digits := 0, 0
	for _, c := range from[i+5:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		digits++
	}
	return n, digits > 0
}

// take returns the handling times recorded since the last call and resets.
func (w *webhook) take() map[int]time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.times
	w.times = make(map[int]time.Duration, len(t))
	return t
}

func (w *webhook) close() {
	_ = w.srv.Shutdown()
	<-w.done
}
