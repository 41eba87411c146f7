package openobserveexporter

import (
	"bytes"
	"hash/maphash"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// Column names this exporter writes besides the record's own fields. Every name that does not
// come from the record starts with "_", and no column derived from a record does (a leading
// "_" left by key normalisation is removed), so they cannot collide. loggroup, logstream and
// subscriptionfilters are the names OpenObserve's CloudTrail dashboard queries.
const (
	colTimestamp           = "_timestamp"
	colEventTimestamp      = "_event_timestamp"
	colSessionContext      = "useridentity_sessioncontext"
	colEventTime           = "eventtime"
	colLogGroup            = "loggroup"
	colLogStream           = "logstream"
	colSubscriptionFilters = "subscriptionfilters"
	colFirehoseARN         = "_firehose_arn"
	colFirehoseRequestID   = "_firehose_request_id"
	colCloudWatchOwner     = "_cloudwatch_owner"
	colCloudWatchEventID   = "_cloudwatch_log_event_id"
	prefixEventBridge      = "_eventbridge_"
	prefixResource         = "_resource_"
	prefixAttribute        = "_attr_"

	// Generic records.
	colBody      = "body"
	colEventName = "event_name"
	colSeverity  = "severity"
	colTraceID   = "trace_id"
	colSpanID    = "span_id"

	// unnamedColumn replaces a top-level key that normalises to nothing but underscores.
	unnamedColumn = "unnamed"
)

// rowEncoder builds one flattened row (a JSON object) at a time into reused buffers.
type rowEncoder struct {
	level int // flatten level; 0 means unlimited
	seed  maphash.Seed

	buf    []byte  // the row: '{' then the fields, comma-separated
	key    []byte  // the column name of the value being written
	fields []field // the row's fields in buf order
	index  keyIndex
	dead   int // fields overwritten by a later field with the same column name
	cur    field

	scratch  []byte              // compact JSON of a subtree before it is quoted
	spare    []byte              // second buffer for compaction
	strBuf   []byte              // decoded strings of the raw walker
	ptr      []byte              // JSON Pointer of the value being written, while literals is not empty
	literals []string            // JSON Pointers of numbers held as strings (aws.cloudtrail.number_literals)
	litSet   map[string]struct{} // literals as a set, when there are many (a scan each was quadratic)

	raw  string // the raw walker's input
	rpos int

	cloudTrail bool  // apply the CloudTrail special cases (eventTime, sessionContext)
	eventTime  int64 // microseconds, when hasTime
	hasTime    bool
}

type field struct {
	start, keyStart, keyEnd, end int
	hash                         uint64
	dead                         bool
}

// preField is a field encoded once and appended to many rows (resource attributes).
type preField struct {
	key, val []byte
	hash     uint64
}

func newRowEncoder(level int, seed maphash.Seed) *rowEncoder {
	return &rowEncoder{level: level, seed: seed}
}

func (r *rowEncoder) startRow() {
	r.buf = append(r.buf[:0], '{')
	r.key = r.key[:0]
	r.fields = r.fields[:0]
	r.index.reset()
	r.dead = 0
	r.eventTime, r.hasTime = 0, false
	r.literals = r.literals[:0]
	r.ptr = r.ptr[:0]
	r.cloudTrail = false
}

// finishRow closes the row, removing the fields a later field of the same name overwrote.
func (r *rowEncoder) finishRow() {
	if r.dead > 0 {
		r.compactRow()
	}
	r.buf = append(r.buf, '}')
}

func (r *rowEncoder) compactRow() {
	out := append(r.spare[:0], '{')
	n := 0
	for _, f := range r.fields {
		if f.dead {
			continue
		}
		from := f.start
		if r.buf[from] == ',' {
			from++
		}
		nf := f
		nf.start = len(out)
		if n > 0 {
			out = append(out, ',')
		}
		delta := len(out) - from
		out = append(out, r.buf[from:f.end]...)
		nf.keyStart += delta
		nf.keyEnd += delta
		nf.end += delta
		r.fields[n] = nf
		n++
	}
	r.fields = r.fields[:n]
	r.spare, r.buf = r.buf, out
	r.dead = 0
}

func (r *rowEncoder) beginField() {
	start := len(r.buf)
	if len(r.fields) > 0 {
		r.buf = append(r.buf, ',')
	}
	r.buf = append(r.buf, '"')
	ks := len(r.buf)
	r.buf = append(r.buf, r.key...)
	r.cur = field{start: start, keyStart: ks, keyEnd: len(r.buf)}
	r.buf = append(r.buf, '"', ':')
}

func (r *rowEncoder) endField() {
	f := r.cur
	f.end = len(r.buf)
	f.hash = maphash.Bytes(r.seed, r.buf[f.keyStart:f.keyEnd])
	r.addField(f)
}

// addField records a written field; an earlier field of the same name is marked dead, so the
// last one wins as it does in OpenObserve.
func (r *rowEncoder) addField(f field) {
	if prev, found := r.index.put(f.hash, int32(len(r.fields))); found {
		p := &r.fields[prev]
		if !p.dead && bytes.Equal(r.buf[p.keyStart:p.keyEnd], r.buf[f.keyStart:f.keyEnd]) {
			p.dead = true
			r.dead++
		}
	}
	r.fields = append(r.fields, f)
}

func (r *rowEncoder) columns() int { return len(r.fields) - r.dead }

func (r *rowEncoder) setKey(k string) { r.key = append(r.key[:0], k...) }

func (r *rowEncoder) writeString(s string) {
	r.beginField()
	r.buf = jsonwrite.AppendString(r.buf, s)
	r.endField()
}

func (r *rowEncoder) writeRaw(v string) {
	r.beginField()
	r.buf = append(r.buf, v...)
	r.endField()
}

func (r *rowEncoder) writeInt(i int64) {
	r.beginField()
	r.buf = strconv.AppendInt(r.buf, i, 10)
	r.endField()
}

// writeJSONText writes JSON text as a string value.
func (r *rowEncoder) writeJSONText(text []byte) {
	r.beginField()
	r.buf = jsonwrite.AppendString(r.buf, text)
	r.endField()
}

// appendPre appends pre-encoded fields.
func (r *rowEncoder) appendPre(pfs []preField) {
	for i := range pfs {
		pf := &pfs[i]
		start := len(r.buf)
		if len(r.fields) > 0 {
			r.buf = append(r.buf, ',')
		}
		r.buf = append(r.buf, '"')
		ks := len(r.buf)
		r.buf = append(r.buf, pf.key...)
		ke := len(r.buf)
		r.buf = append(r.buf, '"', ':')
		r.buf = append(r.buf, pf.val...)
		r.addField(field{start: start, keyStart: ks, keyEnd: ke, end: len(r.buf), hash: pf.hash})
	}
}

// capture copies the live fields of the unfinished row.
func (r *rowEncoder) capture() []preField {
	out := make([]preField, 0, r.columns())
	for _, f := range r.fields {
		if f.dead {
			continue
		}
		out = append(out, preField{
			key:  bytes.Clone(r.buf[f.keyStart:f.keyEnd]),
			val:  bytes.Clone(r.buf[f.keyEnd+2 : f.end]),
			hash: f.hash,
		})
	}
	return out
}

// keyByte maps an ASCII byte to its column-name byte: [a-z0-9_] unchanged, A-Z lower-cased,
// anything else "_".
var keyByte = func() (t [128]byte) {
	for c := range 128 {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			t[c] = byte(c)
		case c >= 'A' && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		default:
			t[c] = '_'
		}
	}
	return t
}()

// appendKeyPart appends k normalised as OpenObserve normalises keys: one "_" per character
// outside [a-zA-Z0-9_].
func appendKeyPart[S ~string | ~[]byte](dst []byte, k S) []byte {
	for i := 0; i < len(k); {
		c := k[i]
		if c < 128 {
			dst = append(dst, keyByte[c])
			i++
			continue
		}
		_, size := jsonscan.DecodeRune(k[i:])
		dst = append(dst, '_')
		i += size
	}
	return dst
}

// appendChildKey extends the column name in r.key (of length base) with key k.
func appendChildKey[S ~string | ~[]byte](dst []byte, base int, k S) []byte {
	dst = dst[:base]
	if base > 0 {
		dst = append(dst, '_')
		return appendKeyPart(dst, k)
	}
	dst = appendKeyPart(dst, k)
	// A top-level column never starts with "_": those names are reserved for OpenObserve
	// (_timestamp, _id, ...) and this exporter's metadata.
	i := 0
	for i < len(dst) && dst[i] == '_' {
		i++
	}
	switch {
	case i == len(dst):
		dst = append(dst[:0], unnamedColumn...)
	case i > 0:
		dst = append(dst[:0], dst[i:]...)
	}
	return dst
}

// flattenMap writes the members of m, whose values are at depth+1, under the column-name
// prefix in r.key.
func (r *rowEncoder) flattenMap(m pcommon.Map, depth int) {
	base := len(r.key)
	tracking := len(r.literals) > 0
	for k, v := range m.All() {
		r.key = appendChildKey(r.key, base, k)
		if tracking {
			pl := len(r.ptr)
			r.ptr = cloudtrail.AppendPointerToken(append(r.ptr, '/'), k)
			r.flattenValue(v, depth+1)
			r.ptr = r.ptr[:pl]
			continue
		}
		r.flattenValue(v, depth+1)
	}
	r.key = r.key[:base]
}

// flattenValue writes v, at the given depth, under the column name in r.key.
func (r *rowEncoder) flattenValue(v pcommon.Value, depth int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if r.cloudTrail && depth == 1 && string(r.key) == colEventTime {
			r.eventTime, r.hasTime = parseEventTime(s)
		}
		if len(r.literals) > 0 && r.isLiteral() && jsonscan.IsNumber(s) {
			r.writeRaw(s)
			return
		}
		r.writeString(s)
	case pcommon.ValueTypeInt:
		r.writeInt(v.Int())
	case pcommon.ValueTypeDouble:
		r.beginField()
		r.buf = appendJSONFloat(r.buf, v.Double())
		r.endField()
	case pcommon.ValueTypeBool:
		if v.Bool() {
			r.writeRaw("true")
		} else {
			r.writeRaw("false")
		}
	case pcommon.ValueTypeBytes:
		r.beginField()
		r.buf = appendBase64String(r.buf, v.Bytes().AsRaw())
		r.endField()
	case pcommon.ValueTypeMap:
		m := v.Map()
		if m.Len() == 0 {
			return // empty objects are dropped
		}
		if (r.cloudTrail && depth == 2 && string(r.key) == colSessionContext) || (r.level > 0 && depth >= r.level) {
			r.scratch = r.appendJSON(r.scratch[:0], v)
			r.writeJSONText(r.scratch)
			return
		}
		r.flattenMap(m, depth)
	case pcommon.ValueTypeSlice:
		if v.Slice().Len() == 0 {
			return // empty arrays are dropped, as OpenObserve's own flattening drops them
		}
		r.scratch = r.appendJSON(r.scratch[:0], v)
		r.writeJSONText(r.scratch)
	default:
		// empty values (JSON null) are dropped
	}
}

// appendJSON appends v as compact JSON with its original keys.
func (r *rowEncoder) appendJSON(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if len(r.literals) > 0 && r.isLiteral() && jsonscan.IsNumber(s) {
			return append(dst, s...)
		}
		return jsonwrite.AppendString(dst, s)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendJSONFloat(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		return appendBase64String(dst, v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		tracking := len(r.literals) > 0
		dst = append(dst, '{')
		first := true
		for k, mv := range v.Map().All() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonwrite.AppendString(dst, k)
			dst = append(dst, ':')
			if tracking {
				pl := len(r.ptr)
				r.ptr = cloudtrail.AppendPointerToken(append(r.ptr, '/'), k)
				dst = r.appendJSON(dst, mv)
				r.ptr = r.ptr[:pl]
				continue
			}
			dst = r.appendJSON(dst, mv)
		}
		return append(dst, '}')
	case pcommon.ValueTypeSlice:
		tracking := len(r.literals) > 0
		sl := v.Slice()
		dst = append(dst, '[')
		for i := range sl.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if tracking {
				pl := len(r.ptr)
				r.ptr = append(r.ptr, '/')
				r.ptr = strconv.AppendInt(r.ptr, int64(i), 10)
				dst = r.appendJSON(dst, sl.At(i))
				r.ptr = r.ptr[:pl]
				continue
			}
			dst = r.appendJSON(dst, sl.At(i))
		}
		return append(dst, ']')
	default:
		return append(dst, "null"...)
	}
}

func (r *rowEncoder) isLiteral() bool {
	if len(r.literals) > litSetMin {
		_, ok := r.litSet[string(r.ptr)]
		return ok
	}
	for _, p := range r.literals {
		if p == string(r.ptr) {
			return true
		}
	}
	return false
}

// litSetMin is the number of literals past which isLiteral looks them up in a set.
const litSetMin = 16

// collectLiterals reads the JSON Pointers of the body's numbers that the receiver kept as
// their literal text (cloudtrail.KeyNumberLiterals), so they are written as numbers again.
func (r *rowEncoder) collectLiterals(attrs pcommon.Map) {
	r.literals = r.literals[:0]
	if lits, ok := attrs.Get(cloudtrail.KeyNumberLiterals); ok && lits.Type() == pcommon.ValueTypeSlice {
		for _, p := range lits.Slice().All() {
			if p.Type() == pcommon.ValueTypeStr {
				r.literals = append(r.literals, p.Str())
			}
		}
	}
	if len(r.literals) > litSetMin {
		if r.litSet == nil {
			r.litSet = make(map[string]struct{}, len(r.literals))
		}
		clear(r.litSet)
		for _, p := range r.literals {
			r.litSet[p] = struct{}{}
		}
	}
}

// encodeCloudTrail starts a row with the fields of a CloudTrail log record: its body flattened
// as OpenObserve flattens a bare CloudTrail record, the resource fields, then the attributes
// that carry information the body does not. It returns false when the body is not a JSON
// object (the record is then encoded generically).
func (r *rowEncoder) encodeCloudTrail(lr plog.LogRecord, resource []preField) bool {
	r.startRow()
	r.cloudTrail = true
	attrs := lr.Attributes()
	r.collectLiterals(attrs)
	body := lr.Body()
	switch body.Type() {
	case pcommon.ValueTypeMap:
		r.flattenMap(body.Map(), 0)
	case pcommon.ValueTypeStr:
		if !r.flattenRaw(body.Str()) {
			return false
		}
	default:
		return false
	}
	r.cloudTrail = false
	r.literals = r.literals[:0]
	r.appendPre(resource)
	for k, v := range attrs.All() {
		switch {
		case strings.HasPrefix(k, cloudtrail.KeyEventBridgePrefix):
			r.key = append(r.key[:0], prefixEventBridge...)
			r.key = appendKeyPart(r.key, k[len(cloudtrail.KeyEventBridgePrefix):])
		case k == cloudtrail.KeyLogEventID:
			r.setKey(colCloudWatchEventID)
		case derivedFromBody(k):
			continue
		default:
			r.key = append(r.key[:0], prefixAttribute...)
			r.key = appendKeyPart(r.key, k)
		}
		r.flattenValue(v, 1)
	}
	return true
}

// derivedFromBody reports whether a CloudTrail log record attribute only repeats a body field
// (REFERENCE §4), so the row has it already.
func derivedFromBody(k string) bool {
	switch k {
	case cloudtrail.KeyEventID, cloudtrail.KeyEventVersion, cloudtrail.KeyEventType,
		cloudtrail.KeyRPCMethod, cloudtrail.KeyRPCService, cloudtrail.KeyRPCSystem,
		cloudtrail.KeyEventCategory, cloudtrail.KeyEventReadOnly, cloudtrail.KeyEventManagement,
		cloudtrail.KeyRequestID, cloudtrail.KeySharedEventID,
		cloudtrail.KeyClientAddress, cloudtrail.KeyUserAgentOriginal,
		cloudtrail.KeyPrincipalType, cloudtrail.KeyPrincipalARN, cloudtrail.KeyPrincipalID,
		cloudtrail.KeyUserIdentityAccount, cloudtrail.KeyAccessKeyID, cloudtrail.KeyUserIdentityInvoked,
		cloudtrail.KeyUserName, cloudtrail.KeyMFAAuthenticated,
		cloudtrail.KeyErrorType, cloudtrail.KeyErrorMessage,
		cloudtrail.KeyTLSProtocolVersion, cloudtrail.KeyTLSCipher, cloudtrail.KeyServerAddress,
		cloudtrail.KeyNumberLiterals:
		return true
	}
	return false
}

// encodeGeneric starts a row for any log record: resource attributes, attributes, event name,
// severity, trace context, then the body (a map flattened at the top level, anything else in
// the "body" column). Later fields win on a name collision.
func (r *rowEncoder) encodeGeneric(lr plog.LogRecord, resource []preField) {
	r.startRow()
	r.appendPre(resource)
	attrs := lr.Attributes()
	for k, v := range attrs.All() {
		if k == cloudtrail.KeyNumberLiterals {
			continue // applied to the body below
		}
		r.key = appendChildKey(r.key, 0, k)
		r.flattenValue(v, 1)
	}
	if name := lr.EventName(); name != "" {
		r.setKey(colEventName)
		r.writeString(name)
	}
	if sev := lr.SeverityText(); sev != "" {
		r.setKey(colSeverity)
		r.writeString(sev)
	} else if lr.SeverityNumber() != plog.SeverityNumberUnspecified {
		r.setKey(colSeverity)
		r.writeString(lr.SeverityNumber().String())
	}
	if tid := lr.TraceID(); !tid.IsEmpty() {
		r.setKey(colTraceID)
		r.writeString(tid.String())
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		r.setKey(colSpanID)
		r.writeString(sid.String())
	}
	r.collectLiterals(attrs)
	defer func() { r.literals = r.literals[:0] }()
	body := lr.Body()
	if body.Type() == pcommon.ValueTypeMap {
		r.key = r.key[:0]
		r.flattenMap(body.Map(), 0)
		return
	}
	r.setKey(colBody)
	r.flattenValue(body, 1) // a slice becomes JSON text, bytes base64, an empty body nothing
}

// resourceFields encodes the resource attributes written to every row of a ResourceLogs.
// For CloudTrail rows, cloud.* (the record has them) and the routing attributes are left out,
// the CloudWatch Logs envelope becomes the columns the dashboard queries, and everything else
// goes under reserved "_" names. For other rows every attribute but the routing ones is
// flattened under its own name.
func (r *rowEncoder) resourceFields(res pcommon.Resource, cloudTrailRows bool) []preField {
	r.startRow()
	for k, v := range res.Attributes().All() {
		if k == cloudtrail.KeyOpenObserveOrganization || k == cloudtrail.KeyOpenObserveStream {
			continue
		}
		if !cloudTrailRows {
			r.key = appendChildKey(r.key, 0, k)
			r.flattenValue(v, 1)
			continue
		}
		switch k {
		case cloudtrail.KeyCloudProvider, cloudtrail.KeyCloudAccountID, cloudtrail.KeyCloudRegion:
			continue
		case cloudtrail.KeyFirehoseARN:
			r.setKey(colFirehoseARN)
		case cloudtrail.KeyFirehoseRequestID:
			r.setKey(colFirehoseRequestID)
		case cloudtrail.KeyLogGroupNames:
			r.setKey(colLogGroup)
			v = single(v)
		case cloudtrail.KeyLogStreamNames:
			r.setKey(colLogStream)
			v = single(v)
		case cloudtrail.KeySubscriptionFilters:
			r.setKey(colSubscriptionFilters)
		case cloudtrail.KeyLogOwner:
			r.setKey(colCloudWatchOwner)
		default:
			r.key = append(r.key[:0], prefixResource...)
			r.key = appendKeyPart(r.key, k)
		}
		r.flattenValue(v, 1)
	}
	return r.capture()
}

// single returns the only element of a one-element slice, else v.
func single(v pcommon.Value) pcommon.Value {
	if v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() == 1 {
		return v.Slice().At(0)
	}
	return v
}
