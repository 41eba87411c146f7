package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

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
	// MaxRecordSize bounds the decompressed size of one gzip record (a CloudWatch Logs
	// payload); larger records become invalid records. Zero means 64 MiB.
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
	vd        valueDecoder
	sc        scratch
	top       []member // members of the current document
	inner     []member // members of an envelope's detail or a log event
	events    []member
	message   []member // members of a log event's message
	gz        *gzip.Reader
}

// NewDecoder returns a Decoder.
func NewDecoder(opts Options) *Decoder {
	if opts.MaxRecordSize <= 0 {
		opts.MaxRecordSize = 64 << 20
	}
	return &Decoder{opts: opts}
}

// resourceKey identifies one ResourceLogs within a request.
type resourceKey struct {
	account, region string
	cwl             *cloudWatchContext
}

// cloudWatchContext is the envelope of one CloudWatch Logs DATA_MESSAGE.
type cloudWatchContext struct {
	owner, logGroup, logStream string
	filters                    []byte // raw JSON array
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
}

// Finish returns the request's logs and counts. The logs alias the record buffers passed to
// AddRecord, which must not be modified afterwards.
func (d *Decoder) Finish() (plog.Logs, Stats) {
	logs, stats := d.logs, d.stats
	d.logs = plog.Logs{}
	clear(d.resources)
	return logs, stats
}

// AddInvalid adds a record that could not be decoded before it reached this package (bad
// base64), keeping its raw data.
func (d *Decoder) AddInvalid(index int, raw []byte, errorType string, cause error) {
	d.invalid(index, raw, ShapeInvalid, errorType, cause)
}

// AddRecord decodes one Firehose record's data. data is owned by the decoder from now on:
// in map mode, escaped strings are decoded in place and the log bodies alias data.
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
	for !sc.AtEnd() {
		start := sc.Pos()
		var err error
		if sc.Peek() == '{' {
			d.top, err = scanObject(&sc, d.top[:0]) // validates the document
		} else {
			err = sc.Skip()
		}
		if err != nil {
			d.invalid(index, data[start:], ShapeInvalid, ErrorTypeInvalidJSON, err)
			return
		}
		d.addDocument(index, data[start:sc.Pos()])
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
	// Decompressed CloudWatch Logs payloads are typically 5-15x their compressed size.
	buf := bytes.NewBuffer(make([]byte, 0, min(int64(len(data))*8, d.opts.MaxRecordSize)))
	n, err := io.Copy(buf, io.LimitReader(d.gz, d.opts.MaxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if n > d.opts.MaxRecordSize {
		return nil, fmt.Errorf("%w (%d bytes)", errRecordTooLarge, d.opts.MaxRecordSize)
	}
	return buf.Bytes(), nil
}

// addDocument handles one validated top-level JSON value of a record.
func (d *Decoder) addDocument(index int, doc []byte) {
	if !isObject(doc) {
		d.stats.Shapes[ShapeOther]++
		d.addOther(EventNameRecord, doc, resourceKey{}, 0)
		return
	}
	// d.top holds doc's members (AddRecord scanned them).
	switch {
	case find(d.top, "detail-type") != nil && find(d.top, "detail") != nil:
		d.stats.Shapes[ShapeEventBridge]++
		d.addEventBridge(doc, d.top, nil, nil)
	case find(d.top, "messageType") != nil && find(d.top, "logEvents") != nil || isControlMessage(d.top):
		d.addCloudWatch(index, d.top)
	case len(find(d.top, "Records")) > 0 && find(d.top, "Records")[0] == '[':
		d.addRecordsFile(find(d.top, "Records"))
	case looksLikeCloudTrail(d.top):
		d.stats.Shapes[ShapeBare]++
		d.addCloudTrail(doc, d.top, resourceKey{}, nil, 0)
	default:
		d.stats.Shapes[ShapeOther]++
		d.addOther(EventNameRecord, doc, resourceKey{}, 0)
	}
}

// cloudTrailKeys are top-level keys of CloudTrail records; a JSON object holding at least two
// of them is taken for one (Insight events lack eventName, exported ones eventVersion or eventTime).
var cloudTrailKeys = [...]string{"eventVersion", "eventTime", "eventName", "eventSource", "eventType", "eventID", "userIdentity", "awsRegion", "recipientAccountId"}

func looksLikeCloudTrail(ms []member) bool {
	n := 0
	for _, k := range cloudTrailKeys {
		if find(ms, k) != nil {
			n++
		}
	}
	return n >= 2
}

func isControlMessage(ms []member) bool {
	t, _ := rawString(find(ms, "messageType"))
	return t == "CONTROL_MESSAGE"
}

// addCloudTrail appends the log record of one CloudTrail record (raw is its JSON text and
// top its members) to the resource of its account and region; base supplies the envelope's
// account, region and CloudWatch Logs context where the record lacks them.
func (d *Decoder) addCloudTrail(raw []byte, top []member, base resourceKey, extra func(pcommon.Map), fallback pcommon.Timestamp) {
	key := base
	if a, _ := rawString(find(top, "recipientAccountId")); a != "" {
		key.account = a
	} else if a := identityAccount(top, &d.sc); a != "" {
		key.account = a
	}
	if r, _ := rawString(find(top, "awsRegion")); r != "" {
		key.region = r
	}
	lr := d.recordsFor(key).AppendEmpty()
	lr.SetObservedTimestamp(d.observed)
	mapCloudTrail(lr, top, &d.sc)
	if lr.Timestamp() == 0 {
		lr.SetTimestamp(fallback)
	}
	if extra != nil {
		extra(lr.Attributes())
	}
	d.setBody(lr, raw, d.opts.RawBody)
}

// setBody stores raw as the body: its text, or its value decoded without loss.
func (d *Decoder) setBody(lr plog.LogRecord, raw []byte, rawText bool) {
	if rawText {
		lr.Body().SetStr(bytesToString(raw))
		return
	}
	d.vd.reset(raw, true)
	if err := d.vd.decode(lr.Body()); err != nil {
		// Unreachable for validated input; keep the record visible rather than lose it.
		lr.Attributes().PutStr(KeyErrorType, ErrorTypeInvalidJSON)
		lr.Attributes().PutStr(KeyErrorMessage, err.Error())
		return
	}
	if len(d.vd.literals) > 0 {
		s := lr.Attributes().PutEmptySlice(KeyNumberLiterals)
		s.EnsureCapacity(len(d.vd.literals))
		for _, p := range d.vd.literals {
			s.AppendEmpty().SetStr(p)
		}
	}
}

func identityAccount(top []member, sc *scratch) string {
	raw := find(top, "userIdentity")
	if !isObject(raw) {
		return ""
	}
	var err error
	if sc.identity, err = scanMembers(sc.identity[:0], raw); err != nil {
		return ""
	}
	a, _ := rawString(find(sc.identity, "accountId"))
	return a
}

// addEventBridge handles an EventBridge event: a CloudTrail record in its detail, or any
// other event kept whole.
func (d *Decoder) addEventBridge(doc []byte, env []member, cwl *cloudWatchContext, extra func(pcommon.Map)) {
	detailType, _ := rawString(find(env, "detail-type"))
	detail := find(env, "detail")
	key := resourceKey{cwl: cwl}
	key.account, _ = rawString(find(env, "account"))
	key.region, _ = rawString(find(env, "region"))
	var when pcommon.Timestamp
	if s, ok := rawString(find(env, "time")); ok {
		if t, ok := parseEventTime(s); ok {
			when = pcommon.NewTimestampFromTime(t)
		}
	}
	if strings.HasSuffix(detailType, " via CloudTrail") && isObject(detail) {
		d.inner, _ = scanMembers(d.inner[:0], detail)
		if find(d.inner, "eventType") != nil || looksLikeCloudTrail(d.inner) {
			envelope := func(attrs pcommon.Map) {
				d.putEnvelope(attrs, env)
				if extra != nil {
					extra(attrs)
				}
			}
			d.addCloudTrail(detail, d.inner, key, envelope, when)
			return
		}
	}
	lr := d.recordsFor(key).AppendEmpty()
	lr.SetObservedTimestamp(d.observed)
	lr.SetTimestamp(when)
	lr.SetEventName(EventNameEventBridge)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	attrs := lr.Attributes()
	for _, m := range env {
		switch m.key {
		case "id", "detail-type", "source":
			if s, ok := rawString(m.raw); ok {
				attrs.PutStr(envelopeKey(m.key), s)
			}
		}
	}
	if extra != nil {
		extra(attrs)
	}
	d.setBody(lr, doc, false)
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
	}
	return KeyEventBridgePrefix + field
}

// putEnvelope keeps every envelope field but detail as an attribute, values decoded as they are.
func (d *Decoder) putEnvelope(attrs pcommon.Map, env []member) {
	for _, m := range env {
		if m.key == "detail" {
			continue
		}
		d.vd.reset(m.raw, !d.opts.RawBody)
		_ = d.vd.decode(attrs.PutEmpty(envelopeKey(m.key))) // validated
	}
}

// addRecordsFile handles a CloudTrail log file {"Records":[...]}.
func (d *Decoder) addRecordsFile(records []byte) {
	sc := jsonscan.New(records, false)
	sc.Consume('[')
	for first := true; ; first = false {
		more, err := sc.More(']', first)
		if err != nil || !more {
			return // validated: err is nil
		}
		raw, _ := sc.Raw()
		d.stats.Shapes[ShapeRecordsFile]++
		if isObject(raw) {
			d.inner, _ = scanMembers(d.inner[:0], raw)
			d.addCloudTrail(raw, d.inner, resourceKey{}, nil, 0)
		} else {
			d.addOther(EventNameRecord, raw, resourceKey{}, 0)
		}
	}
}

// addCloudWatch handles a CloudWatch Logs subscription payload.
func (d *Decoder) addCloudWatch(index int, env []member) {
	messageType, _ := rawString(find(env, "messageType"))
	switch messageType {
	case "CONTROL_MESSAGE":
		d.stats.ControlMessages++
		d.stats.Shapes[ShapeControl]++
		return
	case "DATA_MESSAGE":
	default:
		d.stats.Shapes[ShapeOther]++
		d.addOther(EventNameRecord, nil, resourceKey{}, 0, env...)
		return
	}
	cwl := &cloudWatchContext{filters: find(env, "subscriptionFilters")}
	cwl.owner, _ = rawString(find(env, "owner"))
	cwl.logGroup, _ = rawString(find(env, "logGroup"))
	cwl.logStream, _ = rawString(find(env, "logStream"))
	base := resourceKey{account: cwl.owner, cwl: cwl}

	events := find(env, "logEvents")
	sc := jsonscan.New(events, false)
	if !sc.Consume('[') {
		d.invalid(index, events, ShapeCloudWatch, ErrorTypeInvalidJSON, errors.New("logEvents is not an array"))
		return
	}
	for first := true; ; first = false {
		more, err := sc.More(']', first)
		if err != nil || !more {
			return
		}
		raw, _ := sc.Raw()
		d.stats.Shapes[ShapeCloudWatch]++
		d.addLogEvent(index, raw, base)
	}
}

// addLogEvent handles one element of logEvents.
func (d *Decoder) addLogEvent(index int, raw []byte, base resourceKey) {
	if !isObject(raw) {
		d.invalid(index, raw, ShapeCloudWatch, ErrorTypeInvalidJSON, errors.New("log event is not an object"))
		return
	}
	d.events, _ = scanMembers(d.events[:0], raw)
	idRaw := find(d.events, "id")
	var ts pcommon.Timestamp
	if n, ok := rawInt(find(d.events, "timestamp")); ok {
		ts = pcommon.Timestamp(n * int64(time.Millisecond))
	}
	withID := func(attrs pcommon.Map) {
		if id, ok := rawString(idRaw); ok {
			attrs.PutStr(KeyLogEventID, id)
		}
	}
	msgRaw := find(d.events, "message")
	if len(msgRaw) == 0 || msgRaw[0] != '"' {
		d.invalid(index, raw, ShapeCloudWatch, ErrorTypeInvalidJSON, errors.New("log event has no string message"))
		return
	}
	msgSc := jsonscan.New(msgRaw, !d.opts.RawBody)
	msg, _ := msgSc.StringBytes() // validated

	if isSingleObject(msg) {
		d.message, _ = scanMembers(d.message[:0], msg)
		switch {
		case find(d.message, "detail-type") != nil && find(d.message, "detail") != nil:
			d.addEventBridge(msg, d.message, base.cwl, withID)
			return
		case looksLikeCloudTrail(d.message):
			d.addCloudTrail(msg, d.message, base, withID, ts)
			return
		}
	}
	lr := d.recordsFor(base).AppendEmpty()
	lr.SetObservedTimestamp(d.observed)
	lr.SetTimestamp(ts)
	lr.SetEventName(EventNameLogEvent)
	withID(lr.Attributes())
	if isSingleObject(msg) || isSingleArray(msg) {
		d.setBody(lr, msg, false)
	} else {
		lr.Body().SetStr(bytesToString(msg))
	}
}

func isSingleObject(b []byte) bool { return isSingle(b, '{') }
func isSingleArray(b []byte) bool  { return isSingle(b, '[') }

// isSingle reports whether b holds exactly one valid JSON value that starts with open.
func isSingle(b []byte, open byte) bool {
	sc := jsonscan.New(b, false)
	if sc.Peek() != open {
		return false
	}
	return sc.Skip() == nil && sc.AtEnd()
}

func rawInt(raw []byte) (int64, bool) {
	sc := jsonscan.New(raw, false)
	lit, kind, err := sc.Number()
	if err != nil || kind != jsonscan.Integer {
		return 0, false
	}
	var n int64
	for _, c := range lit {
		if c == '-' {
			continue
		}
		if n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if lit[0] == '-' {
		n = -n
	}
	return n, true
}

// addOther keeps a decodable value that is not CloudTrail as a log record whose body is the
// value. When doc is nil, the members form the body.
func (d *Decoder) addOther(name string, doc []byte, key resourceKey, ts pcommon.Timestamp, members ...member) {
	lr := d.recordsFor(key).AppendEmpty()
	lr.SetObservedTimestamp(d.observed)
	lr.SetTimestamp(ts)
	lr.SetEventName(name)
	if doc != nil {
		d.setBody(lr, doc, false)
		return
	}
	body := lr.Body().SetEmptyMap()
	body.EnsureCapacity(len(members))
	for _, m := range members {
		d.vd.reset(m.raw, !d.opts.RawBody)
		_ = d.vd.decode(body.PutEmpty(m.key))
	}
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
		res.PutEmptySlice(KeyLogGroupNames).AppendEmpty().SetStr(c.logGroup)
		res.PutEmptySlice(KeyLogStreamNames).AppendEmpty().SetStr(c.logStream)
		if c.owner != "" {
			res.PutStr(KeyLogOwner, c.owner)
		}
		if len(c.filters) > 0 && c.filters[0] == '[' {
			d.vd.reset(c.filters, false)
			_ = d.vd.decode(res.PutEmpty(KeySubscriptionFilters))
		}
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(d.opts.ScopeName)
	sl.Scope().SetVersion(d.opts.ScopeVersion)
	lrs := sl.LogRecords()
	d.resources[key] = lrs
	return lrs
}
