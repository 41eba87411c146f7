package firehose

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsontest"
)

// realBody is the shape of a request body, decoded the slow way to check ParseRequest.
type realBody struct {
	RequestID string `json:"requestId"`
	Timestamp int64  `json:"timestamp"`
	Records   []struct {
		Data string `json:"data"`
	} `json:"records"`
}

func TestParsesRealFirehoseBodies(t *testing.T) {
	files, err := filepath.Glob("../../testdata/firehose-requests/*/*.json")
	require.NoError(t, err)
	require.Len(t, files, 7)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			body, err := os.ReadFile(file)
			require.NoError(t, err)
			var want realBody
			require.NoError(t, json.Unmarshal(body, &want))

			req, err := ParseRequest(bytes.Clone(body), nil)
			require.NoError(t, err)
			assert.Equal(t, want.RequestID, req.RequestID)
			assert.Equal(t, want.Timestamp, req.Timestamp)
			require.Len(t, req.Records, len(want.Records))
			for i, r := range want.Records {
				data, decErr := base64.StdEncoding.DecodeString(r.Data)
				if decErr != nil {
					assert.Error(t, req.Records[i].Err, "record %d has bad base64", i)
					assert.Equal(t, r.Data, string(req.Records[i].Data), "record %d keeps its text", i)
					continue
				}
				require.NoError(t, req.Records[i].Err, "record %d", i)
				assert.Equal(t, data, req.Records[i].Data, "record %d", i)
			}
		})
	}
}

func TestMalformedEnvelopes(t *testing.T) {
	for name, body := range map[string]string{
		"not json":                `<xml/>`,
		"no records":              `{"requestId":"a","timestamp":1}`,
		"records not an array":    `{"requestId":"a","records":{}}`,
		"record without data":     `{"requestId":"a","records":[{}]}`,
		"data not a string":       `{"requestId":"a","records":[{"data":1}]}`,
		"timestamp not a number":  `{"requestId":"a","timestamp":"1","records":[]}`,
		"trailing garbage":        `{"requestId":"a","records":[]} x`,
		"truncated":               `{"requestId":"a","records":[{"data":"e30="}`,
		"requestId not a string":  `{"requestId":5,"records":[]}`,
		"an array, not an object": `[]`,
		"unterminated data":       `{"requestId":"a","records":[{"data":"e30=`,
		// Data found by the quick search and refused by base64 is checked as JSON after all.
		"control character in data": "{\"requestId\":\"a\",\"records\":[{\"data\":\"e3\x010=\"}]}",
		"invalid UTF-8 in data":     "{\"requestId\":\"a\",\"records\":[{\"data\":\"e3\xff0=\"}]}",
		"bad escape in data":        `{"requestId":"a","records":[{"data":"e3\q0="}]}`,
		"a control character in a first data that a second replaces": "{\"requestId\":\"a\",\"records\":[{\"data\":\"\x01\xff\",\"data\":\"QUFB\"}]}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRequest([]byte(body), nil)
			assert.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestARepeatedRecordsMemberReplacesTheEarlierOne(t *testing.T) {
	// As encoding/json reads it (Firehose never repeats a key).
	body := `{"requestId":"a","records":[{"data":"e30="},{"data":"e30="}],"records":[{"data":"W10="}]}`
	req, err := ParseRequest([]byte(body), nil)
	require.NoError(t, err)
	require.Len(t, req.Records, 1)
	assert.Equal(t, "[]", string(req.Records[0].Data))
}

func TestNestingInUnknownMembersIsBounded(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	ok := `{"records":[],"x":` + nested(100) + `}`
	_, err := ParseRequest([]byte(ok), nil)
	require.NoError(t, err)
	assert.True(t, isFirehoseRequest([]byte(ok)))
	deep := `{"records":[],"x":` + nested(jsonscan.MaxDepth+10) + `}`
	_, err = ParseRequest([]byte(deep), nil)
	require.ErrorIs(t, err, ErrMalformed)
	assert.False(t, isFirehoseRequest([]byte(deep)), "the oracle knows the limit")
}

func TestBadBase64KeepsTheRecordText(t *testing.T) {
	for _, bad := range []string{"abc", "!!!!", "ab=c", "a===", "e30=e30="} {
		req, err := ParseRequest([]byte(`{"requestId":"a","records":[{"data":"`+bad+`"},{"data":"e30="}]}`), nil)
		require.NoError(t, err, bad)
		assert.Error(t, req.Records[0].Err, bad)
		assert.Equal(t, bad, string(req.Records[0].Data))
		assert.Equal(t, "{}", string(req.Records[1].Data), "the next record is fine")
	}
}

func TestDataWithEscapesIsDecodedAsJSONFirst(t *testing.T) {
	// Firehose never escapes base64, but \/ and \u0041 are valid JSON for / and A.
	req, err := ParseRequest([]byte(`{"requestId":"a","records":[{"data":"e30\u003d"},{"data":"\/w=="}]}`), nil)
	require.NoError(t, err)
	require.NoError(t, req.Records[0].Err)
	assert.Equal(t, "{}", string(req.Records[0].Data))
	require.NoError(t, req.Records[1].Err)
	assert.Equal(t, []byte{0xff}, req.Records[1].Data)
}

func TestBase64ErrorsSayWhereInTheRecord(t *testing.T) {
	text := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("CloudTrail"), 1000)))
	text[9001] = '!' // past the first 4096-byte chunk
	orig := string(text)
	req, err := ParseRequest([]byte(`{"requestId":"a","records":[{"data":"`+orig+`"}]}`), nil)
	require.NoError(t, err)
	require.Error(t, req.Records[0].Err)
	assert.Contains(t, req.Records[0].Err.Error(), "illegal base64 data at input byte 9001")
	assert.Equal(t, orig, string(req.Records[0].Data), "the record keeps its text")
}

func TestBase64DecodesExactlyAsTheStandardDecoder(t *testing.T) {
	long := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("CloudTrail"), 1200)) // 16000 chars
	withAt := func(s string, i int, c byte) string { b := []byte(s); b[i] = c; return string(b) }
	for name, text := range map[string]string{
		"valid":                                 long,
		"padding ending the first chunk":        withAt(long, base64Chunk-1, '='),
		"double padding ending the first chunk": withAt(withAt(long, base64Chunk-1, '='), base64Chunk-2, '='),
		"padding ending a middle chunk, and a bad byte later": withAt(withAt(long, 2*base64Chunk-1, '='), 9000, '!'),
		"a bad byte in the last chunk":                        withAt(long, len(long)-3, '*'),
		"padding inside a chunk":                              withAt(long, 100, '='),
	} {
		t.Run(name, func(t *testing.T) {
			want, wantErr := base64.StdEncoding.DecodeString(text)
			rec := decodeRecord([]byte(text), new([base64Chunk / 4 * 3]byte))
			if wantErr != nil {
				require.Error(t, rec.Err)
				assert.Equal(t, "base64: "+wantErr.Error(), rec.Err.Error())
				assert.Equal(t, text, string(rec.Data), "the record keeps its text")
				return
			}
			require.NoError(t, rec.Err)
			assert.Equal(t, want, rec.Data)
		})
	}
}

func TestLineBreaksInBase64AreRefused(t *testing.T) {
	long := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("CloudTrail"), 1000))
	for name, text := range map[string]string{
		"one in a short record":                 "e30\n=",
		"after the padding":                     "e30=\n",
		"CRLF at the end":                       "QUJD\r\n",
		"four in the first chunk of a long one": long[:100] + "\n\n\n\n" + long[100:],
		"one in the last chunk of a long one":   long[:9000] + "\n" + long[9000:],
	} {
		t.Run(name, func(t *testing.T) {
			rec := decodeRecord([]byte(text), new([base64Chunk / 4 * 3]byte))
			require.Error(t, rec.Err)
			assert.Contains(t, rec.Err.Error(), "line break at offset")
			assert.Equal(t, text, string(rec.Data), "the record keeps its text")
		})
	}
}

func TestResponseIsExactlyWhatFirehoseReads(t *testing.T) {
	now := time.UnixMilli(1700000000123)
	rec := httptest.NewRecorder()
	WriteResponse(rec, 200, "id-\"quoted\"", now, "")
	assert.Equal(t, `{"requestId":"id-\"quoted\"","timestamp":1700000000123}`, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "55", rec.Header().Get("Content-Length"))

	long := strings.Repeat("é", MaxErrorMessage+10)
	body := AppendResponse(nil, "r", now, long)
	var got struct {
		ErrorMessage string `json:"errorMessage"`
		Timestamp    json.Number
	}
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, MaxErrorMessage, len([]rune(got.ErrorMessage)), "errorMessage is cut to 8192 characters")
	assert.Equal(t, "1700000000123", got.Timestamp.String(), "timestamp is a JSON number in milliseconds")
	assert.True(t, json.Valid(AppendResponse(nil, "r", now, "bad \xff utf8 \x01")))
}

func TestCommonAttributes(t *testing.T) {
	pairs, err := ParseCommonAttributes(`{"commonAttributes":{"env":"prod","team":"sec \u0026 ops"}}`)
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"env", "prod"}, {"team", "sec & ops"}}, pairs)
	pairs, err = ParseCommonAttributes("")
	require.NoError(t, err)
	assert.Empty(t, pairs)
	for _, bad := range []string{`{"commonAttributes":`, `{"commonAttributes":{"a":1}}`, `[]`, `{"commonAttributes":[]}`} {
		_, err := ParseCommonAttributes(bad)
		assert.Error(t, err, bad)
	}
}

func TestKeySet(t *testing.T) {
	ks := NewKeySet("current", "", "previous")
	assert.Equal(t, 2, ks.Len(), "empty keys are ignored")
	assert.True(t, ks.Match("current"))
	assert.True(t, ks.Match("previous"))
	assert.False(t, ks.Match(""))
	assert.False(t, ks.Match("curren"))
	assert.False(t, ks.Match("current "))
}

func TestDeduplicator(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := NewDeduplicator(2, time.Minute)
	assert.Equal(t, New, d.Begin("a", t0))
	assert.Equal(t, InFlight, d.Begin("a", t0), "the same request while it is processed")
	d.Done("a", true, t0)
	assert.Equal(t, Duplicate, d.Begin("a", t0.Add(time.Second)))

	assert.Equal(t, New, d.Begin("failed", t0))
	d.Done("failed", false, t0)
	assert.Equal(t, New, d.Begin("failed", t0), "a failed request is processed again")
	d.Done("failed", true, t0)

	assert.Equal(t, New, d.Begin("c", t0))
	d.Done("c", true, t0)
	assert.Equal(t, 2, d.Len(), "bounded by size")
	assert.Equal(t, New, d.Begin("a", t0), "the oldest was evicted")
	d.Done("a", true, t0)
	assert.Equal(t, New, d.Begin("c", t0.Add(2*time.Minute)), "expired after the ttl")

	off := NewDeduplicator(0, time.Minute)
	off.Done("x", true, t0)
	assert.Equal(t, New, off.Begin("x", t0), "size 0 disables it")
}

// FuzzParseRequest checks ParseRequest never panics and agrees with encoding/json and
// encoding/base64 on what it accepts; the seed corpus (real bodies) runs in plain go test.
func FuzzParseRequest(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/firehose-requests/*/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"requestId":"a","timestamp":1,"records":[{"data":"e30="},{"data":"!!"}]}`))
	for _, body := range []string{ // repeated keys, and keys encoding/json's struct fields would take
		`{"requestId":1,"requestId":"a","records":[]}`, `{"records":1,"records":[]}`,
		`{"records":[{"data":1,"data":"e30="}]}`, `{"timestamp":"x","timestamp":1,"records":[]}`,
		`{"records":[{"data":"e30="}],"RECORDS":[]}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(bytes.Clone(body), nil)
		want, isRequest := firehoseRecords(body)
		if err != nil {
			require.False(t, isRequest, "refused a body encoding/json reads as a request: %v", err)
			return
		}
		if !isRequest {
			return // e.g. repeated keys, which we accept too
		}
		require.Len(t, req.Records, len(want))
		for i, text := range want {
			data, decErr := base64.StdEncoding.DecodeString(text)
			if decErr == nil {
				require.NoError(t, req.Records[i].Err)
				require.Equal(t, data, req.Records[i].Data)
			}
		}
	})
}

// isFirehoseRequest reports whether firehoseRecords reads body as a request.
func isFirehoseRequest(body []byte) bool {
	_, ok := firehoseRecords(body)
	return ok
}

// firehoseRecords reads body with encoding/json as a request ParseRequest must accept, and
// returns its records' data: an object whose records are objects with string data, whose
// requestId (if any) is a string and whose timestamp (if any) an int64, in valid UTF-8
// (ParseRequest refuses what encoding/json would replace), nested no deeper than MaxDepth, with
// no repeated keys (keys match exactly, unlike encoding/json's struct fields).
func firehoseRecords(body []byte) ([]string, bool) {
	if !utf8.Valid(body) || jsontest.HasRepeatedKeys(body, nil, nil) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top any
	if dec.Decode(&top) != nil || dec.More() {
		return nil, false
	}
	m, ok := top.(map[string]any)
	if !ok || depthOf(top) > jsonscan.MaxDepth { // nesting past MaxDepth is refused on purpose
		return nil, false
	}
	records, ok := m["records"].([]any)
	if !ok {
		return nil, false
	}
	data := make([]string, 0, len(records))
	for _, r := range records {
		rec, ok := r.(map[string]any)
		if !ok {
			return nil, false
		}
		text, ok := rec["data"].(string)
		if !ok {
			return nil, false
		}
		data = append(data, text)
	}
	if id, has := m["requestId"]; has {
		if _, ok := id.(string); !ok {
			return nil, false
		}
	}
	if ts, has := m["timestamp"]; has {
		n, ok := ts.(json.Number)
		if !ok {
			return nil, false
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return nil, false
		}
	}
	return data, true
}

// depthOf is how deeply objects and arrays nest in v.
func depthOf(v any) int {
	deepest := 0
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			deepest = max(deepest, depthOf(e))
		}
	case []any:
		for _, e := range t {
			deepest = max(deepest, depthOf(e))
		}
	default:
		return 0
	}
	return deepest + 1
}

// FuzzDecodeRecord checks in-place decoding against the standard library: the same bytes
// when the text is valid, and the text untouched when it is not.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte("e30="), 0, byte(0))
	f.Add(bytes.Repeat([]byte("QUJD"), 3000), 5000, byte('!'))
	f.Add(bytes.Repeat([]byte("QUJD"), 3000), 11000, byte('='))
	f.Fuzz(func(t *testing.T, data []byte, at int, bad byte) {
		text := []byte(base64.StdEncoding.EncodeToString(data))
		if bad != 0 && len(text) > 0 {
			if at < 0 {
				at = -at
			}
			text[at%len(text)] = bad
		}
		want, wantErr := base64.StdEncoding.DecodeString(string(text))
		if bytes.ContainsAny(text, "\r\n") {
			wantErr = errors.New("line breaks are refused")
		}
		orig := bytes.Clone(text)
		got := decodeRecord(text, new([base64Chunk / 4 * 3]byte))
		if wantErr != nil {
			require.Error(t, got.Err)
			require.Equal(t, orig, got.Data, "the original text is kept")
			return
		}
		require.NoError(t, got.Err)
		require.Equal(t, want, got.Data)
	})
}
