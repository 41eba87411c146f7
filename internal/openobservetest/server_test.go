package openobservetest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type answer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  []struct {
		Name       string `json:"name"`
		Successful int    `json:"successful"`
		Failed     int    `json:"failed"`
		Error      string `json:"error"`
	} `json:"status"`
}

// post sends body to path with the default credentials unless auth is given.
func post(t *testing.T, s *Server, path, body string, header map[string]string) (int, answer, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Basic "+BasicToken(DefaultUser, DefaultPassword))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a answer
	if resp.Header.Get("Content-Type") == "application/json" {
		require.NoError(t, json.Unmarshal(raw, &a), "%s", raw)
	}
	return resp.StatusCode, a, resp.Header
}

func ingestNow(t *testing.T, s *Server, body string) (int, answer) {
	t.Helper()
	status, a, _ := post(t, s, "/api/default/logs/_json", body, nil)
	return status, a
}

func TestAuthentication(t *testing.T) {
	s := NewServer(t, Options{Credentials: map[string]string{"a@example.com": "token", "b@example.com": "pw"}, Organizations: []string{"default"}})
	tests := []struct {
		name   string
		auth   string
		path   string
		status int
	}{
		{"a known user and secret is accepted", "Basic " + BasicToken("a@example.com", "token"), "/api/default/s/_json", 200},
		{"the scheme is case-insensitive", "basic " + BasicToken("b@example.com", "pw"), "/api/default/s/_json", 200},
		{"a wrong secret is refused", "Basic " + BasicToken("a@example.com", "pw"), "/api/default/s/_json", 401},
		{"an unknown user is refused", "Basic " + BasicToken("c@example.com", "token"), "/api/default/s/_json", 401},
		{"no credentials are refused", "", "/api/default/s/_json", 401},
		{"bearer tokens are refused", "Bearer token", "/api/default/s/_json", 401},
		{"an organization not served is forbidden", "Basic " + BasicToken("a@example.com", "token"), "/api/other/s/_json", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.URL()+tt.path, strings.NewReader(`{"a":1}`))
			require.NoError(t, err)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
		})
	}
	assert.Equal(t, 2, s.RowCount("default", "s"))
}

func TestOnlyIngestionRoutesExist(t *testing.T) {
	s := NewServer(t, Options{})
	resp, err := http.Get(s.URL() + "/api/default/s/_json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	status, _, _ := post(t, s, "/aws/default/s/_kinesis_firehose", `{}`, nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func compress(t *testing.T, encoding string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch encoding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		require.NoError(t, err)
		w = zw
	}
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestContentEncodings(t *testing.T) {
	s := NewServer(t, Options{})
	body := []byte(`[{"n":1},{"n":2}]`)
	for _, enc := range []string{"gzip", "deflate", "zstd"} {
		t.Run(enc+" bodies are decoded", func(t *testing.T) {
			status, a, _ := post(t, s, "/api/default/"+enc+"/_json", string(compress(t, enc, body)), map[string]string{"Content-Encoding": enc})
			assert.Equal(t, 200, status)
			assert.Equal(t, 2, a.Status[0].Successful)
		})
	}
	t.Run("an unknown encoding is 415", func(t *testing.T) {
		status, _, _ := post(t, s, "/api/default/x/_json", string(body), map[string]string{"Content-Encoding": "br"})
		assert.Equal(t, http.StatusUnsupportedMediaType, status)
	})
	t.Run("a corrupt body is 400", func(t *testing.T) {
		status, _, _ := post(t, s, "/api/default/x/_json", "not gzip", map[string]string{"Content-Encoding": "gzip"})
		assert.Equal(t, http.StatusBadRequest, status)
	})
}

func TestBodyLimitOnTheWireAndDecoded(t *testing.T) {
	s := NewServer(t, Options{MaxBodyBytes: 1000})
	big := `[{"a":"` + strings.Repeat("x", 2000) + `"}]`
	status, _, _ := post(t, s, "/api/default/x/_json", big, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	zipped := compress(t, "gzip", []byte(big))
	require.Less(t, len(zipped), 1000)
	status, _, _ = post(t, s, "/api/default/x/_json", string(zipped), map[string]string{"Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, "the limit applies again once decoded")
	assert.Zero(t, s.RowCount("default", "x"))
}

func TestInvalidJSONIs400(t *testing.T) {
	s := NewServer(t, Options{})
	for _, body := range []string{``, `{`, `[{"a":1}] x`, `{"a":1}{"b":2}`} {
		status, a := ingestNow(t, s, body)
		assert.Equal(t, http.StatusBadRequest, status, body)
		assert.Equal(t, 400, a.Code)
	}
}

func TestFlatteningRules(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		level int
		want  Row
	}{
		{"keys are lower-cased and other characters become underscores", `{"Event-Name":"a","x.y z":1,"café":true}`, 3,
			Row{"event_name": "a", "x_y_z": json.Number("1"), "caf_": true}},
		{"nesting is joined with underscores", `{"a":{"b":{"c":"d"}}}`, 3, Row{"a_b_c": "d"}},
		{"objects at the flatten level become compact JSON", `{"a":{"b":{"c":{"d":[1, 2], "e": {}}}}}`, 3, Row{"a_b_c": `{"d":[1,2],"e":{}}`}},
		{"level 0 is unlimited", `{"a":{"b":{"c":{"d":1}}}}`, 0, Row{"a_b_c_d": json.Number("1")}},
		{"arrays are JSON strings, empty ones dropped", `{"a":[{"b":null},"<x>",[]],"e":[]}`, 3, Row{"a": `[{"b":null},"<x>",[]]`}},
		{"nulls and empty objects are dropped", `{"a":null,"b":{},"c":{"d":null}}`, 3, Row{}},
		{"colliding keys: the last one wins", `{"x-y":1,"x_y":2}`, 3, Row{"x_y": json.Number("2")}},
		{"a repeated key: the last value wins", `{"a":1,"a":2}`, 3, Row{"a": json.Number("2")}},
		{"number literals are kept", `{"a":1.0e3,"b":84.410596421}`, 3, Row{"a": json.Number("1.0e3"), "b": json.Number("84.410596421")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Flatten([]byte(tt.in), tt.level)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := Flatten([]byte(`[1]`), 3)
	assert.ErrorContains(t, err, "must be a JSON object")
}

func TestCompactJSON(t *testing.T) {
	got, err := CompactJSON([]byte("{ \"b\": [1, 2.50, \"\\u003c\"],\n \"a\": {\"mfaAuthenticated\": \"false\"} }"))
	require.NoError(t, err)
	assert.Equal(t, `{"b":[1,2.50,"<"],"a":{"mfaAuthenticated":"false"}}`, got)
}

func TestStreamNames(t *testing.T) {
	assert.Equal(t, "aws_orgs_cloudtrail", FormatStreamName("AWS-Orgs.CloudTrail"))
	assert.Equal(t, "a:b_c", FormatStreamName("a:b c"))
	assert.Equal(t, "a_b_c", FormatStreamName("a -- b/\u00e9/c"), "a run of other characters is one underscore")
	assert.Equal(t, "key__x", FormatKey("Key.-X"), "keys keep one underscore per character")
	s := NewServer(t, Options{})
	status, a, _ := post(t, s, "/api/default/My-Stream/_json", `{"a":1}`, nil)
	require.Equal(t, 200, status)
	assert.Equal(t, "my_stream", a.Status[0].Name)
	assert.Equal(t, 1, s.RowCount("default", "my_stream"))
	assert.Equal(t, []Stream{{Org: "default", Name: "my_stream", Rows: 1}}, s.Streams())
}

func TestTimestamps(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s := NewServer(t, Options{Now: func() time.Time { return now }})
	at := now.Add(-time.Hour)
	tests := []struct {
		name string
		ts   string
		want int64
	}{
		{"seconds", fmt.Sprint(at.Unix()), at.UnixMicro()},
		{"milliseconds", fmt.Sprint(at.UnixMilli()), at.UnixMicro()},
		{"microseconds", fmt.Sprint(at.UnixMicro()), at.UnixMicro()},
		{"nanoseconds", fmt.Sprint(at.UnixNano()), at.UnixMicro()},
		{"an RFC 3339 string", `"` + at.Format(time.RFC3339Nano) + `"`, at.UnixMicro()},
		{"a string of digits", `"` + fmt.Sprint(at.UnixMilli()) + `"`, at.UnixMicro()},
		{"no _timestamp: ingestion time", ``, now.UnixMicro()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"i":%d}`, i)
			if tt.ts != "" {
				body = fmt.Sprintf(`{"i":%d,"_timestamp":%s}`, i, tt.ts)
			}
			status, a := ingestNow(t, s, body)
			require.Equal(t, 200, status)
			require.Equal(t, 1, a.Status[0].Successful, a.Status[0].Error)
			rows := s.Rows("default", "logs")
			assert.Equal(t, tt.want, rows[len(rows)-1].TimestampMicros())
		})
	}
}

func TestRecordFailuresAreReportedInsideA200(t *testing.T) {
	now := time.Now()
	s := NewServer(t, Options{Now: func() time.Time { return now }})
	old := now.Add(-6 * time.Hour).UnixMicro()
	future := now.Add(25 * time.Hour).UnixMicro()
	body := fmt.Sprintf(`[{"a":1},{"a":2,"_timestamp":%d},{"a":3,"_timestamp":%d},{"a":4,"_timestamp":"yesterday"},"not an object",{"a":true}]`, old, future)
	status, a := ingestNow(t, s, body)
	require.Equal(t, 200, status)
	require.Len(t, a.Status, 1)
	assert.Equal(t, 1, a.Status[0].Successful)
	assert.Equal(t, 5, a.Status[0].Failed)
	assert.Contains(t, a.Status[0].Error, "failed to cast a to type Int64", "the last error is reported")
	assert.Equal(t, 1, s.RowCount("default", "logs"))
	assert.Equal(t, 5, s.Counters().Failed)

	_, a = ingestNow(t, s, fmt.Sprintf(`{"b":1,"_timestamp":%d}`, old))
	assert.Contains(t, a.Status[0].Error, "too old data")
	_, a = ingestNow(t, s, fmt.Sprintf(`{"b":1,"_timestamp":%d}`, future))
	assert.Contains(t, a.Status[0].Error, "too far data in future")
}

func TestSchemaWidensOrCasts(t *testing.T) {
	s := NewServer(t, Options{})
	for _, rec := range []string{`{"n":1}`, `{"n":1.5}`, `{"n":"text"}`, `{"b":true}`, `{"b":"True"}`, `{"f":1.5}`, `{"f":2}`} {
		status, a := ingestNow(t, s, rec)
		require.Equal(t, 200, status)
		assert.Equal(t, 1, a.Status[0].Successful, "%s: %s", rec, a.Status[0].Error)
	}
	assert.Equal(t, map[string]ColumnType{"n": TypeUtf8, "b": TypeUtf8, "f": TypeFloat64}, s.Schema("default", "logs"))
	_, a := ingestNow(t, s, `{"f":false}`)
	assert.Equal(t, 1, a.Status[0].Failed, "a boolean cannot be cast to Float64")
}

func TestColumnLimitRefusesTheWholeRequest(t *testing.T) {
	s := NewServer(t, Options{ColumnsLimit: 5})
	status, a := ingestNow(t, s, `[{"a":1,"b":2},{"c":3,"d":4}]`) // 4 columns + _timestamp
	require.Equal(t, 200, status)
	assert.Equal(t, 2, a.Status[0].Successful)
	status, a = ingestNow(t, s, `[{"a":1,"b":2},{"c":3,"d":4,"e":5}]`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, a.Message, "got 6 columns for stream logs, only 5 columns accepted")
	assert.Equal(t, 2, s.RowCount("default", "logs"), "nothing of the refused request is stored")
	reqs := s.Requests()
	assert.Equal(t, 6, reqs[len(reqs)-1].Columns)
}

func TestMultiIsNDJSON(t *testing.T) {
	s := NewServer(t, Options{})
	status, a, _ := post(t, s, "/api/default/logs/_multi", "{\"a\":1}\n{\"a\":2}\n", nil)
	require.Equal(t, 200, status)
	assert.Equal(t, 2, a.Status[0].Successful)
}

func TestInjection(t *testing.T) {
	s := NewServer(t, Options{})
	s.Inject(Response{Status: 503, RetryAfter: "2", Times: 2, After: 1})
	s.Inject(Response{Status: 200, Body: `{"code":200,"status":[]}`})
	s.Inject(Response{Status: 500, AfterStore: true})

	status, _ := ingestNow(t, s, `{"a":1}`)
	assert.Equal(t, 200, status, "After lets one request through first")
	for range 2 {
		status, a, h := post(t, s, "/api/default/logs/_json", `{"a":1}`, nil)
		assert.Equal(t, 503, status)
		assert.Equal(t, "2", h.Get("Retry-After"))
		assert.Equal(t, 503, a.Code)
	}
	status, a := ingestNow(t, s, `{"a":1}`)
	assert.Equal(t, 200, status)
	assert.Empty(t, a.Status, "a custom body is sent as is")
	status, _ = ingestNow(t, s, `{"a":1}`)
	assert.Equal(t, 500, status)
	assert.Equal(t, 2, s.RowCount("default", "logs"), "AfterStore stored the row it then failed")
	status, _ = ingestNow(t, s, `{"a":1}`)
	assert.Equal(t, 200, status, "injections are used up")

	s.Inject(Response{Status: 502, Times: 5})
	s.ClearInjections()
	status, _ = ingestNow(t, s, `{"a":1}`)
	assert.Equal(t, 200, status, "cleared injections do not apply")

	c := s.Counters()
	assert.Equal(t, 7, c.Requests)
	assert.Equal(t, 4, c.Injected)
	assert.Equal(t, map[int]int{200: 4, 503: 2, 500: 1}, c.ByStatus)
	assert.Equal(t, 4, c.Stored)
}
