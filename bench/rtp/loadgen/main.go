// Command loadgen drives an RTP relay (tandem's media engine or Sipwise
// rtpengine) through the ng control protocol: it creates N sessions, sends
// G.711-sized RTP (12-byte header, 160-byte payload) on every stream in
// both directions with sendmmsg, receives at the far ends with recvmmsg and
// reports forwarded packets per second, loss, one-way latency through the
// relay (send timestamp in the payload against the kernel's receive
// timestamp, SO_TIMESTAMPNS) and the relay's CPU from /proc.
//
// Modes: paced (every stream at 50 packets/s, phases spread over the 20 ms
// period as real calls are) and open (as fast as the relay keeps up, with a
// bounded number of packets in flight per stream direction).
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"tandem/rtpengine/ng"
)

const (
	payloadSize = 160
	pktSize     = 12 + payloadSize
	ptime       = 20 * time.Millisecond
	slots       = 200 // paced: streams spread over 200 slots of 100 µs
	batch       = 64
)

type result struct {
	Relay        string  `json:"relay"`
	Mode         string  `json:"mode"`
	Streams      int     `json:"streams"`
	Seconds      float64 `json:"seconds"`
	Sent         uint64  `json:"sent"`
	Received     uint64  `json:"received"`
	Misrouted    uint64  `json:"misrouted"`
	LossPct      float64 `json:"loss_pct"`
	PPS          float64 `json:"pps"`
	RelayCPU     float64 `json:"relay_cpu"` // fraction of one core
	PPSPerCore   float64 `json:"pps_per_core"`
	P50us        float64 `json:"p50_us"`
	P90us        float64 `json:"p90_us"`
	P99us        float64 `json:"p99_us"`
	P999us       float64 `json:"p999_us"`
	MaxUs        float64 `json:"max_us"`
	SetupSeconds float64 `json:"setup_seconds"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "report" {
		if err := report(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "waitng" {
		if err := waitNG(os.Args[2], 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "freeport" {
		fmt.Println(freePort())
		return
	}
	r, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func run() (*result, error) {
	ngAddr := flag.String("ng", "127.0.0.1:2223", "relay ng control address")
	relay := flag.String("relay", "tandem", "relay name for the report")
	mode := flag.String("mode", "paced", "paced or open")
	n := flag.Int("streams", 1000, "sessions (each has two legs, both directions)")
	dur := flag.Duration("duration", 10*time.Second, "measured period")
	warm := flag.Duration("warmup", 2*time.Second, "traffic before the measured period")
	window := flag.Int("window", 8, "open mode: packets in flight per stream direction")
	pid := flag.Int("relay-pid", 0, "relay process for CPU accounting")
	flag.Parse()
	if *mode != "paced" && *mode != "open" {
		return nil, fmt.Errorf("-mode: paced or open (got %q)", *mode)
	}
	if *n < 1 || *n > maxStreams {
		return nil, fmt.Errorf("-streams: 1..%d (got %d)", maxStreams, *n)
	}
	if *dur <= 0 || *dur > 10*time.Minute || *warm < 0 || *warm > time.Minute {
		return nil, fmt.Errorf("-duration up to 10m, -warmup up to 1m")
	}
	if *window < 1 || *window > 256 {
		return nil, fmt.Errorf("-window: 1..256")
	}
	c, err := dialNG(*ngAddr)
	if err != nil {
		return nil, err
	}
	if _, err := c.call(ng.Dict{"command": "ping"}); err != nil {
		return nil, err
	}
	g, err := newGen(*n)
	if err != nil {
		return nil, err
	}
	defer g.close()
	t0 := time.Now()
	err = g.setup(c)
	defer func() {
		for i := range g.streams {
			c.call(ng.Dict{"command": "delete", "call-id": callID(i)})
		}
	}()
	if err != nil {
		return nil, err
	}
	res := &result{Relay: *relay, Mode: *mode, Streams: *n, SetupSeconds: time.Since(t0).Seconds()}
	if *mode == "paced" {
		g.paced(*warm, *dur, *pid, res)
	} else {
		g.open(*warm, *dur, *window, *pid, res)
	}
	return res, nil
}

func callID(i int) string { return "loadgen-" + strconv.Itoa(i) }

// maxStreams bounds the address plan: endpoint k (two per stream) is
// 127.1.0.0 + k + 1, all on one port.
const maxStreams = 8000

// endpointIP is the loopback address of stream i's side (0 caller, 1 callee).
func endpointIP(i, side int) netip.Addr {
	k := 2*i + side + 1
	return netip.AddrFrom4([4]byte{127, 1, byte(k >> 8), byte(k)})
}

// stream is one session: its two endpoints and the relay addresses each
// sends to.
type stream struct {
	to   [2]unix.RawSockaddrInet4 // relay address side s sends to
	src  [2][4]byte               // endpoint IPs
	sent [2]uint64                // packets sent by side s
	// open mode: newSeq[s] is the sequence number of the newest packet
	// from side s that came back (written by the receiving path, read by
	// open on the same goroutine), acked[s] how many of side s's packets
	// are settled: returned, or passed over by a newer one (the relay
	// keeps a flow's order, so a gap is a loss), or written off.
	newSeq   [2]uint16
	gotSeq   [2]bool
	acked    [2]uint64
	lastProg [2]int64
}

// gen is the load generator. All endpoints share one UDP port on the
// wildcard address (a reuseport group of rxSockets sockets; the first also
// sends): each endpoint is a distinct loopback IP on that port, chosen per
// packet with IP_PKTINFO, and received packets tell their endpoint by
// destination IP. One port keeps the generator cheap and keeps the
// receiving side's cost (socket lookup, wake-ups of 2000 sockets) out of
// the relay's CPU account, which on loopback pays for delivery into the
// receiver's socket.
type gen struct {
	fd      int   // sends
	fds     []int // receive (fds[0] == fd)
	port    int
	streams []stream
	hist    []uint64 // 1 µs buckets up to histMax
	over    uint64
	misrt   uint64
	recvTot atomic.Uint64
	sentTot atomic.Uint64

	sbuf  [sendBatch][pktSize]byte
	sctl  [sendBatch][unix.SizeofCmsghdr + unix.SizeofInet4Pktinfo + 4]byte
	sname [sendBatch]unix.RawSockaddrInet4
	smsgs [sendBatch]unix.Mmsghdr
	siov  [sendBatch]unix.Iovec
	nsend int

	rbuf  [recvBatch][256]byte
	rctl  [recvBatch][128]byte
	rmsgs [recvBatch]unix.Mmsghdr
	riov  [recvBatch]unix.Iovec

	stopRx atomic.Bool
	rxDone chan struct{}
	mu     atomic.Bool // histogram reset request
}

const (
	sendBatch = 512
	recvBatch = 256
	histMax   = 100_000
	// lossAfter: in open mode, a stream direction with packets in flight
	// and nothing back this long writes them off (when the whole window was
	// lost). It stays above the slowest relay's latency tail (rtpengine's
	// p99.9 is ~80-100 ms in the paced runs).
	lossAfter = 250 * time.Millisecond
)

func newGen(n int) (*gen, error) {
	g := &gen{streams: make([]stream, n), hist: make([]uint64, histMax), rxDone: make(chan struct{})}
	// Several receiving sockets in a reuseport group on one port: the
	// relay's deliveries (charged to the relay on loopback) then rarely
	// contend with the generator draining the same socket.
	for k := 0; k < rxSockets; k++ {
		fd, err := genSocket(g.port)
		if err != nil {
			g.close()
			return nil, err
		}
		g.fds = append(g.fds, fd)
		if k == 0 {
			sa, err := unix.Getsockname(fd)
			if err != nil {
				g.close()
				return nil, err
			}
			g.port = sa.(*unix.SockaddrInet4).Port
		}
	}
	g.fd = g.fds[0]
	for i := range g.sbuf {
		p := &g.sbuf[i]
		p[0] = 0x80 // V=2
		p[1] = 0    // PCMU
		g.siov[i].Base = &p[0]
		g.siov[i].SetLen(pktSize)
		h := &g.smsgs[i].Hdr
		h.Iov = &g.siov[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&g.sname[i]))
		h.Namelen = unix.SizeofSockaddrInet4
		cm := (*unix.Cmsghdr)(unsafe.Pointer(&g.sctl[i][0]))
		cm.Level, cm.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		cm.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		h.Control = &g.sctl[i][0]
		h.SetControllen(unix.CmsgSpace(unix.SizeofInet4Pktinfo))
	}
	for i := range g.rbuf {
		g.riov[i].Base = &g.rbuf[i][0]
		g.riov[i].SetLen(len(g.rbuf[i]))
		g.rmsgs[i].Hdr.Iov = &g.riov[i]
		g.rmsgs[i].Hdr.SetIovlen(1)
		g.rmsgs[i].Hdr.Control = &g.rctl[i][0]
	}
	return g, nil
}

// rxSockets is the size of the generator's reuseport group. With one
// socket every delivery by the relay (charged to the relay on loopback)
// takes the same receive-queue lock and counters the generator's draining
// core is touching; four spread that contention (open window, 3 runs
// each: tandem 518-519k pps per core with one socket, 549-563k with four).
const rxSockets = 4

func genSocket(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, o := range [][3]int{
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32 << 20},
		{unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 16 << 20},
		{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1},
		{unix.IPPROTO_IP, unix.IP_PKTINFO, 1},
	} {
		if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("setsockopt %d: %w", o[1], err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (g *gen) close() {
	for _, fd := range g.fds {
		unix.Close(fd)
	}
}

func rawAddr(ap netip.AddrPort) unix.RawSockaddrInet4 {
	var r unix.RawSockaddrInet4
	r.Family = unix.AF_INET
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&r.Port))[:], ap.Port())
	r.Addr = ap.Addr().As4()
	return r
}

func (g *gen) setup(c *ngClient) error {
	for i := range g.streams {
		s := &g.streams[i]
		a, b := endpointIP(i, 0), endpointIP(i, 1)
		s.src = [2][4]byte{a.As4(), b.As4()}
		id := callID(i)
		offer, err := c.call(ng.Dict{
			"command": "offer", "call-id": id, "from-tag": "a" + strconv.Itoa(i),
			"sdp": sdpFor(a, g.port, strconv.Itoa(i)), "ICE": "remove",
			"replace": []string{"origin", "session-connection"},
		})
		if err != nil {
			return err
		}
		toB, err := mediaAddr(offer.Str("sdp"))
		if err != nil {
			return err
		}
		answer, err := c.call(ng.Dict{
			"command": "answer", "call-id": id, "from-tag": "a" + strconv.Itoa(i), "to-tag": "b" + strconv.Itoa(i),
			"sdp": sdpFor(b, g.port, strconv.Itoa(i)), "ICE": "remove",
			"replace": []string{"origin", "session-connection"},
		})
		if err != nil {
			return err
		}
		toA, err := mediaAddr(answer.Str("sdp"))
		if err != nil {
			return err
		}
		// The caller (side 0) sends to the address in the answer, the
		// callee (side 1) to the one in the offer.
		s.to = [2]unix.RawSockaddrInet4{rawAddr(toA), rawAddr(toB)}
	}
	return nil
}

// queue adds one packet from stream i's side to the send batch.
func (g *gen) queue(i, side int, now int64) {
	if g.nsend == sendBatch {
		g.flush()
	}
	s := &g.streams[i]
	j := g.nsend
	g.nsend++
	p := &g.sbuf[j]
	s.sent[side]++
	seq := uint16(s.sent[side]) // the k-th packet is numbered k (mod 2^16)
	binary.BigEndian.PutUint16(p[2:4], seq)
	binary.BigEndian.PutUint32(p[4:8], uint32(seq)*160)
	binary.BigEndian.PutUint32(p[8:12], uint32(i*2+side)) // SSRC names the sender
	binary.BigEndian.PutUint64(p[12:20], uint64(now))
	g.sname[j] = s.to[side]
	pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&g.sctl[j][unix.SizeofCmsghdr]))
	pi.Spec_dst = s.src[side]
}

// flush sends the batch with sendmmsg.
func (g *gen) flush() {
	off := 0
	for off < g.nsend {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(g.fd), uintptr(unsafe.Pointer(&g.smsgs[off])), uintptr(g.nsend-off), 0, 0, 0)
		if e != 0 {
			if e == unix.EAGAIN || e == unix.ENOBUFS {
				time.Sleep(50 * time.Microsecond)
				continue
			}
			fmt.Fprintln(os.Stderr, "loadgen: sendmmsg:", e)
			off++ // count it as sent (and so lost)
			continue
		}
		off += int(r)
	}
	g.sentTot.Add(uint64(g.nsend))
	g.nsend = 0
}

// drain reads everything waiting and records latencies; it returns the
// number of packets read.
func (g *gen) drain() int {
	total := 0
	for _, fd := range g.fds {
		total += g.drainFD(fd)
	}
	return total
}

func (g *gen) drainFD(fd int) int {
	total := 0
	for {
		for i := range g.rmsgs {
			g.rmsgs[i].Hdr.SetControllen(len(g.rctl[i]))
			g.rmsgs[i].Hdr.Flags = 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&g.rmsgs[0])), recvBatch, unix.MSG_DONTWAIT, 0, 0)
		if e != 0 || r == 0 {
			return total
		}
		n := int(r)
		total += n
		reset := g.mu.Swap(false)
		if reset {
			clear(g.hist)
			g.over = 0
		}
		for i := 0; i < n; i++ {
			m := &g.rmsgs[i]
			if m.Len != pktSize {
				g.misrt++
				continue
			}
			b := &g.rbuf[i]
			from := binary.BigEndian.Uint32(b[8:12])
			si, side := int(from/2), int(from%2)^1 // received by the other side
			if si >= len(g.streams) {
				g.misrt++
				continue
			}
			rx, dst, ok := parseControl(&m.Hdr)
			if !ok || dst != g.streams[si].src[side] {
				g.misrt++ // the relay sent it to the wrong endpoint
				continue
			}
			g.streams[si].newSeq[side^1] = binary.BigEndian.Uint16(b[2:4])
			g.streams[si].gotSeq[side^1] = true
			d := (rx - int64(binary.BigEndian.Uint64(b[12:20]))) / 1000
			switch {
			case d < 0:
				g.hist[0]++
			case d >= histMax:
				g.over++
			default:
				g.hist[d]++
			}
		}
		g.recvTot.Add(uint64(n))
		if n < recvBatch {
			return total
		}
	}
}

// parseControl returns the kernel receive time (SO_TIMESTAMPNS) and the
// destination address (IP_PKTINFO).
func parseControl(h *unix.Msghdr) (rx int64, dst [4]byte, ok bool) {
	ctl := unsafe.Slice(h.Control, h.Controllen)
	var haveTS, haveDst bool
	for len(ctl) >= unix.SizeofCmsghdr {
		cm := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
		l := int(cm.Len)
		if l < unix.SizeofCmsghdr || l > len(ctl) {
			break
		}
		data := ctl[unix.SizeofCmsghdr:l]
		switch {
		case cm.Level == unix.SOL_SOCKET && cm.Type == unix.SO_TIMESTAMPNS && len(data) >= 16:
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			rx, haveTS = ts.Nano(), true
		case cm.Level == unix.IPPROTO_IP && cm.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			dst, haveDst = pi.Addr, true
		}
		next := unix.CmsgSpace(l - unix.SizeofCmsghdr)
		if next > len(ctl) {
			break
		}
		ctl = ctl[next:]
	}
	return rx, dst, haveTS && haveDst
}

// receive polls every millisecond rather than sleeping in a blocking
// read: a sleeping receiver is woken per packet, and on loopback that
// wake-up is charged to the relay. Latency does not suffer: it is the
// kernel's receive timestamp.
func (g *gen) receive() {
	defer close(g.rxDone)
	for !g.stopRx.Load() {
		g.drain()
		time.Sleep(time.Millisecond)
	}
	g.drain()
}

func (g *gen) totals() (sent, recv uint64) {
	return g.sentTot.Load(), g.recvTot.Load()
}

// slotTime is one paced slot: ptime / slots.
const slotTime = ptime / slots

// waitUntil sleeps until t with nanosleep: Go's timers round sub-
// millisecond sleeps up to a millisecond here, and spinning would take the
// generator's core from everything else.
func waitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		ts := unix.NsecToTimespec(int64(d))
		for unix.Nanosleep(&ts, &ts) == unix.EINTR {
		}
	}
}

// paced sends every stream at 50 pps in both directions; stream i sends in
// slot i%200 (100 µs each) of each 20 ms period so the load is even, as the
// phases of independent calls are.
func (g *gen) paced(warm, dur time.Duration, pid int, res *result) {
	go g.receive()
	start := time.Now()
	end := start.Add(warm + dur)
	var m0 meter
	measuring := false
	for tick := 0; ; tick++ {
		due := start.Add(time.Duration(tick) * slotTime)
		if due.After(end) {
			break
		}
		waitUntil(due)
		if !measuring && time.Since(start) >= warm {
			measuring = true
			g.mu.Store(true)
			m0 = g.meter(pid)
		}
		now := time.Now().UnixNano()
		for i := tick % slots; i < len(g.streams); i += slots {
			g.queue(i, 0, now)
			g.queue(i, 1, now)
		}
		g.flush()
	}
	m1 := g.meter(pid)
	time.Sleep(300 * time.Millisecond) // let the last packets arrive
	g.stopRx.Store(true)
	<-g.rxDone
	g.finish(m0, m1, res)
}

// open keeps up to window packets in flight per stream direction and sends
// as fast as the relay returns them. A packet is settled when it or a newer
// one of its flow comes back; a window with nothing back for lossAfter is
// written off so that it does not close for good. Packets in flight never
// exceed the window, whatever the relay drops or delays.
func (g *gen) open(warm, dur time.Duration, window, pid int, res *result) {
	start := time.Now()
	end := start.Add(warm + dur)
	var m0 meter
	measuring := false
	for {
		now := time.Now()
		if now.After(end) {
			break
		}
		if !measuring && now.Sub(start) >= warm {
			measuring = true
			g.mu.Store(true)
			m0 = g.meter(pid)
		}
		nowNs := now.UnixNano()
		for i := range g.streams {
			s := &g.streams[i]
			for side := 0; side < 2; side++ {
				if s.gotSeq[side] {
					// The packet numbered newSeq is the k-th side sent.
					k := s.sent[side] - uint64(uint16(s.sent[side])-s.newSeq[side])
					if k > s.acked[side] {
						s.acked[side], s.lastProg[side] = k, nowNs
					}
				}
				inflight := int(s.sent[side] - s.acked[side])
				if inflight == 0 {
					s.lastProg[side] = nowNs
				} else if nowNs-s.lastProg[side] > int64(lossAfter) {
					// Nothing newer came back: the rest of the window
					// is lost.
					s.acked[side], s.lastProg[side] = s.sent[side], nowNs
					inflight = 0
				}
				for k := window - inflight; k > 0 && k >= (window+1)/2; k-- {
					g.queue(i, side, nowNs)
				}
			}
		}
		g.flush()
		if g.drain() == 0 {
			// Nothing back yet: yield briefly instead of spinning on
			// syscalls the relay's core would not see anyway.
			time.Sleep(20 * time.Microsecond)
		}
	}
	m1 := g.meter(pid)
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		g.drain()
		time.Sleep(time.Millisecond)
	}
	g.finish(m0, m1, res)
}

type meter struct {
	at   time.Time
	recv uint64
	cpu  float64 // CPU seconds used by the relay so far
}

func (g *gen) meter(pid int) meter {
	_, recv := g.totals()
	return meter{at: time.Now(), recv: recv, cpu: procCPU(pid)}
}

func (g *gen) finish(m0, m1 meter, res *result) {
	sent, recv := g.totals()
	secs := m1.at.Sub(m0.at).Seconds()
	res.Seconds = secs
	res.Sent, res.Received, res.Misrouted = sent, recv, g.misrt
	if sent > 0 {
		good := recv - min(recv, g.misrt)
		res.LossPct = 100 * float64(sent-min(sent, good)) / float64(sent)
	}
	res.PPS = float64(m1.recv-m0.recv) / secs
	res.RelayCPU = (m1.cpu - m0.cpu) / secs
	if res.RelayCPU > 0 {
		res.PPSPerCore = res.PPS / res.RelayCPU
	}
	res.P50us = g.quantile(0.50)
	res.P90us = g.quantile(0.90)
	res.P99us = g.quantile(0.99)
	res.P999us = g.quantile(0.999)
	res.MaxUs = g.quantile(1)
}

func (g *gen) quantile(q float64) float64 {
	var total uint64
	for _, c := range g.hist {
		total += c
	}
	total += g.over
	if total == 0 {
		return math.NaN()
	}
	want := uint64(math.Ceil(q * float64(total)))
	var acc uint64
	for i, c := range g.hist {
		acc += c
		if acc >= want {
			return float64(i)
		}
	}
	return histMax
}

func freePort() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return 0
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0
	}
	return sa.(*unix.SockaddrInet4).Port
}

// procCPU returns the user+system CPU seconds of pid (all its threads).
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	// After the command: state(0) ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime(11) stime(12).
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100
