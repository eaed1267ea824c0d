package webhook

import (
	"sync"
)

// Callback is one status callback (twilio-voice.md §3.4).
type Callback struct {
	// CallSid orders delivery: callbacks of one call are delivered one at a
	// time, in SequenceNumber order; different calls proceed in parallel.
	CallSid        string
	SequenceNumber int
	// URL, Method, Params, AuthToken and IdempotencyToken as in Request
	// (the same fragment overrides, signing and retry rules apply). Params
	// must not be modified after Notify.
	URL              string
	Method           string
	Params           []Param
	AuthToken        string
	IdempotencyToken string
}

// Notify queues cb for delivery and returns at once: it never blocks the
// call path. When the queue holds CallbackQueueSize callbacks, or the client
// is closed, cb is dropped, counted (Stats.CallbacksDropped) and Notify
// returns false. The response body is ignored; any 2xx or 3xx counts as
// delivered (redirects are not followed).
func (c *Client) Notify(cb Callback) bool {
	if !c.callbacks.push(cb) {
		c.stats.cbDropped.Add(1)
		return false
	}
	c.stats.cbQueued.Add(1)
	return true
}

// callbackQueue holds pending callbacks grouped per call. A call is in the
// ready ring at most once (scheduled) and is served by one worker at a
// time, which is what keeps a call's callbacks in order; after each
// delivery the call goes to the back of the ring, so a call with a long
// backlog or a slow server cannot starve the others beyond one worker.
type callbackQueue struct {
	c     *Client
	mu    sync.Mutex
	cond  sync.Cond
	calls map[string]*callCallbacks
	ready ring
	size  int // queued, including those being delivered
	limit int

	closed    bool // no new callbacks; workers exit when the ring is empty
	abandoned bool // drain deadline passed: drop instead of deliver
}

type callCallbacks struct {
	sid       string
	items     []Callback // pending, in SequenceNumber order; items[0] next
	scheduled bool       // in the ring or being delivered
}

func newCallbackQueue(c *Client, limit int) *callbackQueue {
	q := &callbackQueue{c: c, calls: make(map[string]*callCallbacks), limit: limit}
	q.cond.L = &q.mu
	return q
}

func (q *callbackQueue) push(cb Callback) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.size >= q.limit {
		return false
	}
	e := q.calls[cb.CallSid]
	if e == nil {
		e = &callCallbacks{sid: cb.CallSid}
		q.calls[cb.CallSid] = e
	}
	// Insert after the last pending callback with a sequence number not
	// above cb's (stable for equal numbers). The head is left alone when a
	// worker is delivering it.
	i := len(e.items)
	lo := 0
	if e.scheduled && len(e.items) > 0 {
		lo = 1
	}
	for i > lo && e.items[i-1].SequenceNumber > cb.SequenceNumber {
		i--
	}
	e.items = append(e.items, Callback{})
	copy(e.items[i+1:], e.items[i:])
	e.items[i] = cb
	q.size++
	if !e.scheduled {
		e.scheduled = true
		q.ready.push(e)
		q.cond.Signal()
	}
	return true
}

// close stops intake; workers finish what is queued.
func (q *callbackQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// abandon makes workers drop what is left (the drain deadline passed).
func (q *callbackQueue) abandon() {
	q.mu.Lock()
	q.abandoned = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// worker delivers callbacks until the queue is closed and empty.
func (q *callbackQueue) worker() {
	defer q.c.wg.Done()
	q.mu.Lock()
	for {
		for q.ready.len() == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.ready.len() == 0 {
			q.mu.Unlock()
			return
		}
		e := q.ready.pop()
		cb := e.items[0]
		abandoned := q.abandoned
		q.mu.Unlock()

		if abandoned {
			q.c.stats.cbDropped.Add(1)
		} else {
			q.c.deliver(&cb)
		}

		q.mu.Lock()
		e.items[0] = Callback{}
		e.items = e.items[1:]
		q.size--
		if len(e.items) > 0 {
			q.ready.push(e)
		} else {
			e.scheduled = false
			delete(q.calls, e.sid)
		}
	}
}

// deliver sends one callback with the fetch engine's signing and retry
// rules.
func (c *Client) deliver(cb *Callback) {
	r := Request{
		URL:              cb.URL,
		Method:           cb.Method,
		Params:           cb.Params,
		AuthToken:        cb.AuthToken,
		IdempotencyToken: cb.IdempotencyToken,
	}
	if _, err := c.run(c.cbCtx, &r, modeCallback); err != nil {
		c.stats.cbFailed.Add(1)
		c.log.Debug("status callback failed", "call_sid", cb.CallSid, "sequence", cb.SequenceNumber,
			"url", err.URL, "code", err.Code, "http_status", err.HTTPStatus, "err", err.Err)
		return
	}
	c.stats.cbDelivered.Add(1)
}

// ring is a FIFO of calls ready for a worker.
type ring struct {
	buf        []*callCallbacks
	head, size int
}

func (r *ring) len() int { return r.size }

func (r *ring) push(e *callCallbacks) {
	if r.size == len(r.buf) {
		n := max(2*len(r.buf), 64)
		buf := make([]*callCallbacks, n)
		for i := range r.size {
			buf[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = buf, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = e
	r.size++
}

func (r *ring) pop() *callCallbacks {
	e := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return e
}
