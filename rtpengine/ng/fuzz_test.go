package ng

import (
	"bytes"
	"reflect"
	"testing"

	"tandem/rtpengine"
)

// FuzzDecode: the bencode decoder never crashes, and what it accepts
// re-encodes to something that decodes to the same value.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("d7:command4:pinge"))
	f.Add([]byte("d7:command5:offer7:call-id3:abc8:from-tag1:a5:flagsl13:trust-addressee"))
	f.Add([]byte("li-1e0:le"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := Encode(nil, v)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		v2, err := Decode(enc)
		if err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip: %#v -> %q -> %#v (%v)", v, enc, v2, err)
		}
	})
}

// FuzzHandlePacket: any control datagram gets a well-formed reply (or
// none, without a cookie) and never crashes the server.
func FuzzHandlePacket(f *testing.F) {
	f.Add([]byte("c1 d7:command4:pinge"))
	f.Add([]byte("c2 d7:command5:offer7:call-id1:x8:from-tag1:a3:sdp5:v=0\r\ne"))
	f.Add([]byte("c3 d7:command4:liste"))
	f.Add([]byte("c4 d7:command6:delete7:call-id1:xe"))
	cfg := rtpengine.DefaultConfig()
	cfg.Interfaces[0].SharedPorts = []int{0}
	cfg.DedicatedPortMin, cfg.DedicatedPortMax = 0, 0
	cfg.Workers = 1
	e, err := rtpengine.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	s := NewServer(e, nil)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		reply := s.HandlePacket(pkt)
		if reply == nil {
			return
		}
		sp := bytes.IndexByte(reply, ' ')
		if sp <= 0 || !bytes.HasPrefix(pkt, reply[:sp+1]) {
			t.Fatalf("reply %q does not echo the cookie of %q", reply, pkt)
		}
		v, err := Decode(reply[sp+1:])
		if err != nil {
			t.Fatalf("reply does not decode: %v", err)
		}
		if _, ok := v.(Dict); !ok {
			t.Fatalf("reply is %T", v)
		}
		s.closeAll()
	})
}
