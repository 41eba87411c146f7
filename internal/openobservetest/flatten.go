package openobservetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultFlattenLevel is OpenObserve's default stream flatten level (ZO_INGEST_FLATTEN_LEVEL).
const DefaultFlattenLevel = 3

// Row is one stored record: flattened column names to values. Values are string, bool or
// json.Number (the number's literal text as received); "_timestamp" is an int64 in microseconds.
type Row map[string]any

// TimestampMicros returns the row's _timestamp.
func (r Row) TimestampMicros() int64 {
	ts, _ := r["_timestamp"].(int64)
	return ts
}

// object is a JSON object that keeps its keys in source order, as OpenObserve's JSON maps do.
type object struct {
	keys []string
	vals []any
}

func (o *object) set(k string, v any) {
	for i, existing := range o.keys {
		if existing == k {
			o.vals[i] = v // a repeated key keeps its first position and takes the last value
			return
		}
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// decodeValues reads every JSON value of data (one value, or several separated by whitespace
// when multi is true) keeping key order and number literals.
func decodeValues(data []byte, multi bool) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []any
	for {
		v, err := decodeValue(dec, 0)
		if errors.Is(err, io.EOF) {
			if len(out) == 0 {
				return nil, errors.New("empty body")
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if !multi {
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				return nil, errors.New("trailing data after the JSON value")
			}
			return out, nil
		}
	}
}

const maxDepth = 1000

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T", kt)
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj.set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		default:
			return nil, fmt.Errorf("unexpected %q", t)
		}
	default:
		return tok, nil // string, json.Number, bool or nil
	}
}

// Flatten applies OpenObserve's ingestion flattening to one JSON object, as stored for a stream
// with the given flatten level (0: unlimited). It is the reference the exporter's client-side
// flattening is tested against. _timestamp is not interpreted here.
func Flatten(data []byte, level int) (Row, error) {
	vals, err := decodeValues(data, false)
	if err != nil {
		return nil, err
	}
	obj, ok := vals[0].(*object)
	if !ok {
		return nil, fmt.Errorf("a record must be a JSON object, got %s", kindOf(vals[0]))
	}
	return flattenObject(obj, level), nil
}

func flattenObject(obj *object, level int) Row {
	row := Row{}
	flattenInto(row, obj, "", 0, level)
	return row
}

func flattenInto(row Row, obj *object, prefix string, depth, level int) {
	for i, k := range obj.keys {
		key := FormatKey(k)
		if prefix != "" {
			key = prefix + "_" + key
		}
		flattenValue(row, obj.vals[i], key, depth+1, level)
	}
}

func flattenValue(row Row, v any, key string, depth, level int) {
	switch t := v.(type) {
	case nil:
		// nulls are dropped
	case *object:
		if len(t.keys) == 0 {
			return // empty objects are dropped
		}
		if level > 0 && depth >= level {
			row[key] = compactJSON(t)
			return
		}
		flattenInto(row, t, key, depth, level)
	case []any:
		if len(t) == 0 {
			return // empty arrays are dropped
		}
		row[key] = compactJSON(t)
	default:
		row[key] = t
	}
}

// FormatKey is OpenObserve's column-name rule: lower-case, every character outside [a-z0-9_]
// replaced by "_".
func FormatKey(k string) string { return normalise(k, false) }

// FormatStreamName is OpenObserve's stream-name rule (regex [^a-zA-Z0-9_:]+ replaced by "_",
// then lower-cased): each run of other characters becomes one "_".
func FormatStreamName(s string) string { return normalise(s, true) }

// normalise lower-cases ASCII letters and turns the characters outside [a-z0-9_] into "_":
// one each in a key; one for each run of them, ':' allowed, in a stream name.
func normalise(s string, stream bool) string {
	var b strings.Builder
	b.Grow(len(s))
	inRun := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', stream && r == ':':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			if !stream || !inRun {
				b.WriteByte('_')
			}
			inRun = true
			continue
		}
		inRun = false
	}
	return b.String()
}

// compactJSON serialises a decoded value without whitespace, in source key order, with number
// literals as received and without HTML escaping.
func compactJSON(v any) string {
	var b []byte
	b = appendCompact(b, v)
	return string(b)
}

func appendCompact(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, t)
	case json.Number:
		return append(b, t...)
	case string:
		return appendQuoted(b, t)
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCompact(b, e)
		}
		return append(b, ']')
	case *object:
		b = append(b, '{')
		for i, k := range t.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			b = appendCompact(b, t.vals[i])
		}
		return append(b, '}')
	default:
		panic(fmt.Sprintf("openobservetest: unexpected decoded type %T", v))
	}
}

// appendQuoted writes s as a JSON string the way serde_json does: only '"', '\\' and control
// characters are escaped.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

// baseTime separates the magnitudes of integer timestamps: values above it in nanoseconds are
// nanoseconds, and so on down to seconds.
var baseTime = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)

// TimestampMicros interprets an integer timestamp the way OpenObserve does: by magnitude, as
// nanoseconds, microseconds, milliseconds or seconds.
func TimestampMicros(v int64) int64 {
	switch {
	case v > baseTime.UnixNano():
		return v / 1000
	case v > baseTime.UnixMicro():
		return v
	case v > baseTime.UnixMilli():
		return v * 1000
	default:
		return v * 1_000_000
	}
}

// parseTimestamp reads a _timestamp value.
func parseTimestamp(v any, now time.Time) (int64, error) {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			if i == 0 {
				return now.UnixMicro(), nil
			}
			return TimestampMicros(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return 0, fmt.Errorf("invalid _timestamp %s", t)
		}
		return TimestampMicros(int64(f)), nil
	case string:
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return TimestampMicros(i), nil
		}
		ts, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return 0, fmt.Errorf("invalid _timestamp %q: not RFC 3339", t)
		}
		return ts.UnixMicro(), nil
	default:
		return 0, fmt.Errorf("invalid _timestamp: %s", kindOf(v))
	}
}

// CompactJSON re-serialises one JSON value the way OpenObserve stores nested values as text:
// no whitespace, source key order, number literals as written, no HTML escaping.
func CompactJSON(data []byte) (string, error) {
	vals, err := decodeValues(data, false)
	if err != nil {
		return "", err
	}
	return compactJSON(vals[0]), nil
}
