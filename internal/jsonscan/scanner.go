// Package jsonscan is a small, allocation-free JSON lexer over a byte slice the caller owns.
//
// Strings come back as Go strings that alias the input (no copy). A string with escapes is
// unescaped in place when the scanner was made with InPlace, which overwrites that part of the
// input; otherwise it is unescaped into a new allocation and the input is never modified.
// Callers must not modify the input while any returned string is in use.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Scanner reads JSON tokens from buf starting at Pos.
type Scanner struct {
	buf     []byte
	pos     int
	inPlace bool
}

// New returns a scanner over buf. With inPlace, escaped strings are decoded into buf itself.
func New(buf []byte, inPlace bool) Scanner {
	return Scanner{buf: buf, inPlace: inPlace}
}

// SyntaxError reports malformed JSON with the byte offset where it was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// ErrEOF is returned when the input ends where a value was expected.
var ErrEOF = errors.New("unexpected end of JSON input")

func (s *Scanner) errorf(format string, args ...any) error {
	if s.pos >= len(s.buf) {
		return ErrEOF
	}
	return &SyntaxError{Offset: s.pos, Msg: fmt.Sprintf(format, args...)}
}

// Pos is the offset of the next unread byte.
func (s *Scanner) Pos() int { return s.pos }

// Buf is the input.
func (s *Scanner) Buf() []byte { return s.buf }

// SkipSpace moves past JSON whitespace.
func (s *Scanner) SkipSpace() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\n', '\r', '\t':
			s.pos++
		default:
			return
		}
	}
}

// Peek skips whitespace and returns the next byte, or 0 at the end of the input.
func (s *Scanner) Peek() byte {
	s.SkipSpace()
	if s.pos >= len(s.buf) {
		return 0
	}
	return s.buf[s.pos]
}

// AtEnd reports whether only whitespace is left.
func (s *Scanner) AtEnd() bool { return s.Peek() == 0 && s.pos >= len(s.buf) }

// Consume skips whitespace and consumes c if it is next.
func (s *Scanner) Consume(c byte) bool {
	if s.Peek() == c {
		s.pos++
		return true
	}
	return false
}

// Expect skips whitespace and consumes c, or fails.
func (s *Scanner) Expect(c byte) error {
	if s.Consume(c) {
		return nil
	}
	return s.errorf("expected %q", c)
}

// More is used inside an object or array after its opening bracket: it reports whether
// another member follows, consuming the separating comma, or consumes the closing bracket.
// first is true for the first call after the opening bracket.
func (s *Scanner) More(closing byte, first bool) (bool, error) {
	c := s.Peek()
	if c == closing {
		s.pos++
		return false, nil
	}
	if first {
		return true, nil
	}
	if c != ',' {
		return false, s.errorf("expected ',' or %q", closing)
	}
	s.pos++
	return true, nil
}

// Key reads an object key and the colon after it.
func (s *Scanner) Key() (string, error) {
	if s.Peek() != '"' {
		return "", s.errorf("expected object key")
	}
	k, err := s.String()
	if err != nil {
		return "", err
	}
	if err := s.Expect(':'); err != nil {
		return "", err
	}
	return k, nil
}

// KeyOrRaw is Key with StringOrRaw's rule for a key with escapes.
func (s *Scanner) KeyOrRaw() (key []byte, escaped bool, err error) {
	if s.Peek() != '"' {
		return nil, false, s.errorf("expected object key")
	}
	if key, escaped, err = s.StringOrRaw(); err != nil {
		return nil, false, err
	}
	if err := s.Expect(':'); err != nil {
		return nil, false, err
	}
	return key, escaped, nil
}

// StringOrRaw is StringBytes that leaves escapes alone, so that the input is not modified:
// for a string with one it returns the string's whole JSON text, quotes included, with
// escaped true, after checking it as StringBytes would. New(raw, inPlace).StringBytes()
// decodes it later.
func (s *Scanner) StringOrRaw() (b []byte, escaped bool, err error) {
	if s.pos >= len(s.buf) || s.buf[s.pos] != '"' {
		return nil, false, s.errorf("expected string")
	}
	start := s.pos
	i, esc, err := s.scanPlain()
	if err != nil {
		return nil, false, err
	}
	if !esc {
		s.pos = i + 1
		return s.buf[start+1 : i : i], false, nil
	}
	if err := s.skipString(); err != nil {
		return nil, false, err
	}
	return s.buf[start:s.pos:s.pos], true, nil
}

// scanPlain reads the string whose opening quote is at Pos up to its closing quote (escape
// false) or its first backslash (escape true) and returns where that is, the bytes before it
// checked (UTF-8 only when the string ends there: the escape decoder checks the whole). Pos
// moves only on an error, to where it was found.
func (s *Scanner) scanPlain() (i int, escape bool, err error) {
	start := s.pos + 1
	ascii := true
	for i = start; i < len(s.buf); i++ {
		i = plainRun(s.buf, i)
		if i >= len(s.buf) {
			break
		}
		switch c := s.buf[i]; {
		case c == '"':
			if !ascii && !utf8.Valid(s.buf[start:i]) {
				return 0, false, s.errorf("invalid UTF-8 in string")
			}
			return i, false, nil
		case c == '\\':
			return i, true, nil
		case c < 0x20:
			s.pos = i
			return 0, false, s.errorf("control character in string")
		case c >= 0x80:
			ascii = false
		}
	}
	s.pos = len(s.buf)
	return 0, false, ErrEOF
}

// InPlace tells whether the scanner decodes escaped strings into its input.
func (s *Scanner) InPlace() bool { return s.inPlace }

// String reads a JSON string (the next byte must be '"') and returns its decoded value.
func (s *Scanner) String() (string, error) {
	b, err := s.StringBytes()
	if err != nil {
		return "", err
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// QuickString is StringBytes for long strings whose bytes the caller validates itself (base64
// text, whose alphabet excludes every byte JSON forbids raw): it finds the closing quote with a
// vectorised search and does not check for control characters or invalid UTF-8. It returns
// false, Pos unchanged, when the string holds a backslash or has no end; StringBytes then gives
// the exact answer. A caller whose own check fails should Seek back and ask StringBytes whether
// the string was malformed JSON in the first place.
func (s *Scanner) QuickString() ([]byte, bool) {
	if s.pos >= len(s.buf) || s.buf[s.pos] != '"' {
		return nil, false
	}
	start := s.pos + 1
	n := bytes.IndexByte(s.buf[start:], '"')
	if n < 0 {
		return nil, false
	}
	b := s.buf[start : start+n : start+n]
	if bytes.IndexByte(b, '\\') >= 0 {
		return nil, false
	}
	s.pos = start + n + 1
	return b, true
}

// Seek moves the scanner to pos, a position it returned from Pos.
func (s *Scanner) Seek(pos int) { s.pos = min(max(pos, 0), len(s.buf)) }

// StringBytes is String returning the decoded bytes (aliasing the input unless copied).
func (s *Scanner) StringBytes() ([]byte, error) {
	if s.pos >= len(s.buf) || s.buf[s.pos] != '"' {
		return nil, s.errorf("expected string")
	}
	start := s.pos + 1
	i, esc, err := s.scanPlain()
	if err != nil {
		return nil, err
	}
	if esc {
		return s.escapedString(start, i)
	}
	s.pos = i + 1
	return s.buf[start:i:i], nil
}

// escapedString decodes a string whose first escape is at esc.
func (s *Scanner) escapedString(start, esc int) ([]byte, error) {
	// Find the closing quote first, validating as we go, so the decoded length is bounded.
	var out []byte
	if s.inPlace {
		out = s.buf[start:esc]
	} else {
		out = make([]byte, esc-start, esc-start+32)
		copy(out, s.buf[start:esc])
	}
	i := esc
	for i < len(s.buf) {
		c := s.buf[i]
		switch {
		case c == '"':
			s.pos = i + 1
			if !utf8.Valid(out) {
				s.pos = start - 1
				return nil, s.errorf("invalid UTF-8 in string")
			}
			return out[:len(out):len(out)], nil
		case c < 0x20:
			s.pos = i
			return nil, s.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.buf) {
			s.pos = len(s.buf)
			return nil, ErrEOF
		}
		switch s.buf[i+1] {
		case '"', '\\', '/':
			out = append(out, s.buf[i+1])
			i += 2
		case 'b':
			out = append(out, '\b')
			i += 2
		case 'f':
			out = append(out, '\f')
			i += 2
		case 'n':
			out = append(out, '\n')
			i += 2
		case 'r':
			out = append(out, '\r')
			i += 2
		case 't':
			out = append(out, '\t')
			i += 2
		case 'u':
			r, ok := hex4(s.buf, i+2)
			if !ok {
				s.pos = i
				return nil, s.errorf("invalid \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok2 := lowSurrogate(s.buf, i); ok2 {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.pos = i
			return nil, s.errorf("invalid escape")
		}
	}
	s.pos = len(s.buf)
	return nil, ErrEOF
}

func lowSurrogate(b []byte, i int) (rune, bool) {
	if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
		return hex4(b, i+2)
	}
	return 0, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// NumberKind tells what a number literal looks like.
type NumberKind uint8

const (
	// Integer is a literal with neither fraction nor exponent.
	Integer NumberKind = iota
	// Decimal has a fraction or an exponent.
	Decimal
)

// Number reads a number literal and returns its text (aliasing the input) and kind.
func (s *Scanner) Number() ([]byte, NumberKind, error) {
	end := NumberEnd(s.buf, s.pos)
	if end == s.pos {
		return nil, 0, s.errorf("invalid number")
	}
	lit := s.buf[s.pos:end:end]
	s.pos = end
	kind := Integer
	for _, c := range lit {
		if c == '.' || c == 'e' || c == 'E' {
			kind = Decimal
			break
		}
	}
	return lit, kind, nil
}

// Literal reads true, false or null and returns the byte that starts it.
func (s *Scanner) Literal() (byte, error) {
	rest := s.buf[s.pos:]
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(rest) >= len(lit) && string(rest[:len(lit)]) == lit {
			s.pos += len(lit)
			return lit[0], nil
		}
	}
	return 0, s.errorf("invalid literal")
}

// MaxDepth bounds the nesting of arrays and objects Skip and callers accept.
const MaxDepth = 512

// Skip reads and validates one value of any type without decoding it.
func (s *Scanner) Skip() error { return s.skip(0) }

func (s *Scanner) skip(depth int) error {
	switch c := s.Peek(); c {
	case '"':
		return s.skipString()
	case '{', '[':
		if depth >= MaxDepth {
			return s.errorf("nesting deeper than %d", MaxDepth)
		}
		s.pos++
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		for first := true; ; first = false {
			more, err := s.More(closing, first)
			if err != nil || !more {
				return err
			}
			if c == '{' {
				if s.Peek() != '"' {
					return s.errorf("expected object key")
				}
				if err := s.skipString(); err != nil {
					return err
				}
				if err := s.Expect(':'); err != nil {
					return err
				}
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case 't', 'f', 'n':
		_, err := s.Literal()
		return err
	case 0:
		if s.pos >= len(s.buf) {
			return ErrEOF
		}
		fallthrough // a NUL byte, not the end
	default:
		_, _, err := s.Number()
		return err
	}
}

// skipString validates a string without decoding it.
func (s *Scanner) skipString() error {
	i := s.pos + 1
	ascii := true
	for i < len(s.buf) {
		i = plainRun(s.buf, i)
		if i >= len(s.buf) {
			break
		}
		c := s.buf[i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(s.buf[s.pos+1:i]) {
				return s.errorf("invalid UTF-8 in string")
			}
			s.pos = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(s.buf) {
				s.pos = len(s.buf)
				return ErrEOF
			}
			switch s.buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(s.buf, i+2); !ok {
					s.pos = i
					return s.errorf("invalid \\u escape")
				}
				i += 6
			default:
				s.pos = i
				return s.errorf("invalid escape")
			}
		case c < 0x20:
			s.pos = i
			return s.errorf("control character in string")
		default:
			if c >= 0x80 {
				ascii = false
			}
			i++
		}
	}
	s.pos = len(s.buf)
	return ErrEOF
}

// Raw skips one value and returns its text, aliasing the input.
func (s *Scanner) Raw() ([]byte, error) { return s.RawAt(0) }

// RawAt is Raw for a value nested depth levels below its document's root, so that MaxDepth
// bounds the nesting from the root, as a decoder of the whole document counts it.
func (s *Scanner) RawAt(depth int) ([]byte, error) {
	s.SkipSpace()
	start := s.pos
	if err := s.skip(depth); err != nil {
		return nil, err
	}
	return s.buf[start:s.pos:s.pos], nil
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// PlainRun returns the index of the first byte at or after i that ends a run of plain JSON
// string bytes: printable ASCII other than '"' and '\\' (a control character, a quote, a
// backslash or a non-ASCII byte ends it), or len(s). It looks at eight bytes at a time.
func PlainRun[S ~string | ~[]byte](s S, i int) int {
	// A string header and a slice header both start with the data pointer and the length.
	str := *(*string)(unsafe.Pointer(&s))
	return plainRun(unsafe.Slice(unsafe.StringData(str), len(str)), i)
}

func plainRun(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote := w ^ (ones * '"')
		backslash := w ^ (ones * '\\')
		special := ((quote - ones) &^ quote) | ((backslash - ones) &^ backslash) | (w - ones*0x20) | w
		if special &= highs; special != 0 {
			// The lowest flagged byte is a real one: borrows only flag bytes above it.
			return i + bits.TrailingZeros64(special)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// DecodeRune is utf8.DecodeRune for a string or a byte slice, without converting either.
func DecodeRune[S ~string | ~[]byte](s S) (rune, int) {
	str := *(*string)(unsafe.Pointer(&s)) // see PlainRun
	return utf8.DecodeRuneInString(str)
}

// NumberEnd returns the end of the JSON number literal that starts at s[i], or i when none does.
func NumberEnd[S ~string | ~[]byte](s S, i int) int {
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return start
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return start
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return start
		}
	}
	return i
}

// IsNumber reports whether s is exactly one JSON number literal.
func IsNumber[S ~string | ~[]byte](s S) bool {
	return len(s) > 0 && NumberEnd(s, 0) == len(s)
}
