package cloudtrail

import (
	"fmt"
	"strconv"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// member is one key of a JSON object and the raw text of its value. When the value is an
// object that was scanned with its parent (see scanTree), its own members are
// arena[first:first+n]; otherwise n is -1.
type member struct {
	key      string
	raw      []byte
	first, n int32
}

// treeDepth is how deep scanTree records nested objects: far enough for
// envelope → detail → userIdentity → sessionContext → attributes. Deeper objects are validated
// and scanned again only if asked for.
const treeDepth = 5

// scanTree reads the object at the scanner's position, validating all of it, and appends the
// members of it and of its nested objects (down to treeDepth) to d.arena, each object's
// members contiguous. It returns where the object's own members are. Keys with escapes are
// copied; raw slices alias the input.
func (d *Decoder) scanTree(sc *jsonscan.Scanner, depth int) (first, n int32, err error) {
	if depth >= jsonscan.MaxDepth {
		return 0, 0, fmt.Errorf("nesting deeper than %d", jsonscan.MaxDepth)
	}
	if err := sc.Expect('{'); err != nil {
		return 0, 0, err
	}
	for len(d.levels) <= depth {
		d.levels = append(d.levels, nil)
	}
	buf := d.levels[depth][:0]
	defer func() { d.levels[depth] = buf[:0] }()
	for firstMember := true; ; firstMember = false {
		more, err := sc.More('}', firstMember)
		if err != nil {
			return 0, 0, err
		}
		if !more {
			break
		}
		k, err := sc.Key()
		if err != nil {
			return 0, 0, err
		}
		if sc.Peek() == '{' && depth+1 < treeDepth {
			start := sc.Pos()
			f, c, err := d.scanTree(sc, depth+1)
			if err != nil {
				return 0, 0, err
			}
			buf = append(buf, member{key: k, raw: sc.Buf()[start:sc.Pos():sc.Pos()], first: f, n: c})
			continue
		}
		v, err := sc.RawAt(depth + 1)
		if err != nil {
			return 0, 0, err
		}
		buf = append(buf, member{key: k, raw: v, n: -1})
	}
	first = int32(len(d.arena))
	d.arena = append(d.arena, buf...)
	return first, int32(len(buf)), nil
}

// findMember returns the member key (the last one when a key repeats, as in the map body).
func findMember(ms []member, key string) (member, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return ms[i], true
		}
	}
	return member{}, false
}

// find returns the raw value of key, or nil.
func find(ms []member, key string) []byte {
	m, _ := findMember(ms, key)
	return m.raw
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
