package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringsDecodeLikeEncodingJSON(t *testing.T) {
	tests := []struct{ name, in string }{
		{"plain ascii", `"hello world"`},
		{"html escapes decode to the characters", `"\u003csensitiveDataRemoved\u003e \u0026 \u003d"`},
		{"control escapes", `"line\nnext\ttab\r\b\f \/ \\ \""`},
		{"a surrogate pair", `"\ud83d\ude00"`},
		{"a lone surrogate becomes the replacement character", `"\ud83d x"`},
		{"a reversed surrogate pair", `"\ude00\ud83d"`},
		{"multi-byte utf-8", `"héllo wörld ✓"`},
		{"a long string crossing word boundaries", `"` + string(bytes.Repeat([]byte("abcdefg"), 30)) + `\"` + string(bytes.Repeat([]byte("x"), 17)) + `"`},
		{"an empty string", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want string
			require.NoError(t, json.Unmarshal([]byte(tt.in), &want))
			for _, inPlace := range []bool{false, true} {
				buf := []byte(tt.in)
				sc := New(buf, inPlace)
				got, err := sc.String()
				require.NoError(t, err)
				assert.Equal(t, want, got, "inPlace=%v", inPlace)
				assert.Equal(t, len(tt.in), sc.Pos())
				if !inPlace {
					assert.Equal(t, tt.in, string(buf), "the input is untouched")
				}
			}
		})
	}
}

func TestMalformedInputIsAnErrorNotAPanic(t *testing.T) {
	for _, in := range []string{
		`"unterminated`, `"bad \x escape"`, `"\u12"`, "\"ctrl \x01\"", `{"a":}`, `{"a" 1}`, `[1,]`, `[1 2]`,
		`{"a":1,}`, `01`, `-`, `1.`, `1e`, `tru`, `nul`, `{`, `[`, `{"a":[{"b":`, ``,
	} {
		t.Run(in, func(t *testing.T) {
			require.False(t, json.Valid([]byte(in)), "the case is invalid JSON")
			sc := New([]byte(in), false)
			err := sc.Skip()
			assert.False(t, err == nil && sc.AtEnd(), "%q must not validate as one document", in)
		})
	}
}

func TestInvalidUTF8IsRefused(t *testing.T) {
	// encoding/json would replace the bytes; pdata strings must be valid UTF-8, so the
	// record is kept as an invalid record with its raw bytes instead.
	for _, inPlace := range []bool{false, true} {
		sc := New([]byte("\"bad \xff\""), inPlace)
		_, err := sc.String()
		assert.ErrorContains(t, err, "UTF-8")
		sc = New([]byte("\"esc \\n \xff\""), inPlace)
		_, err = sc.String()
		assert.ErrorContains(t, err, "UTF-8")
	}
	sc := New([]byte("\"bad \xff\""), false)
	assert.ErrorContains(t, sc.Skip(), "UTF-8")
}

func TestDeepNestingIsRefused(t *testing.T) {
	deep := bytes.Repeat([]byte("["), MaxDepth+10)
	sc := New(deep, false)
	assert.ErrorContains(t, sc.Skip(), "nesting")
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		in   string
		kind NumberKind
	}{
		{"0", Integer}, {"-12", Integer}, {"500.0", Decimal}, {"1.666275403e+12", Decimal}, {"1E5", Decimal}, {"-0.5e-3", Decimal},
	}
	for _, tt := range tests {
		sc := New([]byte(tt.in), false)
		lit, kind, err := sc.Number()
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.in, string(lit))
		assert.Equal(t, tt.kind, kind, tt.in)
	}
}

// FuzzSkipAgreesWithEncodingJSON checks validation against the standard library on
// arbitrary bytes; the seed corpus runs in plain go test.
func FuzzSkipAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":"c\u003c"}],"d":null,"e":true}`, `"x"`, `[]`, `{"a":"\ud83d"}`, "\"\xff\"", `1.5e3`, `{"a":1}{"b":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sc := New(bytes.Clone(in), false)
		err := sc.Skip()
		ok := err == nil && sc.AtEnd()
		if !utf8.Valid(in) {
			return // refused on purpose: see TestInvalidUTF8IsRefused
		}
		if ok != json.Valid(in) {
			t.Fatalf("Skip says %v (err %v), encoding/json says %v for %q", ok, err, json.Valid(in), in)
		}
		if ok && len(in) > 0 && bytes.TrimSpace(in)[0] == '"' {
			var want string
			require.NoError(t, json.Unmarshal(in, &want))
			for _, inPlace := range []bool{false, true} {
				sc := New(bytes.Clone(in), inPlace)
				sc.SkipSpace()
				got, err := sc.String()
				require.NoError(t, err)
				require.Equal(t, want, got)
			}
		}
	})
}

func TestIsNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "1.5", "1e5", "1E+5", "-1.25e-3", "123456789012345678901234567"} {
		assert.True(t, IsNumber(s), s)
		assert.Equal(t, IsNumber(s), IsNumber([]byte(s)), "as bytes")
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "+1", "NaN", "1_000", " 1"} {
		assert.False(t, IsNumber(s), s)
	}
}

func TestQuickStringTakesOnlyStringsWithoutEscapes(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
		pos            int // where the scanner is afterwards
	}{
		{name: "plain", in: `"QUJD" ,`, want: "QUJD", ok: true, pos: 6},
		{name: "empty", in: `""`, want: "", ok: true, pos: 2},
		{name: "bytes JSON forbids are left to the caller", in: "\"a\x01\xff\"", want: "a\x01\xff", ok: true, pos: 5},
		{name: "an escape", in: `"a\"b"`, pos: 0},
		{name: "an escape after the first quote-free run", in: `"ab\/"`, pos: 0},
		{name: "no closing quote", in: `"abc`, pos: 0},
		{name: "not a string", in: `123`, pos: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New([]byte(tc.in), false)
			got, ok := s.QuickString()
			require.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, string(got))
			assert.Equal(t, tc.pos, s.Pos())
		})
	}
}

func TestSeekReturnsToAnEarlierPosition(t *testing.T) {
	s := New([]byte(`"a\u0041" 1`), false)
	start := s.Pos()
	got, err := s.String()
	require.NoError(t, err)
	assert.Equal(t, "aA", got)
	s.Seek(start)
	again, err := s.String()
	require.NoError(t, err)
	assert.Equal(t, got, again)
	s.Seek(1 << 30)
	assert.True(t, s.AtEnd(), "seeking past the end stops at the end")
}

func TestStringOrRawAgreesWithStringBytesWithoutTouchingTheInput(t *testing.T) {
	for _, in := range []string{
		`"plain"`, `""`, `"h\u00e9llo"`, `"a\"b\\c\/d\n"`, `"\ud83d\ude00 ✓"`, `"héllo"`,
		`"unterminated`, `"bad \x escape"`, `"\u12"`, "\"ctrl \x01\"", "\"bad \xff\"", "\"esc \\n \xff\"", `x`,
		`"` + string(bytes.Repeat([]byte("abcdefg"), 30)) + `\"` + string(bytes.Repeat([]byte("x"), 17)) + `"`,
	} {
		t.Run(in, func(t *testing.T) {
			want := New([]byte(in+`:1`), false)
			wantB, wantErr := want.StringBytes()

			buf := []byte(in + `:1`)
			sc := New(buf, true)
			raw, escaped, err := sc.StringOrRaw()
			assert.Equal(t, in+`:1`, string(buf), "the input is untouched, even in place")
			if wantErr != nil {
				require.Error(t, err)
				assert.Equal(t, wantErr.Error(), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want.Pos(), sc.Pos())
			if !escaped {
				assert.Equal(t, string(wantB), string(raw))
				return
			}
			assert.Equal(t, in, string(raw), "an escaped string comes back as its JSON text")
			later := New(bytes.Clone(raw), true)
			got, err := later.String()
			require.NoError(t, err)
			assert.Equal(t, string(wantB), got)

			keys := New(buf, false)
			k, kEsc, err := keys.KeyOrRaw()
			require.NoError(t, err)
			assert.True(t, kEsc)
			assert.Equal(t, in, string(k))
		})
	}
}
