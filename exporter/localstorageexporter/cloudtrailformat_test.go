package localstorageexporter

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

func TestJSONWriterWritesValuesExactly(t *testing.T) {
	tests := []struct {
		name     string
		set      func(m pcommon.Map)
		literals []string
		want     string
	}{
		{
			name: "integers are integer literals",
			set:  func(m pcommon.Map) { m.PutInt("a", math.MinInt64); m.PutInt("b", 1666275403000) },
			want: `{"a":-9223372036854775808,"b":1666275403000}`,
		},
		{
			name: "doubles are the shortest literal that reads back as a double",
			set: func(m pcommon.Map) {
				m.PutDouble("a", 1.5)
				m.PutDouble("b", 500)
				m.PutDouble("c", 1e21)
				m.PutDouble("d", 1.666275403e+12)
				m.PutDouble("e", 0.000001)
				m.PutDouble("f", math.Copysign(0, -1))
			},
			want: `{"a":1.5,"b":500.0,"c":1e+21,"d":1.666275403e+12,"e":1e-06,"f":-0.0}`,
		},
		{
			name: "NaN and infinities, which JSON cannot hold, become null",
			set:  func(m pcommon.Map) { m.PutDouble("a", math.NaN()); m.PutDouble("b", math.Inf(1)) },
			want: `{"a":null,"b":null}`,
		},
		{
			name: "strings keep HTML characters and escape what JSON requires",
			set: func(m pcommon.Map) {
				m.PutStr("html", "<sensitiveDataRemoved> & a=b")
				m.PutStr("ctl", "q\"b\\n\nr\rt\tz\x00\x1f\u2028")
				m.PutStr("utf8", "é€😀")
				m.PutStr("bad", "a\xffb")
			},
			want: `{"html":"<sensitiveDataRemoved> & a=b","ctl":"q\"b\\n\nr\rt\tz\u0000\u001f` + "\u2028" + `","utf8":"é€😀","bad":"a\ufffdb"}`,
		},
		{
			name: "empty values, maps and slices are kept",
			set: func(m pcommon.Map) {
				m.PutEmpty("null")
				m.PutEmptyMap("map")
				m.PutEmptySlice("slice")
				m.PutStr("empty", "")
			},
			want: `{"null":null,"map":{},"slice":[],"empty":""}`,
		},
		{
			name: "keys keep their order and nesting is kept",
			set: func(m pcommon.Map) {
				m.PutStr("z", "1")
				n := m.PutEmptyMap("a")
				s := n.PutEmptySlice("list")
				s.AppendEmpty().SetBool(true)
				s.AppendEmpty().SetEmptyMap().PutBool("x", false)
				m.PutStr("m", "2")
			},
			want: `{"z":"1","a":{"list":[true,{"x":false}]},"m":"2"}`,
		},
		{
			name: "bytes are a base64 string",
			set:  func(m pcommon.Map) { m.PutEmptyBytes("b").FromRaw([]byte{0, 1, 2, 0xff}) },
			want: `{"b":"AAEC/w=="}`,
		},
		{
			name: "number literals listed as JSON Pointers are written bare",
			set: func(m pcommon.Map) {
				m.PutStr("average", "84.410596421")
				m.PutStr("text", "84.410596421")
				m.PutEmptyMap("a/b").PutEmptyMap("c~d").PutStr("n", "1e400")
				m.PutEmptySlice("list").AppendEmpty().SetStr("123456789012345678901234567890")
			},
			literals: []string{"/average", "/a~1b/c~0d/n", "/list/0"},
			want:     `{"average":84.410596421,"text":"84.410596421","a/b":{"c~d":{"n":1e400}},"list":[123456789012345678901234567890]}`,
		},
		{
			name:     "a listed pointer whose string is not a number stays a string",
			set:      func(m pcommon.Map) { m.PutStr("a", "12 ; DROP"); m.PutStr("b", "01") },
			literals: []string{"/a", "/b"},
			want:     `{"a":"12 ; DROP","b":"01"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			tt.set(lr.Body().SetEmptyMap())
			if tt.literals != nil {
				s := lr.Attributes().PutEmptySlice(cloudtrail.KeyNumberLiterals)
				for _, p := range tt.literals {
					s.AppendEmpty().SetStr(p)
				}
			}
			var w jsonWriter
			w.appendRecord(lr, bodyMap)
			assert.Equal(t, tt.want, string(w.buf))
			assert.True(t, json.Valid(w.buf))
		})
	}
}

func TestJSONWriterForgetsLiteralsOfThePreviousRecord(t *testing.T) {
	var w jsonWriter
	first := plog.NewLogRecord()
	first.Body().SetEmptyMap().PutStr("n", "1.10")
	first.Attributes().PutEmptySlice(cloudtrail.KeyNumberLiterals).AppendEmpty().SetStr("/n")
	w.appendRecord(first, bodyMap)
	second := plog.NewLogRecord()
	second.Body().SetEmptyMap().PutStr("n", "1.10")
	w.buf = w.buf[:0]
	w.appendRecord(second, bodyMap)
	assert.Equal(t, `{"n":"1.10"}`, string(w.buf))
}

func TestClassifyRecord(t *testing.T) {
	tests := []struct {
		name      string
		eventName string
		body      func(v pcommon.Value)
		want      recordBody
	}{
		{"a CloudTrail map body is a CloudTrail record", "aws.cloudtrail.api_call", func(v pcommon.Value) { v.SetEmptyMap() }, bodyMap},
		{"a CloudTrail JSON object string is a CloudTrail record", "aws.cloudtrail.event", func(v pcommon.Value) { v.SetStr(" {\"a\":1}\n") }, bodyString},
		{"a CloudTrail string that is not an object is not", "aws.cloudtrail.api_call", func(v pcommon.Value) { v.SetStr("[1]") }, bodyOther},
		{"a CloudTrail string with invalid JSON is not", "aws.cloudtrail.api_call", func(v pcommon.Value) { v.SetStr(`{"a":`) }, bodyOther},
		{"a CloudTrail string holding two objects is not", "aws.cloudtrail.api_call", func(v pcommon.Value) { v.SetStr(`{} {}`) }, bodyOther},
		{"a CloudTrail bytes body is not", "aws.cloudtrail.api_call", func(v pcommon.Value) { v.SetEmptyBytes() }, bodyOther},
		{"an EventBridge event is not", cloudtrail.EventNameEventBridge, func(v pcommon.Value) { v.SetEmptyMap() }, bodyOther},
		{"an invalid record is not", cloudtrail.EventNameInvalidRecord, func(v pcommon.Value) { v.SetStr("{}") }, bodyOther},
		{"a record without event name is not", "", func(v pcommon.Value) { v.SetEmptyMap() }, bodyOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			lr.SetEventName(tt.eventName)
			tt.body(lr.Body())
			assert.Equal(t, tt.want, classifyRecord(lr))
		})
	}
}

func TestPathComponentIsSafe(t *testing.T) {
	tests := []struct {
		name  string
		value pcommon.Value
		ok    bool
		want  string
	}{
		{"an account id is kept", pcommon.NewValueStr("123456789012"), true, "123456789012"},
		{"a region is kept", pcommon.NewValueStr("us-east-1"), true, "us-east-1"},
		{"an absent value is unknown", pcommon.NewValueEmpty(), false, "unknown"},
		{"an empty value is unknown", pcommon.NewValueStr(""), true, "unknown"},
		{"path separators and dots are replaced", pcommon.NewValueStr("../../etc/passwd"), true, "------etc-passwd"},
		{"underscores, which separate name fields, are replaced", pcommon.NewValueStr("a_b"), true, "a-b"},
		{"an integer is written in decimal", pcommon.NewValueInt(42), true, "42"},
		{"a long value is cut", pcommon.NewValueStr(string(make([]byte, 100))), true, string(bytesOf('-', 64))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pathComponent(tt.value, tt.ok))
		})
	}
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestRecordTime(t *testing.T) {
	fallback := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	event := time.Date(2021, 5, 20, 15, 53, 47, 0, time.UTC)
	t.Run("the timestamp (eventTime) comes first", func(t *testing.T) {
		lr := plog.NewLogRecord()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(event))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observedTime))
		assert.Equal(t, event, recordTime(lr, fallback))
	})
	t.Run("the observed timestamp replaces a missing timestamp", func(t *testing.T) {
		lr := plog.NewLogRecord()
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observedTime))
		assert.Equal(t, observedTime, recordTime(lr, fallback))
	})
	t.Run("the time of writing is used when both are missing", func(t *testing.T) {
		assert.Equal(t, fallback, recordTime(plog.NewLogRecord(), fallback))
	})
}

func TestFileNamesFollowCloudTrail(t *testing.T) {
	stamp := time.Date(2024, 1, 2, 3, 4, 59, 0, time.UTC)
	ct := fileKey{format: FormatCloudTrail, account: "123456789012", region: "us-east-1", day: dayOf(stamp)}
	require.Equal(t, "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02", filepathToSlash(ct.dir()))
	assert.Equal(t, "123456789012_CloudTrail_us-east-1_20240102T0304Z_ABC.json.gz", ct.fileName(stamp, "ABC"))
	otlp := fileKey{format: FormatOTLPJSON, day: dayOf(stamp)}
	assert.Equal(t, "otlp/2024/01/02", filepathToSlash(otlp.dir()))
	assert.Equal(t, "logs_20240102T0304Z_ABC.jsonl.gz", otlp.fileName(stamp, "ABC"))
	assert.Regexp(t, `^[A-Z2-7]{16}$`, uniqueID())
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", `"quoted" \back\slash`, "<html> & more", "tab\tnew\nline\r\x00\x1f\x7f",
		"é€😀 unicode", "bad \xff\xfe utf8", "12345678\"12345678", strings.Repeat("a", 33) + "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := jsonwrite.AppendString(nil, s)
		require.True(t, json.Valid(out), "%q", out)
		var got string
		require.NoError(t, json.Unmarshal(out, &got))
		ref, err := json.Marshal(s)
		require.NoError(t, err)
		var want string
		require.NoError(t, json.Unmarshal(ref, &want))
		assert.Equal(t, want, got)
		assert.NotContains(t, string(out), `\u003c`, "no HTML escaping")
	})
}

func FuzzRecordRoundTrip(f *testing.F) {
	for _, name := range testFiles {
		for _, r := range loadRecords(f, name)[:3] {
			f.Add(r.raw)
		}
	}
	f.Add([]byte(`{"n":[1,-0,1.5,1e400,0.1,123456789012345678901234567890,-1.0E-2],"s":"<>&\u2028","e":{},"a":[],"z":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !bytes.HasPrefix(bytes.TrimLeft(data, jsonSpace), []byte("{")) || hasDuplicateKeys(data) {
			return
		}
		lr := plog.NewLogRecord()
		literals := decodeJSON(t, data, lr.Body())
		s := lr.Attributes().PutEmptySlice(cloudtrail.KeyNumberLiterals)
		for _, p := range literals {
			s.AppendEmpty().SetStr(p)
		}
		var w jsonWriter
		w.appendRecord(lr, bodyMap)
		require.True(t, json.Valid(w.buf), "%s", w.buf)
		assert.Equal(t, canonical(t, data), canonical(t, w.buf))
	})
}

// hasDuplicateKeys reports whether some object of data repeats a key (a map keeps one).
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // 1e700 is valid JSON that a float64 cannot hold
	var stack []map[string]bool
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	var inKeyPos []bool
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				stack = append(stack, map[string]bool{})
				inKeyPos = append(inKeyPos, true)
				continue
			case '[':
				stack = append(stack, nil)
				inKeyPos = append(inKeyPos, false)
				continue
			default:
				stack = stack[:len(stack)-1]
				inKeyPos = inKeyPos[:len(inKeyPos)-1]
			}
		case string:
			if expectKey() && inKeyPos[len(inKeyPos)-1] {
				if stack[len(stack)-1][x] {
					return true
				}
				stack[len(stack)-1][x] = true
				inKeyPos[len(inKeyPos)-1] = false
				continue
			}
		}
		if expectKey() {
			inKeyPos[len(inKeyPos)-1] = true
		}
	}
}
