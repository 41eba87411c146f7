package cloudtrail

import (
	"bytes"
	"fmt"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// addDocument classifies one top-level JSON object of a record.
func addDocument[V view[V]](d *Decoder, index int, doc V) {
	switch {
	case doc.has("detail-type") && doc.has("detail"):
		d.stats.Shapes[ShapeEventBridge]++
		addEventBridge(d, doc, resourceKey{}, extras[V]{})
	case doc.has("messageType") && (doc.has("logEvents") || isControlMessage(doc)):
		addCloudWatch(d, index, doc)
	case addRecordsFile(d, doc):
	case looksLikeCloudTrail(doc):
		d.stats.Shapes[ShapeBare]++
		addCloudTrail(d, doc, resourceKey{}, extras[V]{}, 0)
	default:
		d.stats.Shapes[ShapeOther]++
		doc.toBody(d.newRecord(resourceKey{}, EventNameRecord, 0), false)
	}
}

// addRecordsFile handles a CloudTrail log file, {"Records":[...]}, and reports whether doc is
// one (its Records is an array).
func addRecordsFile[V view[V]](d *Decoder, doc V) bool {
	if !doc.has("Records") {
		return false
	}
	records := 0
	others := doc.memberCount("Records") // a forwarder's additions; CloudTrail writes none
	isFile := doc.eachElement("Records",
		func(rec V) {
			records++
			ex := extras[V]{}
			if others > 0 {
				ex.file = &doc
			}
			addCloudTrail(d, rec, resourceKey{}, ex, 0)
		},
		func(i int) {
			records++
			lr := d.newRecord(resourceKey{}, EventNameRecord, 0)
			if others > 0 {
				putFileMembers(lr.Attributes(), doc)
			}
			doc.elementToBody(lr, "Records", i)
		})
	if !isFile {
		return false
	}
	if records > 0 {
		d.stats.Shapes[ShapeRecordsFile] += records
	} else if others > 0 {
		// No record to carry the file's other members: keep the document whole.
		d.stats.Shapes[ShapeOther]++
		doc.toBody(d.newRecord(resourceKey{}, EventNameRecord, 0), false)
	}
	return true
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

// isCloudTrailDetail reports whether an EventBridge event carries a CloudTrail record: its
// detail-type ends in " via CloudTrail" and its detail looks like one (REFERENCE §2: classify
// by the suffix plus detail.eventType, not by exact strings).
func isCloudTrailDetail[V view[V]](detailType string, detail V) bool {
	return strings.HasSuffix(detailType, " via CloudTrail") && (detail.has("eventType") || looksLikeCloudTrail(detail))
}

// recordKey is the resource of a CloudTrail record: its own account and region, else base's
// (the envelope's account and region, or the CloudWatch Logs owner).
func recordKey[V view[V]](rec V, base resourceKey) resourceKey {
	account, region := recordResource(rec)
	if account != "" {
		base.account = account
	}
	if region != "" {
		base.region = region
	}
	return base
}

// timestampOf parses an event time; zero when it is not one.
func timestampOf(s string) pcommon.Timestamp {
	if t, ok := parseEventTime(s); ok {
		return pcommon.NewTimestampFromTime(t)
	}
	return 0
}

// extras is what a wrapping adds to a CloudTrail record's attributes.
type extras[V any] struct {
	envelope *V // the EventBridge envelope
	file     *V // the {"Records":[...]} document
	id       logEventID
}

// putFileMembers keeps the members of a {"Records":[...]} document other than Records (a
// forwarder's additions; CloudTrail writes none) as attributes of each of its records.
func putFileMembers[V view[V]](attrs pcommon.Map, file V) {
	file.eachMember("Records", func(k string) { file.putAttr(attrs, KeyLogFilePrefix+k, k) })
}

// logEventID is the id of a CloudWatch Logs log event, for its aws.cloudwatch.log_event_id
// attribute: a string in real data; any other JSON value but null is kept as it is.
type logEventID struct {
	str   string
	other pcommon.Value // when the id is not a string
	ok    bool
}

func logEventIDOf[V view[V]](ev V) logEventID {
	if s, ok := ev.str("id"); ok {
		return logEventID{str: s, ok: true}
	}
	if !ev.has("id") {
		return logEventID{}
	}
	m := pcommon.NewMap()
	ev.putAttr(m, "id", "id")
	if v, ok := m.Get("id"); ok { // putAttr leaves a null out
		return logEventID{other: v, ok: true}
	}
	return logEventID{}
}

func (id logEventID) put(attrs pcommon.Map) {
	switch {
	case !id.ok:
	case id.other == (pcommon.Value{}):
		attrs.PutStr(KeyLogEventID, id.str)
	default:
		id.other.CopyTo(attrs.PutEmpty(KeyLogEventID))
	}
}

// addCloudTrail appends the log record of one CloudTrail record to the resource of its
// account and region; base supplies the envelope's account, region and CloudWatch Logs
// context where the record lacks them; fallback is the timestamp when eventTime is unusable.
func addCloudTrail[V view[V]](d *Decoder, rec V, base resourceKey, ex extras[V], fallback pcommon.Timestamp) {
	lr := d.newRecord(recordKey(rec, base), "", 0)
	extra := literalSlot(&d.vd, &d.msgVD)
	if ex.envelope != nil {
		extra += (*ex.envelope).memberCount("detail")
	}
	if ex.file != nil {
		extra += (*ex.file).memberCount("Records")
	}
	if ex.id.ok {
		extra++
	}
	mapCloudTrail(lr, rec, d, extra)
	if lr.Timestamp() == 0 {
		lr.SetTimestamp(fallback)
	}
	attrs := lr.Attributes()
	if ex.envelope != nil {
		env := *ex.envelope
		env.eachMember("detail", func(k string) { env.putAttr(attrs, envelopeKey(k), k) })
	}
	if ex.file != nil {
		putFileMembers(attrs, *ex.file)
	}
	ex.id.put(attrs)
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
	envTime, _ := env.str("time")
	when := timestampOf(envTime)
	detailType, _ := env.str("detail-type")
	if detail, ok := env.object("detail"); ok && isCloudTrailDetail(detailType, detail) {
		ex.envelope = &env
		addCloudTrail(d, detail, key, ex, when)
		return
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
	env.putAttr(attrs, KeyEventBridgeResources, "resources")
	ex.id.put(attrs)
	env.toBody(lr, false)
}

// envelopeKey names the attribute of an EventBridge envelope field, one name a field: two
// fields sharing an attribute would make the one that wins depend on the order the paths
// visit them in. A field that is not EventBridge's is "aws.eventbridge." + its key, except
// that a key naming another field's attribute (event_id, detail_type), or starting with
// envelopeEscape, has envelopeEscape put before it.
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
	case KeyEventBridgeID[len(KeyEventBridgePrefix):], KeyEventBridgeDetail[len(KeyEventBridgePrefix):]:
		return KeyEventBridgePrefix + envelopeEscape + field
	}
	if strings.HasPrefix(field, envelopeEscape) {
		return KeyEventBridgePrefix + envelopeEscape + field
	}
	return KeyEventBridgePrefix + field
}

// envelopeEscape keeps an envelope field's attribute apart from EventBridge's own (see
// envelopeKey).
const envelopeEscape = "field."

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
	cwl := cloudWatchContextOf(d, env)
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

// cloudWatchContextOf returns the context of a DATA_MESSAGE payload, the same one for every
// payload of the request with the same envelope, so that their records share a resource.
func cloudWatchContextOf[V view[V]](d *Decoder, env V) *cloudWatchContext {
	var id cloudWatchIdentity
	id.owner, _ = env.str("owner")
	id.logGroup, _ = env.str("logGroup")
	id.logStream, _ = env.str("logStream")
	var filters pcommon.Map
	if env.has("subscriptionFilters") {
		filters = pcommon.NewMap()
		env.putAttr(filters, "f", "subscriptionFilters")
		if f, ok := filters.Get("f"); ok {
			id.filters = fmt.Sprintf("%#v", f.AsRaw()) // a list of a few names, in real data
		} else {
			filters = pcommon.Map{} // null: no attribute
		}
	}
	if c, ok := d.cloudWatch[id]; ok {
		return c
	}
	c := &cloudWatchContext{owner: id.owner, logGroup: id.logGroup, logStream: id.logStream, filters: filters}
	if d.cloudWatch == nil {
		d.cloudWatch = map[cloudWatchIdentity]*cloudWatchContext{}
	}
	d.cloudWatch[id] = c
	return c
}

// cloudWatchIdentity tells the envelopes of CloudWatch Logs payloads apart.
type cloudWatchIdentity struct {
	owner, logGroup, logStream string
	filters                    string // subscriptionFilters, printed with %#v; "" when absent
}

// addLogEvent handles one log event of a CloudWatch Logs payload: its message is a
// CloudTrail record, an EventBridge event, other JSON or text.
func addLogEvent[V view[V]](d *Decoder, index int, ev V, base resourceKey) {
	var ts pcommon.Timestamp
	if ms, ok := ev.integer("timestamp"); ok {
		ts = timestampFromMillis(ms)
	}
	id := logEventIDOf(ev)
	msg, ok := ev.str("message")
	if !ok {
		lr := d.newRecord(base, EventNameLogEvent, ts)
		id.put(lr.Attributes())
		ev.toBody(lr, false)
		return
	}
	// msg aliases the record buffer (or a copy of an escaped string); nothing modifies it.
	text := unsafe.Slice(unsafe.StringData(msg), len(msg))
	if d.opts.RawBody {
		// The record's text is the object's, without the whitespace around it.
		if obj := bytes.Trim(text, jsonSpace); isSingleObject(obj) {
			if doc, ok := d.rawObject(obj); ok {
				addMessage(d, doc, base, ts, extras[rawView]{id: id})
				return
			}
		}
	} else if first := firstByte(text); first == '{' {
		d.msgVD.reset(text, false)
		v := d.msg
		if d.msgVD.decode(v) == nil && d.msgVD.sc.AtEnd() {
			addMessage(d, mapView{m: v.Map(), d: d, vd: &d.msgVD}, base, ts, extras[mapView]{id: id})
			return
		}
	}
	lr := d.newRecord(base, EventNameLogEvent, ts)
	id.put(lr.Attributes())
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
		ex.id.put(lr.Attributes())
		doc.toBody(lr, false)
	}
}

// jsonSpace is JSON's whitespace.
const jsonSpace = " \t\r\n"

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
