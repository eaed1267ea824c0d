package sipstack

import (
	"strings"
	"testing"
)

// TestDigestResponseRFC2617 checks the worked example of RFC 2617 §3.5.
func TestDigestResponseRFC2617(t *testing.T) {
	ha1 := HA1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
	got := digestResponse("MD5", ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth", "GET", "/dir/index.html")
	if got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("response = %s", got)
	}
}

func TestDigestChallengeRoundTrip(t *testing.T) {
	for _, alg := range []string{"MD5", "SHA-256", "MD5-sess"} {
		ch, err := parseChallenge(`Digest realm="sip.test", nonce="abc\"def", opaque="xyz", algorithm=` + alg + `, qop="auth-int,auth"`)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		auth := ch.authorization("alice", "pw", "INVITE", "sip:bob@sip.test")
		cr, err := parseCredentials(auth)
		if err != nil {
			t.Fatalf("%s: parse %q: %v", alg, auth, err)
		}
		if cr.nonce != `abc"def` || cr.opaque != "xyz" || cr.qop != "auth" || cr.username != "alice" || cr.algorithm != strings.ToUpper(alg) {
			t.Fatalf("%s: credentials %+v", alg, cr)
		}
		want := digestResponse(cr.algorithm, HA1(alg, "alice", "sip.test", "pw"), cr.nonce, cr.nc, cr.cnonce, cr.qop, "INVITE", cr.uri)
		if cr.response != want {
			t.Fatalf("%s: response %s, want %s", alg, cr.response, want)
		}
	}
}

func TestDigestMalformed(t *testing.T) {
	for _, v := range []string{"", "Digest", `Basic realm="x"`, `Digest realm="x`, `Digest nonce="n", algorithm=ROT13`, `Digest =x`} {
		if _, err := parseChallenge(v); err == nil {
			t.Errorf("parseChallenge(%q) accepted", v)
		}
		if _, err := parseCredentials(v); err == nil {
			t.Errorf("parseCredentials(%q) accepted", v)
		}
	}
}
