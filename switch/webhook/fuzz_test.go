package webhook

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the parsers that read what applications control: the
// fragment overrides and URLs they configure or put in TwiML, and the
// Set-Cookie headers and bodies they answer with. Seed corpora are in
// testdata/fuzz/FuzzXxx/.

func FuzzParseOverrides(f *testing.F) {
	f.Add("ct=1000&rt=2000&tt=3000&rc=2&rp=ct,5xx")
	f.Add("rp=all&rc=99&ct=0")
	f.Fuzz(func(t *testing.T, fragment string) {
		def := DefaultConfig().overrides()
		o := ParseOverrides(fragment, def)
		if o.Connect < minConnect || o.Connect > maxConnect ||
			o.Read < minRead || o.Read > maxRead ||
			o.Total < minTotal || o.Total > maxTotal ||
			o.Retries < 0 || o.Retries > maxRetries || o.RetryOn == 0 || o.RetryOn&^RetryAll != 0 {
			t.Fatalf("ParseOverrides(%q) out of range: %+v", fragment, o)
		}
		// The fragment never reaches the wire nor the signature.
		if tg, err := parseTarget("https://h.example/p?q=1#" + fragment); err == nil {
			if tg.fragment != fragment || strings.Contains(tg.pathQuery, "#") {
				t.Fatalf("fragment %q split as %+v", fragment, tg)
			}
			if signed := appendSignedURL(nil, tg.raw); !bytes.Equal(signed, []byte("https://h.example/p?q=1")) {
				t.Fatalf("signed URL %q", signed)
			}
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	f.Add("https://user:pw@Example.com:8443/a/b?x=1&y=%20#ct=100")
	f.Add("http://[::1]:8080/x")
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := parseTarget(raw)
		if err != nil {
			return
		}
		if tg.host == "" || tg.hostport == "" {
			t.Fatalf("%q: empty host in %+v", raw, tg)
		}
		rebuilt := tg.noFrag
		if strings.Contains(raw, "#") {
			rebuilt += "#" + tg.fragment
		}
		if rebuilt != raw {
			t.Fatalf("%q: parts rebuild %q", raw, rebuilt)
		}
		// The standard library agrees on host and port. (The fragment is
		// ours to parse, and never sent, so it is left out.)
		u, perr := url.Parse(tg.noFrag)
		if perr != nil {
			t.Fatalf("%q accepted here, url.Parse: %v", raw, perr)
		}
		if !strings.EqualFold(u.Hostname(), tg.host) || u.Port() != tg.port {
			t.Fatalf("%q: host %q port %q, url.Parse %q %q", raw, tg.host, tg.port, u.Hostname(), u.Port())
		}
		// Nothing secret or local leaks into the signed or reported URL.
		red := RedactURL(raw)
		rt, rerr := parseTarget(red)
		if rerr != nil || rt.userinfo != "" || rt.fragment != "" || strings.Contains(red, "#") ||
			rt.hostport != tg.hostport || rt.pathQuery != tg.pathQuery {
			t.Fatalf("%q redacted to %q (%+v, %v)", raw, red, rt, rerr)
		}
	})
}

func FuzzResolveURL(f *testing.F) {
	f.Add("https://app.example.com/voice/start?x=1#rt=100", "next#ct=1000")
	f.Add("https://app.example.com/a/b", "../../../c?d=e")
	f.Add("", "http://abs.example.net/a")
	f.Fuzz(func(t *testing.T, base, ref string) {
		out, err := ResolveURL(base, ref)
		if err != nil {
			return
		}
		tg, perr := parseTarget(out)
		if perr != nil {
			t.Fatalf("ResolveURL(%q, %q) = %q, which does not parse: %v", base, ref, out, perr)
		}
		// A fragment in the result comes from ref (its overrides), never
		// from base.
		if tg.fragment != "" && !strings.Contains(ref, "#") {
			t.Fatalf("ResolveURL(%q, %q) = %q inherited a fragment", base, ref, out)
		}
	})
}

func FuzzResponseBody(f *testing.F) {
	f.Add("text/plain; charset=utf-8", []byte("<Response><Say>hi</Say></Response>"))
	f.Add("text/plain", []byte("Hello there"))
	f.Add("application/xml", []byte("<?xml version='1.0'?><Response/>"))
	f.Add("audio/mpeg", []byte("ID3"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		k, ok := mediaKind([]byte(contentType))
		if ok != (k != 0) {
			t.Fatalf("mediaKind(%q) = %v, %v", contentType, k, ok)
		}
		if isTwiMLDocument(body) {
			if tb := bytes.TrimSpace(body); len(tb) == 0 || tb[0] != '<' || !bytes.Contains(body, []byte("Response")) {
				t.Fatalf("isTwiMLDocument(%q) = true", body)
			}
		}
		_ = contentTypeString([]byte(contentType))
	})
}

func FuzzSetCookie(f *testing.F) {
	f.Add("session=abc; Path=/app; Domain=example.com; Max-Age=60; Secure; HttpOnly")
	f.Add("k=v; Expires=Thu, 01 Jan 2015 00:00:00 GMT")
	f.Fuzz(func(t *testing.T, line string) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		tg, _ := parseTarget("https://a.example.com/app/voice?x=1")
		j := NewCookieJar()
		j.setCookie(&tg, []byte(line), now)
		j.setCookie(&tg, []byte(line), now) // replacing must not duplicate
		if j.Len() > 1 {
			t.Fatalf("one Set-Cookie stored %d cookies", j.Len())
		}
		hdr := j.appendCookieHeader(nil, &tg, now)
		if bytes.ContainsAny(hdr, "\r\n\x00") {
			t.Fatalf("Set-Cookie %q produced Cookie header %q", line, hdr)
		}
	})
}
