package jsonwrite

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdString encodes s the way encoding/json does without HTML escaping.
func stdString(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s))
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendStringRoundTrips(t *testing.T) {
	for _, s := range []string{
		"", "plain", "<sensitiveDataRemoved> & =", "quote \" backslash \\ slash /",
		"ctrl \x00\x01\x1f\n\r\t", "héllo ✓ 😀", strings.Repeat("abcdefgh", 9) + "\"",
		"{\n\t\"Version\": \"2012-10-17\"\n}",
	} {
		got := AppendString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(got, &back), "%q", got)
		assert.Equal(t, s, back)
		assert.NotContains(t, string(got), `\u003c`, "no HTML escaping")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff\xfe", "line\u2028sep", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("prefix"), s)
		require.True(t, bytes.HasPrefix(got, []byte("prefix")))
		got = got[len("prefix"):]
		require.True(t, json.Valid(got), "%q", got)
		if utf8.ValidString(s) {
			var back string
			require.NoError(t, json.Unmarshal(got, &back))
			require.Equal(t, s, back)
			if !strings.ContainsAny(s, "\u2028\u2029") {
				require.Equal(t, stdString(t, s), string(got), "the same bytes as encoding/json without HTML escaping")
			}
		}
	})
}

func TestAppendString(t *testing.T) {
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
		assert.Equal(t, want, string(AppendString(nil, in)), "%q", in)
		assert.Equal(t, want, string(AppendString(nil, []byte(in))), "%q as bytes", in)
	}
}

func TestAppendStringRoundTripsEveryByteAtEveryOffset(t *testing.T) {
	for c := range 256 {
		for pad := range 17 {
			in := strings.Repeat("a", pad) + string([]byte{byte(c)}) + strings.Repeat("b", 17-pad)
			out := AppendString(nil, in)
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
