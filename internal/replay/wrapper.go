package replay

import (
	"fmt"
	"iter"
	"math/big"
	"time"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// Wrap names how CloudTrail events reach Firehose, and so what one Firehose record holds.
type Wrap string

const (
	// WrapEventBridge: an EventBridge rule targets the stream; one EventBridge event per record.
	WrapEventBridge Wrap = "eventbridge"
	// WrapBare: something (a Lambda reading CloudTrail's S3 files) puts one CloudTrail record
	// per Firehose record.
	WrapBare Wrap = "bare"
	// WrapRecordsFile: whole CloudTrail log files {"Records":[...]}, one per record.
	WrapRecordsFile Wrap = "records-file"
	// WrapCloudWatch: CloudTrail → CloudWatch Logs → subscription filter; one DATA_MESSAGE
	// payload per record.
	WrapCloudWatch Wrap = "cloudwatch"
)

// Wraps lists every Wrap.
var Wraps = []Wrap{WrapEventBridge, WrapBare, WrapRecordsFile, WrapCloudWatch}

// DefaultCloudWatchEvents is how many log events a CloudWatch Logs payload holds at most by
// default.
const DefaultCloudWatchEvents = 100

// Wrapper turns a stream of Events into Firehose records the way one delivery path does.
type Wrapper struct {
	Wrap Wrap
	// GzipRecords gzips every record's data: CloudWatch Logs always does, and a log file
	// forwarded from S3 is gzip too.
	GzipRecords bool
	// MaxEvents bounds the events of one records file or CloudWatch Logs payload. Zero means
	// DefaultCloudWatchEvents for cloudwatch and no bound for records-file, where a file ends
	// where its input file ends. Either way a record stays within FirehoseMaxRecordBytes before
	// compression, unless one event alone is larger.
	MaxEvents int
	// CloudWatch describes the log group (cloudwatch only). Options left empty come from each
	// payload's first record, and then consecutive events share a payload only when they share
	// account and region, as CloudTrail writes one log stream per account and region. A given
	// FirstEventID keeps counting up across payloads.
	CloudWatch CloudWatchOptions
	// ControlMessage sends a CONTROL_MESSAGE first, as CloudWatch Logs does when a subscription
	// is created (cloudwatch only).
	ControlMessage bool
}

// Validate checks the configuration.
func (w Wrapper) Validate() error {
	switch w.Wrap {
	case WrapEventBridge, WrapBare, WrapRecordsFile, WrapCloudWatch:
	default:
		return fmt.Errorf("wrap %q: want one of %v", w.Wrap, Wraps)
	}
	if w.MaxEvents < 0 {
		return fmt.Errorf("max events %d: must not be negative", w.MaxEvents)
	}
	return nil
}

// Records returns the Firehose records for events. An error of the event stream, or of an
// event that cannot be wrapped, is yielded and ends the stream.
func (w Wrapper) Records(events iter.Seq2[Event, error]) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		if err := w.Validate(); err != nil {
			yield(nil, err)
			return
		}
		out := func(b []byte) bool {
			if w.GzipRecords {
				b = Gzip(b)
			}
			return yield(b, nil)
		}
		switch w.Wrap {
		case WrapEventBridge, WrapBare:
			w.each(events, out, yield)
		case WrapRecordsFile:
			w.recordsFiles(events, out, yield)
		case WrapCloudWatch:
			if w.ControlMessage && !out(ControlMessage()) {
				return
			}
			w.cloudWatch(events, out, yield)
		}
	}
}

// each wraps events one by one.
func (w Wrapper) each(events iter.Seq2[Event, error], out func([]byte) bool, yield func([]byte, error) bool) {
	for e, err := range events {
		if err != nil {
			yield(nil, err)
			return
		}
		record := e.Record
		if w.Wrap == WrapEventBridge {
			record = e.Envelope
			if record == nil {
				if record, err = EventBridgeEvent(e.Record); err != nil {
					yield(nil, fmt.Errorf("%s: event %d: %w", e.File, e.Pos, err))
					return
				}
			}
		}
		if !out(record) {
			return
		}
	}
}

// recordsFiles groups the events of each input file into log files.
func (w Wrapper) recordsFiles(events iter.Seq2[Event, error], out func([]byte) bool, yield func([]byte, error) bool) {
	var (
		group [][]byte
		file  string
		size  int
	)
	flush := func() bool {
		if len(group) == 0 {
			return true
		}
		b := RecordsFile(group)
		group, size = nil, len(`{"Records":[]}`)
		return out(b)
	}
	size = len(`{"Records":[]}`)
	for e, err := range events {
		if err != nil {
			if flush() {
				yield(nil, err)
			}
			return
		}
		full := w.MaxEvents > 0 && len(group) == w.MaxEvents
		if e.File != file || full || size+len(e.Record)+1 > FirehoseMaxRecordBytes {
			if !flush() {
				return
			}
			file = e.File
		}
		group = append(group, e.Record)
		size += len(e.Record) + 1
	}
	flush()
}

// cloudWatch groups events into DATA_MESSAGE payloads.
func (w Wrapper) cloudWatch(events iter.Seq2[Event, error], out func([]byte) bool, yield func([]byte, error) bool) {
	maxEvents := w.MaxEvents
	if maxEvents == 0 {
		maxEvents = DefaultCloudWatchEvents
	}
	var (
		group []cloudWatchEvent
		opts  CloudWatchOptions
		key   string
		size  int
		buf   []byte
		// nextID continues a given FirstEventID from payload to payload.
		nextID = w.CloudWatch.FirstEventID
	)
	flush := func() bool {
		if len(group) == 0 {
			return true
		}
		opts.FirstEventID = nextID
		b, err := cloudWatchPayload(group, opts)
		if nextID != nil {
			nextID = new(big.Int).Add(nextID, big.NewInt(int64(len(group))))
		}
		group = nil
		if err != nil {
			yield(nil, err)
			return false
		}
		return out(b)
	}
	for e, err := range events {
		if err != nil {
			if flush() {
				yield(nil, err)
			}
			return
		}
		event, f := newCloudWatchEvent(e.Record, time.Now())
		eventOpts := w.CloudWatch.withDefaults(f)
		eventKey := eventOpts.Owner + "\x00" + eventOpts.LogGroup + "\x00" + eventOpts.LogStream
		buf = jsonwrite.AppendString(buf[:0], string(e.Record))
		n := len(buf) + cloudWatchEventOverhead
		if len(group) > 0 && (eventKey != key || len(group) == maxEvents || size+n > FirehoseMaxRecordBytes) {
			if !flush() {
				return
			}
		}
		if len(group) == 0 {
			opts, key, size = eventOpts, eventKey, cloudWatchPayloadOverhead
		}
		group = append(group, event)
		size += n
	}
	flush()
}
