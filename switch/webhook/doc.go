// Package webhook is the HTTP client tandem uses to talk to applications: it
// fetches TwiML and delivers status callbacks the way Twilio does (request
// parameters, X-Twilio-Signature, timeouts, retries, fallback URLs and the
// #ct/#rt/#tt/#rc/#rp fragment overrides).
package webhook
