package cloudtrail

import (
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

// rawBool decodes raw as a JSON boolean or as the strings "true"/"false" in any letter case
// (CloudTrail writes mfaAuthenticated as a string; some exports write readOnly as "True").
func rawBool(raw []byte) (value, ok bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	s, isStr := rawString(raw)
	if !isStr {
		return false, false
	}
	switch {
	case equalFold(s, "true"):
		return true, true
	case equalFold(s, "false"):
		return false, true
	}
	return false, false
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
