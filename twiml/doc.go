// Package twiml is the TwiML voice language: it parses a document into typed
// verbs and nouns with Twilio's defaults applied, validates it with Twilio's
// error codes and line numbers, and serializes it back to XML.
//
// It imports only the standard library: no SIP, no I/O.
package twiml
