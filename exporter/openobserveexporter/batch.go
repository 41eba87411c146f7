package openobserveexporter

import (
	"net/url"
	"strings"
)

// batch collects the rows of one destination (organization and stream) into the body of one
// _json request: a JSON array, kept under the byte, record and column limits.
type batch struct {
	org, stream string
	url         string

	buf  []byte    // '[' then the rows, comma-separated; ']' is added when sending
	rows []rowSpan // where each row is in buf, and which log record it came from
	cols keyIndex  // the distinct column names of the rows (hashes)

	// failure, once set, fails every further row of this destination without sending it:
	// OpenObserve refused the credentials for this organization.
	failure *sendResult
}

type rowSpan struct {
	start, end int
	record     int // index of the log record in the pushed plog.Logs
}

// init readies the batch for a destination, keeping its buffers.
func (b *batch) init(baseURL, org, stream string) {
	b.org, b.stream = org, stream
	b.url = baseURL + "/api/" + url.PathEscape(org) + "/" + url.PathEscape(stream) + "/_json"
	b.failure = nil
	b.reset()
}

func (b *batch) reset() {
	b.buf = b.buf[:0]
	b.rows = b.rows[:0]
	b.cols.reset()
}

// fits reports whether a row of n bytes with the given column hashes can join the batch, and
// records its columns when it can. A batch always takes its first row.
func (b *batch) fits(n int, fields []field, lim *limits) bool {
	if len(b.rows) == 0 {
		for i := range fields {
			if !fields[i].dead {
				b.cols.add(fields[i].hash)
			}
		}
		return true
	}
	if len(b.rows) >= lim.records || len(b.buf)+1+n+1 > lim.bytes {
		return false
	}
	for i := range fields {
		if !fields[i].dead {
			b.cols.add(fields[i].hash)
		}
	}
	// The new columns were added even if the row is refused: the batch is flushed and reset
	// right after a refusal, so the over-count is never used.
	return b.cols.len() <= lim.columns
}

func (b *batch) append(row []byte, record int) {
	if len(b.rows) == 0 {
		b.buf = append(b.buf[:0], '[')
	} else {
		b.buf = append(b.buf, ',')
	}
	start := len(b.buf)
	b.buf = append(b.buf, row...)
	b.rows = append(b.rows, rowSpan{start: start, end: len(b.buf), record: record})
}

// body returns the JSON array of rows [i, j), reusing scratch when it is not the whole batch.
func (b *batch) body(i, j int, scratch []byte) []byte {
	if i == 0 && j == len(b.rows) {
		b.buf = append(b.buf, ']')
		body := b.buf
		b.buf = b.buf[:len(b.buf)-1]
		return body
	}
	scratch = append(scratch[:0], '[')
	scratch = append(scratch, b.buf[b.rows[i].start:b.rows[j-1].end]...)
	return append(scratch, ']')
}

type limits struct {
	bytes, records, columns int
}

// formatStreamName applies OpenObserve's stream-name rule (each run of characters outside
// [a-zA-Z0-9_:] becomes one "_", then lower case: its regex [^a-zA-Z0-9_:]+ and the default
// ZO_FORMAT_STREAM_NAME_TO_LOWERCASE=true), so that logs and metrics name the stream
// OpenObserve writes, the one a Firehose stream pointed straight at OpenObserve fills.
// Like OpenObserve, it does not trim: " x" is "_x".
func formatStreamName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inRun := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == ':':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		default:
			if !inRun {
				b.WriteByte('_')
			}
			inRun = true
			continue
		}
		inRun = false
	}
	return b.String()
}
