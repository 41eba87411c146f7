// Package jsonwrite appends JSON text to byte slices without reflection.
package jsonwrite

import (
	"unicode/utf8"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a quoted JSON string, escaping only what JSON requires: no HTML
// escaping, so `<` stays `<` (OpenObserve's dashboard searches stored text, and CloudTrail
// archives must read back byte for byte). Invalid UTF-8 becomes U+FFFD, as in encoding/json,
// so one bad string can never make a whole document invalid.
func AppendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; ; {
		i = jsonscan.PlainRun(s, i)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := jsonscan.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				start = i + 1
			}
			i += size
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
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
