package webhook

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// seqRecorder records, per CallSid, the SequenceNumbers in arrival order.
type seqRecorder struct {
	mu    sync.Mutex
	order map[string][]int
	busy  map[string]bool // a request of the call is being handled
	overl int             // requests that overlapped another of the same call
}

func newSeqRecorder() *seqRecorder {
	return &seqRecorder{order: map[string][]int{}, busy: map[string]bool{}}
}

func (s *seqRecorder) handler(delay func(sid string, seq int) time.Duration) func(http.ResponseWriter, *http.Request, hit, int) {
	return func(w http.ResponseWriter, _ *http.Request, h hit, _ int) {
		sid := h.Form.Get("CallSid")
		seq, _ := strconv.Atoi(h.Form.Get("SequenceNumber"))
		s.mu.Lock()
		if s.busy[sid] {
			s.overl++
		}
		s.busy[sid] = true
		s.mu.Unlock()
		time.Sleep(delay(sid, seq))
		s.mu.Lock()
		s.order[sid] = append(s.order[sid], seq)
		s.busy[sid] = false
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func callback(url, sid string, seq int) Callback {
	return Callback{
		CallSid: sid, SequenceNumber: seq, URL: url, AuthToken: token,
		Params: []Param{
			{"CallSid", sid}, {"CallStatus", "in-progress"},
			{"SequenceNumber", strconv.Itoa(seq)}, {"CallbackSource", "call-progress-events"},
		},
	}
}

// Many calls' callbacks, delivered by 8 workers in parallel, arrive in
// SequenceNumber order per call, never two of one call at once; Close
// drains them all.
func TestCallbacksOrderedPerCallAcrossConcurrentCalls(t *testing.T) {
	const calls, perCall = 40, 12
	sr := newSeqRecorder()
	// Deterministic jitter so that calls finish out of step.
	srv, rec := serve(t, sr.handler(func(sid string, seq int) time.Duration {
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%d", sid, seq)
		return time.Duration(h.Sum32()%3) * time.Millisecond
	}))
	cfg := DefaultConfig()
	cfg.CallbackWorkers = 8
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() { // each call notifies from its own goroutine, as the call path does
			defer wg.Done()
			sid := fmt.Sprintf("CA%032d", i)
			for seq := range perCall {
				if !c.Notify(callback(srv.URL+"/status", sid, seq)) {
					t.Errorf("Notify dropped %s/%d", sid, seq)
				}
			}
		}()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := rec.count(); n != calls*perCall {
		t.Fatalf("server got %d callbacks, want %d", n, calls*perCall)
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	for sid, got := range sr.order {
		for i, seq := range got {
			if seq != i {
				t.Fatalf("%s: arrival order %v, want 0..%d", sid, got, perCall-1)
			}
		}
	}
	if sr.overl != 0 {
		t.Errorf("%d callbacks of one call overlapped", sr.overl)
	}
	st := c.Stats()
	if st.CallbacksQueued != calls*perCall || st.CallbacksDelivered != calls*perCall || st.CallbacksDropped != 0 || st.CallbacksPending != 0 {
		t.Errorf("stats queued=%d delivered=%d dropped=%d pending=%d", st.CallbacksQueued, st.CallbacksDelivered, st.CallbacksDropped, st.CallbacksPending)
	}
}

// Callbacks notified out of order (e.g. from two goroutines of one call)
// are delivered by SequenceNumber.
func TestCallbacksSortedBySequenceNumber(t *testing.T) {
	sr := newSeqRecorder()
	gate := make(chan struct{})
	srv, _ := serve(t, sr.handler(func(_ string, seq int) time.Duration {
		if seq == 0 {
			<-gate // hold the first so the others queue up behind it
		}
		return 0
	}))
	c := newClient(t, nil)
	c.Notify(callback(srv.URL, "CA1", 0))
	for c.Stats().Attempts == 0 {
		time.Sleep(time.Millisecond)
	}
	for _, seq := range []int{3, 1, 2} {
		c.Notify(callback(srv.URL, "CA1", seq))
	}
	close(gate)
	_ = c.Close()
	if got := sr.order["CA1"]; fmt.Sprint(got) != "[0 1 2 3]" {
		t.Errorf("order %v, want [0 1 2 3]", got)
	}
}

func TestCallbackQueueFullDropsAndCounts(t *testing.T) {
	gate := make(chan struct{})
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, _ int) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	})
	c := newClient(t, func(cfg *Config) {
		cfg.CallbackQueueSize = 4
		cfg.CallbackWorkers = 1
	})
	accepted := 0
	for i := range 10 {
		if c.Notify(callback(srv.URL, fmt.Sprintf("CA%d", i), 0)) {
			accepted++
		}
	}
	if accepted != 4 {
		t.Errorf("accepted %d, want the queue size 4", accepted)
	}
	if st := c.Stats(); st.CallbacksDropped != 6 || st.CallbacksPending != 4 {
		t.Errorf("dropped=%d pending=%d, want 6 and 4", st.CallbacksDropped, st.CallbacksPending)
	}
	close(gate)
	_ = c.Close()
	if rec.count() != 4 || c.Stats().CallbacksDelivered != 4 {
		t.Errorf("delivered %d (server %d), want 4", c.Stats().CallbacksDelivered, rec.count())
	}
	if c.Notify(callback(srv.URL, "CAlate", 0)) {
		t.Error("Notify accepted after Close")
	}
	if c.Stats().CallbacksDropped != 7 {
		t.Errorf("dropped %d after a Notify on a closed client, want 7", c.Stats().CallbacksDropped)
	}
}

// Close waits CallbackDrainTimeout at most: a server that never answers
// does not hold it, the in-flight delivery is canceled and the rest of the
// queue is counted as dropped.
func TestCloseDrainDeadline(t *testing.T) {
	srv, _ := serve(t, func(_ http.ResponseWriter, r *http.Request, _ hit, _ int) { stall(r) })
	cfg := DefaultConfig()
	cfg.CallbackWorkers = 1
	cfg.CallbackDrainTimeout = 200 * time.Millisecond
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for seq := range 5 {
		c.Notify(callback(srv.URL, "CA1", seq))
	}
	done := make(chan struct{})
	go func() { _ = c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the drain deadline")
	}
	st := c.Stats()
	if st.CallbacksFailed != 1 || st.CallbacksDropped != 4 || st.CallbacksDelivered != 0 || st.CallbacksPending != 0 {
		t.Errorf("failed=%d dropped=%d delivered=%d pending=%d, want 1, 4, 0, 0", st.CallbacksFailed, st.CallbacksDropped, st.CallbacksDelivered, st.CallbacksPending)
	}
}

func TestCallbackStatusRules(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int // answers in order
		fragment  string
		delivered bool
		hits      int
	}{
		{"204", []int{204}, "", true, 1},
		{"302 counts, not followed", []int{302}, "", true, 1},
		{"500 not retried by default", []int{500}, "", false, 1},
		{"500 then 200 with rp=5xx", []int{500, 200}, "#rp=5xx&rc=1", true, 2},
		{"404 with rp=4xx rc=2", []int{404, 404, 404}, "#rp=4xx&rc=2", false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, n int) {
				if tt.statuses[n-1] == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.statuses[n-1])
			})
			c := newClient(t, nil)
			c.Notify(callback(srv.URL+"/cb"+tt.fragment, "CA1", 0))
			_ = c.Close()
			st := c.Stats()
			if (st.CallbacksDelivered == 1) != tt.delivered || st.CallbacksDelivered+st.CallbacksFailed != 1 {
				t.Errorf("delivered=%d failed=%d, want delivered=%v", st.CallbacksDelivered, st.CallbacksFailed, tt.delivered)
			}
			if rec.count() != tt.hits {
				t.Errorf("server saw %d requests, want %d", rec.count(), tt.hits)
			}
			if tt.delivered && rec.count() > 0 && !ValidSignature(token, srv.URL+"/cb", callback("", "CA1", 0).Params, rec.all()[0].Header.Get("X-Twilio-Signature")) {
				t.Error("callback signature invalid")
			}
		})
	}
}
