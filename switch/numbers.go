package callswitch

import (
	"strings"

	"tandem/sipstack"
)

// normalizeNumber turns a dialled number as written in TwiML or an INVITE
// into E.164 where it can (§2.4 accepts "(415) 555-1212"): visual
// separators are dropped, a 10-digit number is taken as North American, an
// 11-digit one starting with 1 likewise. Anything else is returned with its
// separators removed.
func normalizeNumber(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return s // not a phone number: leave it alone
		}
	}
	n := b.String()
	if strings.HasPrefix(n, "+") {
		return n
	}
	switch {
	case len(n) == 10:
		return "+1" + n
	case len(n) == 11 && n[0] == '1':
		return "+" + n
	}
	return n
}

// isE164 reports whether s is "+" and 2–15 digits (ITU-T E.164).
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isPhoneLike reports whether a SIP user part is a telephone number
// (optional "+", digits and visual separators).
func isPhoneLike(s string) bool {
	if s == "" {
		return false
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 3
}

// twilioAddress is how Twilio reports a SIP From or To (§3.2): the number
// when the user part is one, "anonymous" for a withheld caller, else the SIP
// URI.
func twilioAddress(a sipstack.Address) string {
	switch {
	case isPhoneLike(a.User):
		return normalizeNumber(a.User)
	case strings.EqualFold(a.User, "anonymous") || strings.EqualFold(a.User, "unknown"):
		return strings.ToLower(a.User)
	case a.URI != "":
		return a.URI
	}
	return a.User
}

// sipUser is the user part to put in the From of an outgoing INVITE for a
// Twilio-style caller ID (a number, client:alice, or sip:user@host).
func sipUser(from string) string {
	switch {
	case strings.HasPrefix(from, "client:"):
		return strings.TrimPrefix(from, "client:")
	case strings.HasPrefix(from, "sip:") || strings.HasPrefix(from, "sips:"):
		rest := from[strings.IndexByte(from, ':')+1:]
		if user, _, ok := strings.Cut(rest, "@"); ok {
			return user
		}
		return ""
	}
	return from
}

// isXHeader reports whether a header is an X- header: the only headers of a
// callee's responses reported to applications (§6).
func isXHeader(name string) bool {
	return len(name) > 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-'
}

// isReportedInbound reports whether a header of an inbound INVITE reaches
// the application as SipHeader_*: X- headers and User-to-User (§3.3).
func isReportedInbound(name string) bool {
	return isXHeader(name) || strings.EqualFold(name, "User-to-User")
}
