package cloudtrail

import (
	"unicode/utf8"
	"unsafe"
)

// bytesToString returns a string that aliases b. The caller guarantees b is never modified
// afterwards: every buffer this package decodes from is owned by one request and only read
// once decoding is done.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }
