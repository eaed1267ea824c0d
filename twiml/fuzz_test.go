package twiml

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse (the seed corpus is in
// testdata/fuzz/FuzzParse). Parse must not panic; a failure must be an
// *Error with one of the fatal codes; every warning must carry a line; and
// a document that parses must survive parse → Bytes → parse unchanged.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := Parse(doc)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			switch te.Code {
			case CodeDocumentTooLarge, CodeParse, CodeRootNotResponse:
			default:
				t.Fatalf("fatal error with code %d: %v", te.Code, te)
			}
			if r != nil {
				t.Fatalf("Parse returned a document and an error")
			}
			return
		}
		for _, w := range r.Warnings {
			if w.Line < 1 || w.Code == 0 || w.Message == "" {
				t.Fatalf("warning without line, code or message: %+v", w)
			}
		}
		if _, err := checkRoundTrip(r); err != nil {
			t.Fatal(err)
		}
	})
}
