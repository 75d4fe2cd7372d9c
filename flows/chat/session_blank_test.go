package chat

import (
	"reflect"
	"testing"
	"time"
)

// TestSessionBlank: blank is exactly "the fingerprint is that of no
// session", field by field, so that storeSession may tell a change from
// nothing stored without marshalling: every field but LastActive and
// FormID set alone makes a session not blank (and its fingerprint not
// "{}"), and empty but non-nil maps and slices leave it blank, as
// omitempty leaves them out.
func TestSessionBlank(t *testing.T) {
	none := string((&session{}).fingerprint())
	if none != "{}" || !(&session{}).blank() {
		t.Fatalf("zero session: fingerprint %s, blank %v; want {} and blank", none, (&session{}).blank())
	}
	ignored := map[string]bool{"LastActive": true, "FormID": true, "storedIdle": true}
	typ := reflect.TypeFor[session]()
	for i := range typ.NumField() {
		sf := typ.Field(i)
		if ignored[sf.Name] {
			continue
		}
		if !sf.IsExported() {
			t.Fatalf("field %s: unexported fields are not fingerprinted; list it in ignored or in blank", sf.Name)
		}
		for _, empty := range []bool{false, true} {
			s := &session{}
			v := reflect.ValueOf(s).Elem().Field(i)
			switch v.Kind() {
			case reflect.String:
				v.SetString("x")
			case reflect.Bool:
				v.SetBool(true)
			case reflect.Int:
				v.SetInt(1)
			case reflect.Uint64:
				v.SetUint(1)
			case reflect.Pointer:
				v.Set(reflect.New(v.Type().Elem()))
			case reflect.Map:
				v.Set(reflect.MakeMap(v.Type()))
				if !empty {
					v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v"))
				}
			case reflect.Slice:
				n := 1
				if empty {
					n = 0
				}
				v.Set(reflect.MakeSlice(v.Type(), n, n))
			default:
				t.Fatalf("field %s: kind %s not covered by this test", sf.Name, v.Kind())
			}
			wantBlank := empty && (v.Kind() == reflect.Map || v.Kind() == reflect.Slice)
			if !empty || wantBlank {
				fp := string(s.fingerprint())
				if got := s.blank(); got != wantBlank || (fp == none) != wantBlank {
					t.Errorf("field %s (empty %v): blank %v, fingerprint %s; want blank %v", sf.Name, empty, got, fp, wantBlank)
				}
			}
		}
	}
	s := &session{LastActive: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), FormID: "m1", storedIdle: true}
	if !s.blank() || string(s.fingerprint()) != none {
		t.Errorf("LastActive and FormID only: blank %v, fingerprint %s; want blank", s.blank(), s.fingerprint())
	}
}
