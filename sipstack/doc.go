// Package sipstack is tandem's SIP layer on github.com/emiago/sipgo: listeners,
// admission, dialogs as UAS and UAC, CANCEL, re-INVITE, REFER/NOTIFY,
// registration, digest authentication and SDP offer/answer. It knows nothing of
// TwiML.
package sipstack
