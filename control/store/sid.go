package store

import (
	"crypto/rand"
	"encoding/hex"
)

// NewSID returns a new resource identifier: a two-letter prefix ("AC", "AP",
// "PN", "CA", …) and 32 lower-case hex digits from crypto/rand, the shape of
// twilio-voice.md §7.1 ("^XX[0-9a-fA-F]{32}$"). The call path, which cannot
// import this package, keeps its own copy of these few lines.
func NewSID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	var out [34]byte
	copy(out[:2], prefix)
	hex.Encode(out[2:], b[:])
	return string(out[:2+32])
}

// NewAuthToken returns a new auth token: 32 lower-case hex digits. twilio-go
// refuses passwords that are not alphanumeric, so hex is safe for every
// client.
func NewAuthToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidSID reports whether s is prefix followed by 32 hex digits (either
// case, as Twilio's pattern allows).
func ValidSID(prefix, s string) bool {
	if len(s) != 34 || s[:2] != prefix {
		return false
	}
	for i := 2; i < 34; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
