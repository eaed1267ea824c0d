package ng

import (
	"errors"
	"reflect"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
		err  bool
	}{
		{"i42e", int64(42), false},
		{"i-7e", int64(-7), false},
		{"4:spam", []byte("spam"), false},
		{"0:", []byte{}, false},
		{"le", []any{}, false},
		{"l4:spami1ee", []any{[]byte("spam"), int64(1)}, false},
		{"d3:cow3:moo4:spam4:eggse", Dict{"cow": []byte("moo"), "spam": []byte("eggs")}, false},
		{"i03e", nil, true},
		{"i-0e", nil, true},
		{"ie", nil, true},
		{"5:abc", nil, true},
		{"l", nil, true},
		{"d3:cowe", nil, true},
		{"di1e1:ae", nil, true},
		{"i1ei2e", nil, true},
		{"99999999:x", nil, true},
		{"x", nil, true},
	} {
		got, err := Decode([]byte(tc.in))
		if tc.err {
			if !errors.Is(err, ErrBencode) {
				t.Errorf("Decode(%q) err %v, want ErrBencode", tc.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestDecodeBounds(t *testing.T) {
	deep := ""
	for i := 0; i < 100; i++ {
		deep += "l"
	}
	if _, err := Decode([]byte(deep)); !errors.Is(err, ErrBencode) {
		t.Fatalf("deep nesting: %v", err)
	}
	many := "l"
	for i := 0; i < 5000; i++ {
		many += "i1e"
	}
	if _, err := Decode([]byte(many + "e")); !errors.Is(err, ErrBencode) {
		t.Fatalf("too many items: %v", err)
	}
}

func TestEncodeSortsKeys(t *testing.T) {
	b, err := Encode(nil, Dict{"b": int64(1), "a": []string{"x"}, "c": Dict{}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "d1:al1:xe1:bi1e1:cdee" {
		t.Fatalf("got %q", b)
	}
	if _, err := Encode(nil, 3.5); err == nil {
		t.Fatal("float encoded")
	}
}
