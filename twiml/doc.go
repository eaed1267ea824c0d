// Package twiml is the TwiML voice language: it parses a document into typed
// verbs and nouns with Twilio's defaults applied, validates it with Twilio's
// error codes and line numbers, and serializes it back to XML.
//
// It imports only the standard library: no SIP, no I/O.
//
// # Parsing
//
// Parse returns a *Response whose Verbs are typed values (*Say, *Dial, …) in
// document order. Every element records the line of its start tag in Line.
//
// Parse fails only where Twilio cannot run the document at all: a body over
// 64 kB (11750, checked before parsing), malformed XML (12100) and a root
// other than <Response> (12102). The error is an *Error with Code, Line and
// Message. Everything else Twilio reports as a warning and runs past, and so
// does Parse: unknown elements are skipped and unknown attributes ignored
// (12200), and an invalid attribute value is replaced by the attribute's
// default with the verb's 13xxx code (Twilio's dictionary lists 13210–13910 as
// warnings). The warnings are in Response.Warnings, each with its line.
// ParseStrict turns the first warning into an error, for checking documents
// before they are stored.
//
// Parse and Bytes are safe for concurrent use; a Response is not shared by
// the package once returned.
//
// # Values
//
//   - Durations are time.Duration: whole seconds in TwiML (Dial timeout,
//     Pause length, …), milliseconds for the machine-detection thresholds.
//   - Booleans are bool; enumerations are typed string constants
//     (DialRecordFromAnswer, RejectBusy, …); space-separated event lists are
//     bit sets (CallEvents, RecordingEvents, ConferenceEvents, GatherInput).
//   - URLs are strings as written; relative URLs are resolved by the caller
//     against the document's URL.
//   - Methods are "GET" or "POST" (MethodGET, MethodPOST).
//   - Where an absent attribute means something other than an empty one, the
//     field is a *string that is nil when absent: Dial, Enqueue, Connect,
//     Refer and Start action (absent: continue with the next verb), and
//     Conference and Enqueue waitUrl (absent: Twilio's hold music; empty:
//     silence).
//   - Say.Voice is empty when absent: the account's default voice applies.
//   - Elements Twilio knows but tandem does not model (the legacy verbs Sms,
//     Echo, Pay, Prompt and top-level Queue; Dial's Sim and WhatsApp; Start's
//     Siprec, Transcription and Recording; Connect's nouns other than Stream)
//     are kept as *Element with their attributes, text and children.
//
// # Building
//
// The New functions (NewDial, NewNumber, NewSay, …) return values with
// Twilio's defaults; set fields, then write the document with Bytes, which
// leaves out attributes equal to their defaults. Parse of Bytes gives back
// the same values (lines aside).
package twiml
