package openobserveexporter

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendJSONString(t *testing.T) {
	tests := map[string]string{
		"":                                `""`,
		"plain ascii text of some length": `"plain ascii text of some length"`,
		`quote " and \ backslash`:         `"quote \" and \\ backslash"`,
		"ctl \n\r\t\b\f\x00\x1f end":      `"ctl \n\r\t\b\f\u0000\u001f end"`,
		"<html> & co":                     `"<html> & co"`,
		"héllo wörld, 😀 ok":               `"héllo wörld, 😀 ok"`,
		"bad \xff utf8 \xc3":              `"bad \ufffd utf8 \ufffd"`,
		"\u2028":                          "\"\u2028\"",
	}
	for in, want := range tests {
		assert.Equal(t, want, string(appendJSONString(nil, in)), "%q", in)
		assert.Equal(t, want, string(appendJSONString(nil, []byte(in))), "%q as bytes", in)
	}
}

func TestAppendJSONStringRoundTripsEveryByteAtEveryOffset(t *testing.T) {
	for c := range 256 {
		for pad := range 17 {
			in := strings.Repeat("a", pad) + string([]byte{byte(c)}) + strings.Repeat("b", 17-pad)
			out := appendJSONString(nil, in)
			require.True(t, json.Valid(out), "%q", out)
			var back string
			require.NoError(t, json.Unmarshal(out, &back))
			want := in
			if !utf8.ValidString(in) {
				want = strings.ToValidUTF8(in, "\ufffd")
			}
			require.Equal(t, want, back)
		}
	}
}

func TestAppendJSONFloat(t *testing.T) {
	for f, want := range map[float64]string{500: "500.0", 0.5: "0.5", 1666275403000: "1666275403000.0", 1e21: "1e+21", 1e-7: "1e-07", -2: "-2.0", 0: "0.0"} {
		assert.Equal(t, want, string(appendJSONFloat(nil, f)))
	}
}

func TestIsJSONNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "1.5", "1e5", "1E+5", "-1.25e-3", "123456789012345678901234567"} {
		assert.True(t, isJSONNumber(s), s)
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "+1", "NaN", "1_000", " 1"} {
		assert.False(t, isJSONNumber(s), s)
	}
}
