package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	// the CloudWatch Logs payload envelopes of the request, one context for equal ones
	cloudWatch map[cloudWatchIdentity]*cloudWatchContext
	stats      Stats
	vd         valueDecoder   // documents (and, in raw mode, every value)
	msgVD      valueDecoder   // map mode: CloudWatch Logs messages, decoded while vd's document is in use
	doc, msg   pcommon.Value  // map mode: each document, each log event message, decoded here first
	envelope   plog.LogRecord // map mode: an EventBridge event's record, built before its resource is known
	levels     [][]member     // raw mode: member buffers by nesting depth, while scanning
	arena      []member       // raw mode: the scanned members of the current document
	gz         *gzip.Reader
	inflated   int64  // decompressed bytes of this request's gzip records
	cells      cells  // where string, map and array values are allocated
	attrList   []attr // a record's mapped attributes, while they are collected
}

// NewDecoder returns a Decoder.
func NewDecoder(opts Options) *Decoder {
	if opts.MaxRecordSize <= 0 {
		opts.MaxRecordSize = 64 << 20
	}
	d := &Decoder{opts: opts, doc: pcommon.NewValueEmpty(), msg: pcommon.NewValueEmpty(), envelope: plog.NewLogRecord()}
	d.vd.cells, d.msgVD.cells = &d.cells, &d.cells
	return d
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
	clear(d.cloudWatch)
	if d.resources == nil {
		d.resources = make(map[resourceKey]plog.LogRecordSlice, 4)
	}
	d.stats = Stats{Shapes: map[string]int{}, Invalid: map[string]int{}}
	d.inflated = 0
	d.cells.begin()
}

// Finish returns the request's logs and counts. The logs alias the record buffers passed to
// AddRecord, which must not be modified afterwards.
func (d *Decoder) Finish() (plog.Logs, Stats) {
	logs, stats := d.logs, d.stats
	d.logs = plog.Logs{}
	clear(d.resources)
	clear(d.cloudWatch)
	d.release()
	return logs, stats
}

// release drops every reference to this request's buffers, so that a pooled decoder does not
// keep them alive.
func (d *Decoder) release() {
	d.vd.release()
	d.msgVD.release()
	d.cells.release()
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

// newRecord appends a log record to the resource of key.
func (d *Decoder) newRecord(key resourceKey, name string, ts pcommon.Timestamp) plog.LogRecord {
	lr := d.recordsFor(key).AppendEmpty()
	lr.SetObservedTimestamp(d.observed)
	lr.SetTimestamp(ts)
	lr.SetEventName(name)
	return lr
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
