package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// CloudTrail log file framing: a file is {"Records":[r1,r2,...]}.
const (
	recordsOpen  = `{"Records":[`
	recordsClose = `]}`
)

// jsonSpace is the white space JSON allows around values.
const jsonSpace = " \t\r\n"

// unknownPathComponent replaces an absent or unusable account or region in paths.
const unknownPathComponent = "unknown"

// maxPathComponent bounds the length of an account or region in a path.
const maxPathComponent = 64

// recordBody tells how a log record is stored in the cloudtrail format.
type recordBody uint8

const (
	bodyOther  recordBody = iota // not a CloudTrail record: OTLP JSON lines
	bodyMap                      // a CloudTrail record as a map: re-serialised
	bodyString                   // a CloudTrail record as its JSON text (body_format raw): copied
)

// classifyRecord tells whether lr is a CloudTrail record and how its body is held: its event
// name starts with cloudtrail.EventNamePrefix and its body is a map or a string holding one
// JSON object.
func classifyRecord(lr plog.LogRecord) recordBody {
	if !strings.HasPrefix(lr.EventName(), cloudtrail.EventNamePrefix) {
		return bodyOther
	}
	body := lr.Body()
	switch body.Type() {
	case pcommon.ValueTypeMap:
		return bodyMap
	case pcommon.ValueTypeStr:
		if isJSONObject(body.Str()) {
			return bodyString
		}
	}
	return bodyOther
}

// isJSONObject reports whether s is exactly one JSON object (surrounding white space allowed).
func isJSONObject(s string) bool {
	t := strings.TrimLeft(s, jsonSpace)
	if t == "" || t[0] != '{' {
		return false
	}
	// A read-only view of the string's bytes: json.Valid neither keeps nor modifies them.
	return json.Valid(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// recordTime is the time that places a record in the archive: Timestamp (eventTime), else
// ObservedTimestamp, else fallback.
func recordTime(lr plog.LogRecord, fallback time.Time) time.Time {
	if ts := lr.Timestamp(); ts != 0 {
		return ts.AsTime().UTC()
	}
	if ts := lr.ObservedTimestamp(); ts != 0 {
		return ts.AsTime().UTC()
	}
	return fallback.UTC()
}

// pathComponent makes an attribute value safe as one path component: ASCII letters, digits
// and '-' are kept, anything else becomes '-'; empty values become unknownPathComponent.
func pathComponent(v pcommon.Value, ok bool) string {
	if !ok {
		return unknownPathComponent
	}
	s := v.AsString()
	if s == "" {
		return unknownPathComponent
	}
	if len(s) > maxPathComponent {
		s = s[:maxPathComponent]
	}
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// resourceAccountRegion returns the sanitised cloud.account.id and cloud.region of a resource.
func resourceAccountRegion(res pcommon.Resource) (account, region string) {
	attrs := res.Attributes()
	a, okA := attrs.Get(cloudtrail.KeyCloudAccountID)
	r, okR := attrs.Get(cloudtrail.KeyCloudRegion)
	return pathComponent(a, okA), pathComponent(r, okR)
}

// jsonWriter serialises pcommon values as JSON, appending to buf. Numbers held as literal
// text (their JSON Pointers listed in cloudtrail.KeyNumberLiterals) are written bare.
type jsonWriter struct {
	buf      []byte
	literals map[string]struct{} // JSON Pointers of number literals of the current record
	ptr      []byte              // JSON Pointer of the value being written, when literals is not empty
}

// appendRecord appends the CloudTrail record held by lr (classified as bodyMap or bodyString).
func (w *jsonWriter) appendRecord(lr plog.LogRecord, kind recordBody) {
	body := lr.Body()
	if kind == bodyString {
		w.buf = append(w.buf, strings.Trim(body.Str(), jsonSpace)...)
		return
	}
	clear(w.literals)
	if v, ok := lr.Attributes().Get(cloudtrail.KeyNumberLiterals); ok && v.Type() == pcommon.ValueTypeSlice {
		for _, p := range v.Slice().All() {
			if p.Type() == pcommon.ValueTypeStr {
				if w.literals == nil {
					w.literals = make(map[string]struct{})
				}
				w.literals[p.Str()] = struct{}{}
			}
		}
	}
	w.ptr = w.ptr[:0]
	w.appendValue(body)
}

func (w *jsonWriter) appendValue(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		w.buf = append(w.buf, "null"...)
	case pcommon.ValueTypeStr:
		s := v.Str()
		if len(w.literals) > 0 && jsonscan.IsNumber(s) {
			if _, ok := w.literals[string(w.ptr)]; ok {
				w.buf = append(w.buf, s...)
				return
			}
		}
		w.buf = jsonwrite.AppendString(w.buf, s)
	case pcommon.ValueTypeInt:
		w.buf = strconv.AppendInt(w.buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		w.buf = appendJSONDouble(w.buf, v.Double())
	case pcommon.ValueTypeBool:
		w.buf = strconv.AppendBool(w.buf, v.Bool())
	case pcommon.ValueTypeMap:
		w.buf = append(w.buf, '{')
		first := true
		for k, e := range v.Map().All() {
			if !first {
				w.buf = append(w.buf, ',')
			}
			first = false
			w.buf = jsonwrite.AppendString(w.buf, k)
			w.buf = append(w.buf, ':')
			if len(w.literals) == 0 {
				w.appendValue(e)
				continue
			}
			n := len(w.ptr)
			w.ptr = cloudtrail.AppendPointerToken(append(w.ptr, '/'), k)
			w.appendValue(e)
			w.ptr = w.ptr[:n]
		}
		w.buf = append(w.buf, '}')
	case pcommon.ValueTypeSlice:
		w.buf = append(w.buf, '[')
		for i, e := range v.Slice().All() {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if len(w.literals) == 0 {
				w.appendValue(e)
				continue
			}
			n := len(w.ptr)
			w.ptr = strconv.AppendInt(append(w.ptr, '/'), int64(i), 10)
			w.appendValue(e)
			w.ptr = w.ptr[:n]
		}
		w.buf = append(w.buf, ']')
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		w.buf = append(w.buf, '"')
		w.buf = base64.StdEncoding.AppendEncode(w.buf, raw)
		w.buf = append(w.buf, '"')
	}
}

// appendJSONDouble writes f as the shortest literal that reads back as f. An integral value
// gets ".0" so that it reads back as a double, not an integer. NaN and infinities cannot come
// from JSON; they are written as null to keep the file valid.
func appendJSONDouble(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, '.', '0')
}
