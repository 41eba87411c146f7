package cloudtrail

import (
	"strconv"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// member is one key of a JSON object and the raw text of its value.
type member struct {
	key string
	raw []byte
}

// scanMembers validates the JSON object in raw and appends its members to dst. Keys with
// escapes are copied; raw value slices alias raw. raw must hold exactly one object (with
// surrounding whitespace allowed).
func scanMembers(dst []member, raw []byte) ([]member, error) {
	sc := jsonscan.New(raw, false)
	return scanObject(&sc, dst)
}

// scanObject reads the object at the scanner's position, validating it, and appends its
// members to dst.
func scanObject(sc *jsonscan.Scanner, dst []member) ([]member, error) {
	if err := sc.Expect('{'); err != nil {
		return dst, err
	}
	for first := true; ; first = false {
		more, err := sc.More('}', first)
		if err != nil {
			return dst, err
		}
		if !more {
			return dst, nil
		}
		k, err := sc.Key()
		if err != nil {
			return dst, err
		}
		v, err := sc.Raw()
		if err != nil {
			return dst, err
		}
		dst = append(dst, member{key: k, raw: v})
	}
}

// find returns the raw value of key, or nil.
func find(ms []member, key string) []byte {
	for i := len(ms) - 1; i >= 0; i-- { // the last duplicate wins, as in the map body
		if ms[i].key == key {
			return ms[i].raw
		}
	}
	return nil
}

// rawString decodes raw as a JSON string; ok is false for any other type (null included).
func rawString(raw []byte) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	sc := jsonscan.New(raw, false)
	s, err := sc.String()
	return s, err == nil
}

// rawBool decodes raw as a JSON boolean or as a boolean string (see boolString).
func rawBool(raw []byte) (value, ok bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	if s, isStr := rawString(raw); isStr {
		return boolString(s)
	}
	return false, false
}

// boolString reads "true"/"false" in any letter case (CloudTrail writes mfaAuthenticated as a
// string; some exports write readOnly as "True"). Nothing else is taken for a boolean.
func boolString(s string) (value, ok bool) {
	switch {
	case equalFold(s, "true"):
		return true, true
	case equalFold(s, "false"):
		return false, true
	}
	return false, false
}

// rawInt decodes raw as an integer literal that fits int64.
func rawInt(raw []byte) (int64, bool) {
	sc := jsonscan.New(raw, false)
	lit, kind, err := sc.Number()
	if err != nil || kind != jsonscan.Integer || !sc.AtEnd() {
		return 0, false
	}
	n, err := strconv.ParseInt(bytesToString(lit), 10, 64)
	return n, err == nil
}

// forEachElement calls f with the index and raw text of each element of a validated array.
func forEachElement(arr []byte, f func(int, []byte)) {
	sc := jsonscan.New(arr, false)
	if !sc.Consume('[') {
		return
	}
	for i := 0; ; i++ {
		more, err := sc.More(']', i == 0)
		if err != nil || !more {
			return
		}
		raw, err := sc.Raw()
		if err != nil {
			return
		}
		f(i, raw)
	}
}

func equalFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// isObject reports whether raw holds a JSON object.
func isObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }
