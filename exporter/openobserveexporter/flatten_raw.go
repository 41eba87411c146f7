package openobserveexporter

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// The raw walker flattens a CloudTrail record kept as its original JSON text (the receiver's
// body_format raw) straight from the text, with the same rules as the map walker. Number
// literals are copied as written. It validates as it goes: anything that is not one JSON
// object makes it fail, and the record is then sent generically, its text in "body".

// maxRawNesting bounds recursion on hostile input.
const maxRawNesting = 512

// flattenRaw writes the members of the JSON object text s as the row's top-level fields.
func (r *rowEncoder) flattenRaw(s string) bool {
	r.raw, r.rpos = s, 0
	defer func() { r.raw = "" }()
	r.skipWS()
	if r.peek() != '{' || !r.rawObject(0) {
		return false
	}
	r.skipWS()
	return r.rpos == len(r.raw)
}

func (r *rowEncoder) peek() byte {
	if r.rpos < len(r.raw) {
		return r.raw[r.rpos]
	}
	return 0
}

func (r *rowEncoder) skipWS() {
	for r.rpos < len(r.raw) {
		switch r.raw[r.rpos] {
		case ' ', '\t', '\n', '\r':
			r.rpos++
		default:
			return
		}
	}
}

// rawObject flattens the object at r.rpos (on '{'); its members are at depth+1.
func (r *rowEncoder) rawObject(depth int) bool {
	if depth > maxRawNesting {
		return false
	}
	r.rpos++
	base := len(r.key)
	r.skipWS()
	if r.peek() == '}' {
		r.rpos++
		return true
	}
	for {
		r.skipWS()
		k, clean, ok := r.rawString()
		if !ok {
			return false
		}
		if clean {
			r.key = appendChildKey(r.key, base, k)
		} else {
			if r.strBuf, ok = decodeJSONString(r.strBuf[:0], k); !ok {
				return false
			}
			r.key = appendChildKey(r.key, base, r.strBuf)
		}
		r.skipWS()
		if r.peek() != ':' {
			return false
		}
		r.rpos++
		r.skipWS()
		if !r.rawValue(depth + 1) {
			return false
		}
		r.skipWS()
		switch r.peek() {
		case ',':
			r.rpos++
		case '}':
			r.rpos++
			r.key = r.key[:base]
			return true
		default:
			return false
		}
	}
}

// skipEmpty moves past the empty object or array at r.rpos ("{}" or "[]", white space allowed
// inside), whose closing byte is closing, and reports whether there was one.
func (r *rowEncoder) skipEmpty(closing byte) bool {
	j := r.rpos + 1
	for j < len(r.raw) && (r.raw[j] == ' ' || r.raw[j] == '\t' || r.raw[j] == '\n' || r.raw[j] == '\r') {
		j++
	}
	if j < len(r.raw) && r.raw[j] == closing {
		r.rpos = j + 1
		return true
	}
	return false
}

// rawValue writes the value at r.rpos, at the given depth, under the column name in r.key.
func (r *rowEncoder) rawValue(depth int) bool {
	switch c := r.peek(); c {
	case '{':
		if r.skipEmpty('}') {
			return true // empty objects are dropped
		}
		if (r.cloudTrail && depth == 2 && string(r.key) == colSessionContext) || (r.level > 0 && depth >= r.level) {
			return r.rawJSONField()
		}
		return r.rawObject(depth)
	case '[':
		if r.skipEmpty(']') {
			return true // empty arrays are dropped, as OpenObserve's own flattening drops them
		}
		return r.rawJSONField()
	case '"':
		s, clean, ok := r.rawString()
		if !ok {
			return false
		}
		timeField := r.cloudTrail && depth == 1 && string(r.key) == colEventTime
		if clean {
			if timeField {
				r.eventTime, r.hasTime = parseEventTime(s)
			}
			r.beginField()
			r.buf = append(r.buf, '"')
			r.buf = append(r.buf, s...)
			r.buf = append(r.buf, '"')
			r.endField()
			return true
		}
		if r.strBuf, ok = decodeJSONString(r.strBuf[:0], s); !ok {
			return false
		}
		if timeField {
			r.eventTime, r.hasTime = parseEventTime(r.strBuf)
		}
		r.beginField()
		r.buf = jsonwrite.AppendString(r.buf, r.strBuf)
		r.endField()
		return true
	case 't', 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if !strings.HasPrefix(r.raw[r.rpos:], lit) {
			return false
		}
		r.rpos += len(lit)
		r.writeRaw(lit)
		return true
	case 'n':
		if !strings.HasPrefix(r.raw[r.rpos:], "null") {
			return false
		}
		r.rpos += 4 // nulls are dropped
		return true
	default:
		end := jsonscan.NumberEnd(r.raw, r.rpos)
		if end == r.rpos {
			return false
		}
		r.writeRaw(r.raw[r.rpos:end])
		r.rpos = end
		return true
	}
}

// rawJSONField writes the value at r.rpos as compact JSON text.
func (r *rowEncoder) rawJSONField() bool {
	var ok bool
	if r.scratch, ok = r.rawCompact(r.scratch[:0], 0); !ok {
		return false
	}
	r.writeJSONText(r.scratch)
	return true
}

// rawCompact appends the value at r.rpos without whitespace, strings re-escaped canonically.
func (r *rowEncoder) rawCompact(dst []byte, nest int) ([]byte, bool) {
	if nest > maxRawNesting {
		return dst, false
	}
	ok := true
	switch c := r.peek(); c {
	case '{', '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		r.rpos++
		dst = append(dst, c)
		r.skipWS()
		if r.peek() == closing {
			r.rpos++
			return append(dst, closing), true
		}
		for {
			r.skipWS()
			if c == '{' {
				if dst, ok = r.rawCompactString(dst); !ok {
					return dst, false
				}
				r.skipWS()
				if r.peek() != ':' {
					return dst, false
				}
				r.rpos++
				dst = append(dst, ':')
				r.skipWS()
			}
			if dst, ok = r.rawCompact(dst, nest+1); !ok {
				return dst, false
			}
			r.skipWS()
			switch r.peek() {
			case ',':
				r.rpos++
				dst = append(dst, ',')
			case closing:
				r.rpos++
				return append(dst, closing), true
			default:
				return dst, false
			}
		}
	case '"':
		return r.rawCompactString(dst)
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if strings.HasPrefix(r.raw[r.rpos:], lit) {
				r.rpos += len(lit)
				return append(dst, lit...), true
			}
		}
		return dst, false
	default:
		end := jsonscan.NumberEnd(r.raw, r.rpos)
		if end == r.rpos {
			return dst, false
		}
		dst = append(dst, r.raw[r.rpos:end]...)
		r.rpos = end
		return dst, true
	}
}

func (r *rowEncoder) rawCompactString(dst []byte) ([]byte, bool) {
	s, clean, ok := r.rawString()
	if !ok {
		return dst, false
	}
	if clean {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"'), true
	}
	if r.strBuf, ok = decodeJSONString(r.strBuf[:0], s); !ok {
		return dst, false
	}
	return jsonwrite.AppendString(dst, r.strBuf), true
}

// rawString reads the string token at r.rpos and returns its content between the quotes.
// clean reports that the content can be copied as is: no escapes, no control characters,
// valid UTF-8.
func (r *rowEncoder) rawString() (s string, clean, ok bool) {
	if r.peek() != '"' {
		return "", false, false
	}
	clean = true
	ascii := true
	for i := r.rpos + 1; i < len(r.raw); {
		i = jsonscan.PlainRun(r.raw, i)
		if i >= len(r.raw) {
			break
		}
		c := r.raw[i]
		switch {
		case c == '"':
			s = r.raw[r.rpos+1 : i]
			r.rpos = i + 1
			if !ascii && clean && !utf8.ValidString(s) {
				clean = false
			}
			return s, clean, true
		case c == '\\':
			clean = false
			i += 2
			continue
		case c < 0x20:
			return "", false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		i++
	}
	return "", false, false
}

// decodeJSONString appends the value of the JSON string content s (between the quotes).
// Invalid UTF-8 is kept; appendJSONString replaces it when the value is written.
func decodeJSONString[S ~string | ~[]byte](dst []byte, s S) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return dst, false
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r1, ok := hex4(s, i+2)
			if !ok {
				return dst, false
			}
			i += 6
			switch {
			case utf16.IsSurrogate(r1) && r1 < 0xdc00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u':
				r2, ok := hex4(s, i+2)
				if !ok {
					return dst, false
				}
				if combined := utf16.DecodeRune(r1, r2); combined != utf8.RuneError {
					r1 = combined
					i += 6
				} else {
					r1 = utf8.RuneError
				}
			case utf16.IsSurrogate(r1):
				r1 = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r1)
			continue
		default:
			return dst, false
		}
		i += 2
	}
	return dst, true
}

func hex4[S ~string | ~[]byte](s S, at int) (rune, bool) {
	if at+4 > len(s) {
		return 0, false
	}
	var v rune
	for i := at; i < at+4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
