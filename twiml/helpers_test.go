package twiml

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// stripLines zeroes every Pos in v (a value reached through pointers,
// slices and interfaces), so that values parsed from different layouts of
// the same document compare equal.
func stripLines(v any) {
	stripValue(reflect.ValueOf(v))
}

var posType = reflect.TypeOf(Pos{})

func stripValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			stripValue(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			stripValue(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == posType {
			if v.CanSet() {
				v.Set(reflect.Zero(posType))
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			stripValue(v.Field(i))
		}
	}
}

// mustParse parses doc and fails the test on error.
func mustParse(t *testing.T, doc string) *Response {
	t.Helper()
	r, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v\ndocument:\n%s", err, clip(doc))
	}
	return r
}

// codes lists the warning codes of r, for messages.
func codes(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// roundTrip checks parse → Bytes → parse gives the same verbs, and that
// Bytes is stable on the second round. It returns the serialized document.
func roundTrip(t testing.TB, r *Response) []byte {
	t.Helper()
	b, err := checkRoundTrip(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRoundTrip is roundTrip's check as an error, for property tests and
// the fuzz target. It zeroes the lines of r.
func checkRoundTrip(r *Response) ([]byte, error) {
	b1, err := r.Bytes()
	if err != nil {
		return nil, fmt.Errorf("Bytes: %w", err)
	}
	r2, err := Parse(b1)
	if err != nil {
		return nil, fmt.Errorf("Parse(Bytes()): %w\n%s", err, b1)
	}
	stripLines(r)
	stripLines(r2)
	if !reflect.DeepEqual(r.Verbs, r2.Verbs) {
		b2, _ := r2.Bytes()
		return nil, fmt.Errorf("round trip changed the document\nfirst:  %s\nsecond: %s", b1, b2)
	}
	b2, err := r2.Bytes()
	if err != nil {
		return nil, fmt.Errorf("Bytes (second): %w", err)
	}
	if !bytes.Equal(b1, b2) {
		return nil, fmt.Errorf("Bytes is not stable:\n%s\n%s", b1, b2)
	}
	return b1, nil
}

func mustBytes(t testing.TB, r *Response) string {
	b, err := r.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	return string(b)
}
