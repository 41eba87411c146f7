package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// Options configure a Decoder.
type Options struct {
	// RawBody keeps each CloudTrail record's original JSON text, byte for byte, as a string
	// body instead of decoding it into a map.
	RawBody bool
	// MaxRecordSize bounds the decompressed size of the gzip records (CloudWatch Logs
	// payloads) of one request, all together; a record over what is left of it becomes an
	// invalid record. Zero means 64 MiB.
	MaxRecordSize int64
	// ScopeName and ScopeVersion name the instrumentation scope of every log record.
	ScopeName, ScopeVersion string
}

// Request is what the Firehose request tells about every record in it.
type Request struct {
	SourceARN string
	RequestID string
	// CommonAttributes are the X-Amz-Firehose-Common-Attributes pairs, in header order.
	CommonAttributes [][2]string
	// OpenObserveOrganization and OpenObserveStream are set for /aws/{org}/{stream}/_kinesis_firehose paths.
	OpenObserveOrganization, OpenObserveStream string
	// Received is the ObservedTimestamp of every log record.
	Received time.Time
}

// Stats counts what one request held.
type Stats struct {
	// Shapes counts Firehose records by shape; for records files and CloudWatch Logs
	// payloads it counts the records inside.
	Shapes map[string]int
	// Invalid counts invalid records by error.type.
	Invalid map[string]int
	// ControlMessages counts CloudWatch Logs CONTROL_MESSAGE payloads.
	ControlMessages int
}

// Decoder turns the records of one Firehose request into one plog.Logs. It is not safe for
// concurrent use; reuse one per goroutine (Begin resets it).
type Decoder struct {
	opts      Options
	req       Request
	observed  pcommon.Timestamp
	logs      plog.Logs
	resources map[resourceKey]plog.LogRecordSlice
	stats     Stats
	vd        valueDecoder   // documents (and, in raw mode, every value)
	msgVD     valueDecoder   // map mode: CloudWatch Logs messages, decoded while vd's document is in use
	doc, msg  pcommon.Value  // map mode: each document, each log event message, decoded here first
	envelope  plog.LogRecord // map mode: an EventBridge event's record, built before its resource is known
	levels    [][]member     // raw mode: member buffers by nesting depth, while scanning
	arena     []member       // raw mode: the scanned members of the current document
	gz        *gzip.Reader
	inflated  int64 // decompressed bytes of this request's gzip records
}

// NewDecoder returns a Decoder.
func NewDecoder(opts Options) *Decoder {
	if opts.MaxRecordSize <= 0 {
		opts.MaxRecordSize = 64 << 20
	}
	return &Decoder{opts: opts, doc: pcommon.NewValueEmpty(), msg: pcommon.NewValueEmpty(), envelope: plog.NewLogRecord()}
}

// resourceKey identifies one ResourceLogs within a request.
type resourceKey struct {
	account, region string
	cwl             *cloudWatchContext
}

// cloudWatchContext is the envelope of one CloudWatch Logs DATA_MESSAGE.
type cloudWatchContext struct {
	owner, logGroup, logStream string
	filters                    pcommon.Map // "f": subscriptionFilters, when present
}

// Begin starts a new request.
func (d *Decoder) Begin(req Request) {
	d.req = req
	d.observed = pcommon.NewTimestampFromTime(req.Received)
	d.logs = plog.NewLogs()
	clear(d.resources)
	if d.resources == nil {
		d.resources = make(map[resourceKey]plog.LogRecordSlice, 4)
	}
	d.stats = Stats{Shapes: map[string]int{}, Invalid: map[string]int{}}
	d.inflated = 0
}

// Finish returns the request's logs and counts. The logs alias the record buffers passed to
// AddRecord, which must not be modified afterwards.
func (d *Decoder) Finish() (plog.Logs, Stats) {
	logs, stats := d.logs, d.stats
	d.logs = plog.Logs{}
	clear(d.resources)
	d.release()
	return logs, stats
}

// release drops every reference to this request's buffers, so that a pooled decoder does not
// keep them alive.
func (d *Decoder) release() {
	d.vd.release()
	d.msgVD.release()
	d.doc.SetEmptyMap()
	d.msg.SetEmptyMap()
	for i := range d.levels {
		clear(d.levels[i][:cap(d.levels[i])])
	}
	clear(d.arena[:cap(d.arena)])
	d.arena = d.arena[:0]
}

// AddInvalid adds a record that could not be decoded before it reached this package (bad
// base64), keeping its raw data.
func (d *Decoder) AddInvalid(index int, raw []byte, errorType string, cause error) {
	d.invalid(index, raw, ShapeInvalid, errorType, cause)
}

// AddRecord decodes one Firehose record's data. data is owned by the decoder from now on:
// log bodies and attributes alias it, so it must not be modified afterwards.
func (d *Decoder) AddRecord(index int, data []byte) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		plain, err := d.gunzip(data)
		if err != nil {
			errorType := ErrorTypeInvalidGzip
			if errors.Is(err, errRecordTooLarge) {
				errorType = ErrorTypeTooLarge
			}
			d.invalid(index, data, ShapeInvalid, errorType, err)
			return
		}
		data = plain
	}
	sc := jsonscan.New(data, false)
	if sc.AtEnd() {
		d.invalid(index, data, ShapeInvalid, ErrorTypeInvalidJSON, errors.New("empty record"))
		return
	}
	if d.opts.RawBody {
		d.addRawDocuments(index, data)
	} else {
		d.addMapDocuments(index, data)
	}
}

// addMapDocuments decodes each JSON document of data in one pass, then classifies and maps
// the decoded value. Strings are never unescaped in place, so a document that turns out to
// be malformed still has its original bytes for the invalid record.
func (d *Decoder) addMapDocuments(index int, data []byte) {
	docs := jsonscan.New(data, false)
	for !docs.AtEnd() {
		start := docs.Pos()
		if d.addEnvelope(&docs) {
			continue
		}
		d.vd.sc = docs
		d.vd.newDocument()
		v := d.doc
		err := d.vd.decode(v)
		docs = d.vd.sc // the decoder is reused for CloudWatch Logs messages below
		if err != nil {
			d.invalid(index, data[start:], ShapeInvalid, ErrorTypeInvalidJSON, err)
			return
		}
		if v.Type() != pcommon.ValueTypeMap {
			d.stats.Shapes[ShapeOther]++
			lr := d.newRecord(resourceKey{}, EventNameRecord, 0)
			v.CopyTo(lr.Body())
			putLiterals(&d.vd, lr.Attributes(), "")
			continue
		}
		addDocument(d, index, mapView{m: v.Map(), d: d, vd: &d.vd})
	}
}

// envelopeStarts are how EventBridge writes the start of an event.
var envelopeStarts = [...][]byte{[]byte(`{"version":`), []byte(`{"id":`)}

// addEnvelope is the fast path of map mode for the commonest record, an EventBridge event
// holding a CloudTrail record: it decodes the envelope's fields straight into the log
// record's attributes and the detail into its body, instead of decoding the whole event and
// copying the fields out. It reports false, leaving the scanner where it was, for anything
// else (then the document is decoded the general way, from its intact bytes).
func (d *Decoder) addEnvelope(docs *jsonscan.Scanner) bool {
	docs.SkipSpace()
	rest := docs.Buf()[docs.Pos():]
	if !bytes.HasPrefix(rest, envelopeStarts[0]) && !bytes.HasPrefix(rest, envelopeStarts[1]) {
		return false
	}
	lr := d.envelope
	attrs := lr.Attributes()
	attrs.EnsureCapacity(attributeCapacity)
	vd := &d.vd
	vd.sc = *docs
	vd.newDocument()
	vd.sc.Consume('{')
	vd.path = append(vd.path, pathElem{index: -1})
	ok, hasDetail := true, false
	for first := true; ok; first = false {
		more, err := vd.sc.More('}', first)
		if err != nil || !more {
			ok = err == nil
			break
		}
		k, err := vd.sc.Key()
		if err != nil {
			ok = false
			break
		}
		vd.path[0].key = k
		if k == "detail" {
			ok, hasDetail = vd.decode(lr.Body()) == nil, true
		} else {
			ok = vd.decode(attrs.PutEmpty(envelopeKey(k))) == nil
		}
	}
	detailType, hasType := attrs.Get(KeyEventBridgeDetail)
	if !ok || !hasDetail || !hasType || lr.Body().Type() != pcommon.ValueTypeMap || detailType.Type() != pcommon.ValueTypeStr ||
		!strings.HasSuffix(detailType.Str(), " via CloudTrail") {
		d.resetEnvelope()
		return false
	}
	rec := mapView{m: lr.Body().Map(), d: d, vd: vd}
	if !rec.has("eventType") && !looksLikeCloudTrail(rec) {
		d.resetEnvelope()
		return false
	}
	*docs = vd.sc
	d.stats.Shapes[ShapeEventBridge]++

	var key resourceKey
	envString := func(k string) string {
		if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
		return ""
	}
	key.account, key.region = recordResource(rec)
	if key.account == "" {
		key.account = envString(KeyEventBridgePrefix + "account")
	}
	if key.region == "" {
		key.region = envString(KeyEventBridgePrefix + "region")
	}
	mapCloudTrail(lr, rec)
	if lr.Timestamp() == 0 {
		if t, ok := parseEventTime(envString(KeyEventBridgePrefix + "time")); ok {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
		}
	}
	lr.SetObservedTimestamp(d.observed)
	putLiterals(vd, attrs, "/detail")
	lr.MoveTo(d.recordsFor(key).AppendEmpty()) // leaves d.envelope empty for the next event
	return true
}

// resetEnvelope empties the envelope record after an event that took the general path.
func (d *Decoder) resetEnvelope() {
	d.envelope.Attributes().Clear()
	d.envelope.Body().SetEmptyMap()
}

// addRawDocuments validates each JSON document of data and classifies and maps it from its
// text; CloudTrail records keep their text as the body.
func (d *Decoder) addRawDocuments(index int, data []byte) {
	sc := jsonscan.New(data, false)
	for !sc.AtEnd() {
		start := sc.Pos()
		if sc.Peek() != '{' {
			if err := sc.Skip(); err != nil {
				d.invalid(index, data[start:], ShapeInvalid, ErrorTypeInvalidJSON, err)
				return
			}
			d.stats.Shapes[ShapeOther]++
			lr := d.newRecord(resourceKey{}, EventNameRecord, 0)
			d.decodeRaw(data[start:sc.Pos()], lr.Body())
			putLiterals(&d.vd, lr.Attributes(), "")
			continue
		}
		d.arena = d.arena[:0]
		first, n, err := d.scanTree(&sc, 0) // validates the document
		if err != nil {
			d.invalid(index, data[start:], ShapeInvalid, ErrorTypeInvalidJSON, err)
			return
		}
		addDocument(d, index, rawView{raw: data[start:sc.Pos()], ms: d.arena[first : first+n], d: d})
	}
}

var errRecordTooLarge = errors.New("decompressed record exceeds the size limit")

func (d *Decoder) gunzip(data []byte) ([]byte, error) {
	var err error
	if d.gz == nil {
		d.gz, err = gzip.NewReader(bytes.NewReader(data))
	} else {
		err = d.gz.Reset(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	limit := d.opts.MaxRecordSize - d.inflated
	// Decompressed CloudWatch Logs payloads are typically 5-15x their compressed size.
	buf := bytes.NewBuffer(make([]byte, 0, max(min(int64(len(data))*8, limit), 0)))
	n, err := io.Copy(buf, io.LimitReader(d.gz, limit+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w (%d bytes for all records of a request)", errRecordTooLarge, d.opts.MaxRecordSize)
	}
	d.inflated += n
	plain := buf.Bytes()
	if cap(plain)-len(plain) > len(plain)/4 {
		// The log bodies keep this buffer alive: do not let them keep its spare capacity too.
		plain = bytes.Clone(plain)
	}
	return plain, nil
}

// addDocument classifies one top-level JSON object of a record.
func addDocument[V view[V]](d *Decoder, index int, doc V) {
	switch {
	case doc.has("detail-type") && doc.has("detail"):
		d.stats.Shapes[ShapeEventBridge]++
		addEventBridge(d, doc, resourceKey{}, extras[V]{})
	case doc.has("messageType") && (doc.has("logEvents") || isControlMessage(doc)):
		addCloudWatch(d, index, doc)
	case doc.eachElement("Records",
		func(rec V) {
			d.stats.Shapes[ShapeRecordsFile]++
			addCloudTrail(d, rec, resourceKey{}, extras[V]{}, 0)
		},
		func(i int) {
			d.stats.Shapes[ShapeRecordsFile]++
			doc.elementToBody(d.newRecord(resourceKey{}, EventNameRecord, 0), "Records", i)
		}):
	case looksLikeCloudTrail(doc):
		d.stats.Shapes[ShapeBare]++
		addCloudTrail(d, doc, resourceKey{}, extras[V]{}, 0)
	default:
		d.stats.Shapes[ShapeOther]++
		doc.toBody(d.newRecord(resourceKey{}, EventNameRecord, 0), false)
	}
}

// cloudTrailKeys are top-level keys of CloudTrail records; a JSON object holding at least two
// of them is taken for one (Insight events lack eventName, exported ones eventVersion or eventTime).
var cloudTrailKeys = [...]string{"eventVersion", "eventTime", "eventName", "eventSource", "eventType", "eventID", "userIdentity", "awsRegion", "recipientAccountId"}

func looksLikeCloudTrail[V view[V]](doc V) bool {
	n := 0
	for _, k := range cloudTrailKeys {
		if doc.has(k) {
			n++
		}
	}
	return n >= 2
}

func isControlMessage[V view[V]](doc V) bool {
	t, _ := doc.str("messageType")
	return t == "CONTROL_MESSAGE"
}

// extras is what a wrapping adds to a CloudTrail record's attributes.
type extras[V any] struct {
	envelope   *V // the EventBridge envelope
	logEventID string
	hasID      bool
}

// newRecord appends a log record to the resource of key.
func (d *Decoder) newRecord(key resourceKey, name string, ts pcommon.Timestamp) plog.LogRecord {
	lr := d.recordsFor(key).AppendEmpty()
	lr.SetObservedTimestamp(d.observed)
	lr.SetTimestamp(ts)
	lr.SetEventName(name)
	return lr
}

// addCloudTrail appends the log record of one CloudTrail record to the resource of its
// account and region; base supplies the envelope's account, region and CloudWatch Logs
// context where the record lacks them; fallback is the timestamp when eventTime is unusable.
func addCloudTrail[V view[V]](d *Decoder, rec V, base resourceKey, ex extras[V], fallback pcommon.Timestamp) {
	key := base
	account, region := recordResource(rec)
	if account != "" {
		key.account = account
	}
	if region != "" {
		key.region = region
	}
	lr := d.newRecord(key, "", 0)
	mapCloudTrail(lr, rec)
	if lr.Timestamp() == 0 {
		lr.SetTimestamp(fallback)
	}
	attrs := lr.Attributes()
	if ex.envelope != nil {
		env := *ex.envelope
		env.eachMember("detail", func(k string) { env.putAttr(attrs, envelopeKey(k), k) })
	}
	if ex.hasID {
		attrs.PutStr(KeyLogEventID, ex.logEventID)
	}
	rec.toBody(lr, true)
}

// addEventBridge handles an EventBridge event: a CloudTrail record in its detail, or any
// other event kept whole.
func addEventBridge[V view[V]](d *Decoder, env V, base resourceKey, ex extras[V]) {
	key := base
	if a, _ := env.str("account"); a != "" {
		key.account = a
	}
	if r, _ := env.str("region"); r != "" {
		key.region = r
	}
	var when pcommon.Timestamp
	if s, ok := env.str("time"); ok {
		if t, ok := parseEventTime(s); ok {
			when = pcommon.NewTimestampFromTime(t)
		}
	}
	detailType, _ := env.str("detail-type")
	if strings.HasSuffix(detailType, " via CloudTrail") {
		if detail, ok := env.object("detail"); ok && (detail.has("eventType") || looksLikeCloudTrail(detail)) {
			ex.envelope = &env
			addCloudTrail(d, detail, key, ex, when)
			return
		}
	}
	lr := d.newRecord(key, EventNameEventBridge, when)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	attrs := lr.Attributes()
	for _, k := range [...]string{"id", "detail-type", "source"} {
		if s, ok := env.str(k); ok {
			attrs.PutStr(envelopeKey(k), s)
		}
	}
	if ex.hasID {
		attrs.PutStr(KeyLogEventID, ex.logEventID)
	}
	env.toBody(lr, false)
}

// envelopeKey names the attribute of an EventBridge envelope field.
func envelopeKey(field string) string {
	switch field {
	case "id":
		return KeyEventBridgeID
	case "detail-type":
		return KeyEventBridgeDetail
	case "source":
		return KeyEventBridgeSource
	case "resources":
		return KeyEventBridgeResources
	case "version":
		return KeyEventBridgePrefix + "version"
	case "account":
		return KeyEventBridgePrefix + "account"
	case "time":
		return KeyEventBridgePrefix + "time"
	case "region":
		return KeyEventBridgePrefix + "region"
	}
	return KeyEventBridgePrefix + field
}

// addCloudWatch handles a CloudWatch Logs subscription payload.
func addCloudWatch[V view[V]](d *Decoder, index int, env V) {
	messageType, _ := env.str("messageType")
	switch messageType {
	case "CONTROL_MESSAGE":
		d.stats.ControlMessages++
		d.stats.Shapes[ShapeControl]++
		return
	case "DATA_MESSAGE":
	default:
		d.stats.Shapes[ShapeOther]++
		env.toBody(d.newRecord(resourceKey{}, EventNameRecord, 0), false)
		return
	}
	cwl := &cloudWatchContext{}
	cwl.owner, _ = env.str("owner")
	cwl.logGroup, _ = env.str("logGroup")
	cwl.logStream, _ = env.str("logStream")
	if env.has("subscriptionFilters") {
		cwl.filters = pcommon.NewMap()
		env.putAttr(cwl.filters, "f", "subscriptionFilters")
	}
	base := resourceKey{account: cwl.owner, cwl: cwl}
	isArray := env.eachElement("logEvents",
		func(ev V) {
			d.stats.Shapes[ShapeCloudWatch]++
			addLogEvent(d, index, ev, base)
		},
		func(i int) {
			d.stats.Shapes[ShapeCloudWatch]++
			lr := d.newRecord(base, EventNameLogEvent, 0)
			env.elementToBody(lr, "logEvents", i)
		})
	if !isArray {
		d.stats.Shapes[ShapeOther]++
		env.toBody(d.newRecord(base, EventNameRecord, 0), false)
	}
}

// addLogEvent handles one log event of a CloudWatch Logs payload: its message is a
// CloudTrail record, an EventBridge event, other JSON or text.
func addLogEvent[V view[V]](d *Decoder, index int, ev V, base resourceKey) {
	var ts pcommon.Timestamp
	if ms, ok := ev.integer("timestamp"); ok {
		ts = pcommon.Timestamp(ms * int64(time.Millisecond))
	}
	id, hasID := ev.str("id")
	msg, ok := ev.str("message")
	if !ok {
		lr := d.newRecord(base, EventNameLogEvent, ts)
		ev.toBody(lr, false)
		return
	}
	// msg aliases the record buffer (or a copy of an escaped string); nothing modifies it.
	text := unsafe.Slice(unsafe.StringData(msg), len(msg))
	if d.opts.RawBody {
		if isSingleObject(text) {
			if doc, ok := d.rawObject(text); ok {
				addMessage(d, doc, base, ts, extras[rawView]{logEventID: id, hasID: hasID})
				return
			}
		}
	} else if first := firstByte(text); first == '{' {
		d.msgVD.reset(text, false)
		v := d.msg
		if d.msgVD.decode(v) == nil && d.msgVD.sc.AtEnd() {
			addMessage(d, mapView{m: v.Map(), d: d, vd: &d.msgVD}, base, ts, extras[mapView]{logEventID: id, hasID: hasID})
			return
		}
	}
	lr := d.newRecord(base, EventNameLogEvent, ts)
	if hasID {
		lr.Attributes().PutStr(KeyLogEventID, id)
	}
	lr.Body().SetStr(msg)
}

// addMessage handles a log event message that is one JSON object.
func addMessage[V view[V]](d *Decoder, doc V, base resourceKey, ts pcommon.Timestamp, ex extras[V]) {
	switch {
	case doc.has("detail-type") && doc.has("detail"):
		addEventBridge(d, doc, resourceKey{account: base.account, cwl: base.cwl}, ex)
	case looksLikeCloudTrail(doc):
		addCloudTrail(d, doc, base, ex, ts)
	default:
		lr := d.newRecord(base, EventNameLogEvent, ts)
		if ex.hasID {
			lr.Attributes().PutStr(KeyLogEventID, ex.logEventID)
		}
		doc.toBody(lr, false)
	}
}

func isSingleObject(b []byte) bool {
	sc := jsonscan.New(b, false)
	if sc.Peek() != '{' {
		return false
	}
	return sc.Skip() == nil && sc.AtEnd()
}

func firstByte(b []byte) byte {
	sc := jsonscan.New(b, false)
	return sc.Peek()
}

// invalid keeps undecodable data as a log record and counts it.
func (d *Decoder) invalid(index int, raw []byte, shape, errorType string, cause error) {
	d.stats.Shapes[ShapeInvalid]++
	d.stats.Invalid[errorType]++
	lr := d.recordsFor(resourceKey{}).AppendEmpty()
	lr.SetObservedTimestamp(d.observed)
	lr.SetTimestamp(d.observed)
	lr.SetEventName(EventNameInvalidRecord)
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("WARN")
	attrs := lr.Attributes()
	attrs.PutStr(KeyErrorType, errorType)
	attrs.PutStr(KeyErrorMessage, cause.Error())
	attrs.PutStr(KeyRecordShape, shape)
	attrs.PutInt(KeyRecordIndex, int64(index))
	if utf8Valid(raw) {
		lr.Body().SetStr(bytesToString(raw))
	} else {
		lr.Body().SetEmptyBytes().FromRaw(raw)
	}
}

// recordsFor returns the log record slice of the resource key, creating it on first use.
func (d *Decoder) recordsFor(key resourceKey) plog.LogRecordSlice {
	if lrs, ok := d.resources[key]; ok {
		return lrs
	}
	rl := d.logs.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr(KeyCloudProvider, "aws")
	if key.account != "" {
		res.PutStr(KeyCloudAccountID, key.account)
	}
	if key.region != "" {
		res.PutStr(KeyCloudRegion, key.region)
	}
	if d.req.SourceARN != "" {
		res.PutStr(KeyFirehoseARN, d.req.SourceARN)
	}
	if d.req.RequestID != "" {
		res.PutStr(KeyFirehoseRequestID, d.req.RequestID)
	}
	for _, kv := range d.req.CommonAttributes {
		res.PutStr(kv[0], kv[1])
	}
	if d.req.OpenObserveOrganization != "" {
		res.PutStr(KeyOpenObserveOrganization, d.req.OpenObserveOrganization)
		res.PutStr(KeyOpenObserveStream, d.req.OpenObserveStream)
	}
	if c := key.cwl; c != nil {
		if c.logGroup != "" {
			res.PutEmptySlice(KeyLogGroupNames).AppendEmpty().SetStr(c.logGroup)
		}
		if c.logStream != "" {
			res.PutEmptySlice(KeyLogStreamNames).AppendEmpty().SetStr(c.logStream)
		}
		if c.owner != "" {
			res.PutStr(KeyLogOwner, c.owner)
		}
		if c.filters != (pcommon.Map{}) { // absent when the payload has no subscriptionFilters
			if f, ok := c.filters.Get("f"); ok {
				f.CopyTo(res.PutEmpty(KeySubscriptionFilters))
			}
		}

	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(d.opts.ScopeName)
	sl.Scope().SetVersion(d.opts.ScopeVersion)
	lrs := sl.LogRecords()
	d.resources[key] = lrs
	return lrs
}
