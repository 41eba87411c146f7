// Package jsonwrite appends JSON text to byte slices without reflection.
package jsonwrite

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string without HTML escaping. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plainJSON8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Bit tricks over 8 bytes at once (one per byte lane).
const (
	lanesLSB = 0x0101010101010101
	lanesMSB = 0x8080808080808080
)

// plainJSON8 reports whether the 8 bytes of s are printable ASCII other than '"' and '\\',
// which a JSON string holds as they are. Each test below is exact for "some byte of x":
// (x - n·LSB) &^ x & MSB is non-zero exactly when some byte is below n (for n ≤ 128), and a
// byte equal to c is a zero byte of x ^ c·LSB.
func plainJSON8(s string) bool {
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	control := (x - 0x20*lanesLSB) &^ x
	q := x ^ '"'*lanesLSB
	quote := (q - lanesLSB) &^ q
	b := x ^ '\\'*lanesLSB
	backslash := (b - lanesLSB) &^ b
	return (x|control|quote|backslash)&lanesMSB == 0
}
