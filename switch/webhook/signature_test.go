package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The two test vectors of twilio-voice.md §4.1.
func TestSignatureTwilioTestVectors(t *testing.T) {
	params := func(callerFrom string) []Param {
		// Deliberately unsorted: Signature sorts.
		return []Param{
			{"To", "+18005551212"},
			{"From", callerFrom},
			{"Digits", "1234"},
			{"CallSid", "CA1234567890ABCDE"},
			{"Caller", callerFrom},
		}
	}
	tests := []struct {
		name, url string
		params    []Param
		want      string
	}{
		{"example.com", "https://example.com/myapp.php?foo=1&bar=2", params("+14158675310"), "L/OH5YylLD5NRKLltdqwSvS0BnU="},
		{"mycompany.com", "https://mycompany.com/myapp.php?foo=1&bar=2", params("+12349013030"), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Signature("12345", tt.url, tt.params); got != tt.want {
				t.Errorf("Signature = %q, want %q", got, tt.want)
			}
			if !ValidSignature("12345", tt.url, tt.params, tt.want) {
				t.Error("ValidSignature rejected the vector")
			}
			if ValidSignature("12346", tt.url, tt.params, tt.want) {
				t.Error("ValidSignature accepted the wrong key")
			}
		})
	}
}

// referenceSignature is §4.1 written the obvious way with crypto/hmac, with
// twilio-python's rule for repeated names (sorted(set(values))).
func referenceSignature(key, u string, params []Param) string {
	byName := map[string][]string{}
	for _, p := range params {
		if !slices.Contains(byName[p.Name], p.Value) {
			byName[p.Name] = append(byName[p.Name], p.Value)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	var sb strings.Builder
	sb.WriteString(u)
	for _, n := range names {
		vals := byName[n]
		slices.Sort(vals)
		for _, v := range vals {
			sb.WriteString(n)
			sb.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(sb.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignatureMatchesReferenceHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcAB+ %&=é_-"[rng.IntN(13)]
		}
		return string(b)
	}
	for i := range 300 {
		key := word(rng.IntN(130)) // includes keys longer than the HMAC block
		u := "https://h.example/p?" + word(rng.IntN(40))
		var params []Param
		for range rng.IntN(12) {
			// few names, so repeats (and exact duplicates) are common
			params = append(params, Param{Name: []string{"A", "B", "StatusCallbackEvent", "a"}[rng.IntN(4)], Value: word(rng.IntN(4))})
		}
		if got, want := Signature(key, u, params), referenceSignature(key, u, params); got != want {
			t.Fatalf("case %d: Signature = %q, reference = %q (key %q, url %q, params %v)", i, got, want, key, u, params)
		}
	}
}

func TestSignatureRepeatedNamesSortedAndDeduplicated(t *testing.T) {
	u := "https://h.example/cb"
	params := []Param{
		{"StatusCallbackEvent", "ringing"},
		{"CallSid", "CA1"},
		{"StatusCallbackEvent", "answered"},
		{"StatusCallbackEvent", "ringing"},
	}
	signed := u + "CallSidCA1" + "StatusCallbackEventanswered" + "StatusCallbackEventringing"
	m := hmac.New(sha1.New, []byte("tok"))
	m.Write([]byte(signed))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if got := Signature("tok", u, params); got != want {
		t.Errorf("Signature = %q, want %q (signed string %q)", got, want, signed)
	}
}

func TestSignatureLeavesOutFragmentAndCredentials(t *testing.T) {
	params := []Param{{"CallSid", "CA1"}}
	plain := Signature("k", "https://example.com/a?x=1", params)
	for _, u := range []string{
		"https://example.com/a?x=1#ct=1000&rc=2",
		"https://user:pass@example.com/a?x=1",
		"https://user:p%40ss@example.com/a?x=1#rt=300",
	} {
		if got := Signature("k", u, params); got != plain {
			t.Errorf("Signature(%q) = %q, want the plain URL's %q", u, got, plain)
		}
	}
	if Signature("k", "https://example.com/a?x=2", params) == plain {
		t.Error("a different query string signed the same")
	}
}

func BenchmarkSignature(b *testing.B) {
	params := []Param{
		{"CallSid", "CA0123456789abcdef0123456789abcdef"},
		{"AccountSid", "AC0123456789abcdef0123456789abcdef"},
		{"From", "+14158675310"}, {"To", "+18005551212"},
		{"CallStatus", "ringing"}, {"Direction", "inbound"},
		{"ApiVersion", "2010-04-01"}, {"Caller", "+14158675310"},
		{"Called", "+18005551212"}, {"SipHeader_X-Customer", "1234"},
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = AppendSignature(buf[:0], "0123456789abcdef0123456789abcdef", "https://app.example.com/voice?tenant=7", params)
	}
	if len(buf) != 28 {
		b.Fatalf("signature length %d", len(buf))
	}
}
