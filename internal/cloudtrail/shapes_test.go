package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

func allRecords(logs plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, lr)
			}
		}
	}
	return out
}

func decodeAll(t *testing.T, opts Options, records ...[]byte) (plog.Logs, Stats) {
	t.Helper()
	d := NewDecoder(opts)
	d.Begin(Request{RequestID: "r", Received: time.Unix(1700000000, 0)})
	for i, r := range records {
		d.AddRecord(i, bytes.Clone(r))
	}
	return d.Finish()
}

// firehoseRecords decodes the records of a real Firehose request body the slow way.
func firehoseRecords(t *testing.T, file string) [][]byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("../../testdata/firehose-requests", file))
	require.NoError(t, err)
	var req struct {
		Records []struct{ Data string } `json:"records"`
	}
	require.NoError(t, json.Unmarshal(body, &req))
	var out [][]byte
	for _, r := range req.Records {
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			data = []byte(r.Data)
		}
		out = append(out, data)
	}
	return out
}

func TestRealCloudWatchLogsBodies(t *testing.T) {
	t.Run("control messages carry no events and are counted", func(t *testing.T) {
		logs, stats := decodeAll(t, Options{}, firehoseRecords(t, "grafana-alloy/cw_logs_with_only_control_messages.json")...)
		assert.Zero(t, logs.LogRecordCount())
		assert.Equal(t, 1, stats.ControlMessages)
	})
	t.Run("non-CloudTrail log events are kept with their 56-digit ids as strings", func(t *testing.T) {
		logs, stats := decodeAll(t, Options{}, firehoseRecords(t, "grafana-alloy/cw_logs_mixed.json")...)
		assert.Equal(t, 1, stats.ControlMessages)
		recs := allRecords(logs)
		require.NotEmpty(t, recs)
		for _, lr := range recs {
			assert.Equal(t, EventNameLogEvent, lr.EventName())
			id, ok := lr.Attributes().Get(KeyLogEventID)
			require.True(t, ok)
			assert.Len(t, id.Str(), 56)
			assert.NotZero(t, lr.Timestamp(), "the log event's timestamp")
		}
		res := logs.ResourceLogs().At(0).Resource().Attributes().AsRaw()
		assert.NotEmpty(t, res[KeyLogGroupNames])
		assert.NotEmpty(t, res[KeyLogStreamNames])
	})
	t.Run("a truncated record is kept as invalid, the others go through", func(t *testing.T) {
		logs, stats := decodeAll(t, Options{}, firehoseRecords(t, "grafana-alloy/cw_logs_control_and_bad_records.json")...)
		assert.Equal(t, 1, stats.Invalid[ErrorTypeInvalidGzip]+stats.Invalid[ErrorTypeInvalidJSON])
		var invalid int
		for _, lr := range allRecords(logs) {
			if lr.EventName() == EventNameInvalidRecord {
				invalid++
				idx, _ := lr.Attributes().Get(KeyRecordIndex)
				assert.Equal(t, int64(1), idx.Int())
			}
		}
		assert.Equal(t, 1, invalid)
	})
	t.Run("the OpenTelemetry CloudTrail sample maps its subscription context", func(t *testing.T) {
		payload, err := os.ReadFile("../../testdata/cloudtrail/cloudwatch-logs-subscription-cloudtrail-otel.ndjson")
		require.NoError(t, err)
		logs, stats := decodeAll(t, Options{}, replay.Gzip(payload))
		assert.Equal(t, 1, stats.Shapes[ShapeCloudWatch])
		require.Equal(t, 1, logs.LogRecordCount())
		lr := allRecords(logs)[0]
		assert.Equal(t, "aws.cloudtrail.api_call", lr.EventName())
		id, _ := lr.Attributes().Get(KeyLogEventID)
		assert.Equal(t, "eventId1", id.Str())
		res := logs.ResourceLogs().At(0).Resource().Attributes().AsRaw()
		assert.Equal(t, []any{"/aws/cloudtrail/logs"}, res[KeyLogGroupNames])
		assert.Equal(t, []any{"CloudTrailLogSubscription"}, res[KeySubscriptionFilters])
		assert.Equal(t, "123456789010", res[KeyLogOwner])
	})
}

func TestNonCloudTrailEventBridgeEventsAreKept(t *testing.T) {
	f, err := os.Open("../../testdata/cloudtrail/eventbridge-non-cloudtrail-cloud-custodian.ndjson")
	require.NoError(t, err)
	defer f.Close()
	events, err := replay.ReadNDJSON(f)
	require.NoError(t, err)
	logs, stats := decodeAll(t, Options{}, events...)
	assert.Equal(t, len(events), stats.Shapes[ShapeEventBridge])
	recs := allRecords(logs)
	require.Len(t, recs, len(events))
	for _, lr := range recs {
		assert.Equal(t, EventNameEventBridge, lr.EventName())
		body := lr.Body().Map().AsRaw()
		assert.Contains(t, body, "detail-type", "the whole envelope is the body")
		dt, _ := lr.Attributes().Get(KeyEventBridgeDetail)
		assert.Equal(t, body["detail-type"], dt.Str())
	}
}

func TestRecordOddities(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		check func(t *testing.T, logs plog.Logs, stats Stats)
	}{
		{
			name: "several JSON documents in one record each become a log record",
			data: []byte(`{"eventVersion":"1.08","eventName":"A","eventTime":"2024-01-02T03:04:05Z"}` + "\n" + `{"eventVersion":"1.08","eventName":"B"}`),
			check: func(t *testing.T, logs plog.Logs, stats Stats) {
				assert.Equal(t, 2, logs.LogRecordCount())
				assert.Equal(t, 2, stats.Shapes[ShapeBare])
			},
		},
		{
			name: "a valid document followed by garbage keeps both",
			data: []byte(`{"eventVersion":"1.08","eventName":"A"} {"broken":`),
			check: func(t *testing.T, logs plog.Logs, stats Stats) {
				recs := allRecords(logs)
				require.Len(t, recs, 2)
				assert.Equal(t, 1, stats.Invalid[ErrorTypeInvalidJSON])
				for _, lr := range recs {
					if lr.EventName() == EventNameInvalidRecord {
						assert.Equal(t, `{"broken":`, lr.Body().Str())
					}
				}
			},
		},
		{
			name: "text that is not JSON is an invalid record with its text",
			data: []byte("hello, not json"),
			check: func(t *testing.T, logs plog.Logs, stats Stats) {
				lr := allRecords(logs)[0]
				assert.Equal(t, EventNameInvalidRecord, lr.EventName())
				assert.Equal(t, "hello, not json", lr.Body().Str())
			},
		},
		{
			name: "bad gzip is an invalid record with its bytes",
			data: []byte{0x1f, 0x8b, 0x00, 0x01, 0x02},
			check: func(t *testing.T, logs plog.Logs, stats Stats) {
				lr := allRecords(logs)[0]
				reason, _ := lr.Attributes().Get(KeyErrorType)
				assert.Equal(t, ErrorTypeInvalidGzip, reason.Str())
				assert.Equal(t, []byte{0x1f, 0x8b, 0x00, 0x01, 0x02}, lr.Body().Bytes().AsRaw())
			},
		},
		{
			name: "an empty record is visible, not silently dropped",
			data: []byte{},
			check: func(t *testing.T, logs plog.Logs, stats Stats) {
				assert.Equal(t, 1, stats.Invalid[ErrorTypeInvalidJSON])
			},
		},
		{
			name: "numbers keep their exact value; look-alike strings stay strings",
			data: []byte(`{"eventVersion":"1.10","eventName":"X","recipientAccountId":"111111111111111111111111111","n":{"a":500.0,"b":1.666275403e+12,"c":84.410596421,"d":18446744073709551616,"g":12345678901234567890,"h":100000000000000025E-2,"e":"900","f":-0.0}}`),
			check: func(t *testing.T, logs plog.Logs, stats Stats) {
				lr := allRecords(logs)[0]
				n, _ := lr.Body().Map().Get("n")
				raw := n.Map().AsRaw()
				assert.Equal(t, 500.0, raw["a"])
				assert.Equal(t, 1666275403000.0, raw["b"])
				assert.Equal(t, "84.410596421", raw["c"])
				assert.Equal(t, "900", raw["e"])
				assert.Equal(t, "18446744073709551616", raw["d"], "2^64 is a double exactly, but its shortest literal, 1.8446744073709552e+19, is another number")
				assert.Equal(t, "12345678901234567890", raw["g"], "no double holds this integer")
				assert.Equal(t, "100000000000000025E-2", raw["h"], "a double exactly, which reads back from 1.0000000000000002e+15 too")
				lits, _ := lr.Attributes().Get(KeyNumberLiterals)
				assert.Equal(t, []any{"/n/c", "/n/d", "/n/g", "/n/h"}, lits.Slice().AsRaw())
				v, _ := lr.Body().Map().Get("eventVersion")
				assert.Equal(t, "1.10", v.Str())
				acct, _ := logs.ResourceLogs().At(0).Resource().Attributes().Get(KeyCloudAccountID)
				assert.Equal(t, "111111111111111111111111111", acct.Str())
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs, stats := decodeAll(t, Options{}, tt.data)
			tt.check(t, logs, stats)
		})
	}
}

func TestHostileNestingIsAnInvalidRecordNotACrash(t *testing.T) {
	for _, raw := range []bool{false, true} {
		// Valid JSON, 400,000 levels deep: a decoder without a depth limit would accept it
		// (or exhaust its stack on deeper input).
		deep := append(append(bytes.Repeat([]byte(`{"a":[`), 200_000), '1'), bytes.Repeat([]byte(`]}`), 200_000)...)
		logs, stats := decodeAll(t, Options{RawBody: raw}, deep)
		assert.Equal(t, 1, stats.Invalid[ErrorTypeInvalidJSON], "raw=%v", raw)
		require.Equal(t, 1, logs.LogRecordCount())
		lr := allRecords(logs)[0]
		assert.Len(t, lr.Body().Str(), len(deep), "the raw data is kept")
		msg, _ := lr.Attributes().Get(KeyErrorMessage)
		assert.Contains(t, msg.Str(), "nesting deeper than")
	}
}

func TestGzipBombInARecordIsRefused(t *testing.T) {
	payload := replay.Gzip(bytes.Repeat([]byte(" "), 1<<20))
	logs, stats := decodeAll(t, Options{MaxRecordSize: 1 << 16}, payload)
	assert.Equal(t, 1, stats.Invalid[ErrorTypeTooLarge])
	assert.Equal(t, 1, logs.LogRecordCount())
}

// FuzzAddRecord decodes arbitrary record data: it must never panic, and every input gives
// at least one log record unless it is a control message; the seed corpus runs in go test.
func FuzzAddRecord(f *testing.F) {
	for _, name := range []string{"eventbridge-cloudtrail-cloud-custodian.ndjson", "otel-contrib-awslogsencoding-cloudtrail.ndjson", "eventbridge-non-cloudtrail-cloud-custodian.ndjson"} {
		for _, line := range readLines(f, name) {
			f.Add(line)
		}
	}
	payload, _ := os.ReadFile("../../testdata/cloudtrail/cloudwatch-logs-subscription-cloudtrail-otel.ndjson")
	f.Add(payload)
	f.Add(replay.Gzip(payload))
	f.Add([]byte(`{"Records":[{"eventVersion":"1.0","eventTime":"x"},1,"s"]}`))
	f.Add([]byte(`{"Records":[],"source":null}`))
	f.Add([]byte("\x00")) // a NUL byte is not the end of the input
	// Envelope fields that once shared an attribute name with EventBridge's own.
	f.Add([]byte(`{"version":"0","id":"X","event_id":"B","id":"A","zz":1,"zz":null,"detail-type":"AWS API Call via CloudTrail","detail":{"eventVersion":"1.08","eventName":"A"}}`))
	f.Add([]byte(`{"version":"0","detail-type":"Scheduled Event","detail_type":"AWS API Call via CloudTrail","detail":{"eventVersion":"1.08","eventName":"A"}}`))
	f.Add([]byte("{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"1\",\"logEvents\":[{\"id\":7,\"timestamp\":-5,\"message\":\" {\\\"eventVersion\\\":\\\"1\\\",\\\"eventTime\\\":\\\"0001-01-01T00:00:00Z\\\"} \"}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var mapped [2][]string
		for i, raw := range []bool{false, true} {
			d := NewDecoder(Options{RawBody: raw, MaxRecordSize: 1 << 20})
			d.Begin(Request{Received: time.Unix(1, 0)})
			d.AddRecord(0, bytes.Clone(data))
			logs, stats := d.Finish()
			if logs.LogRecordCount() == 0 && stats.ControlMessages == 0 && !onlyEmptyContainers(data) {
				t.Fatalf("record %q vanished", data)
			}
			_, err := (&plog.ProtoMarshaler{}).MarshalLogs(logs)
			require.NoError(t, err)
			mapped[i] = mappingOf(logs)
		}
		require.Equal(t, mapped[0], mapped[1], "body_format map and raw map %q alike", data)
	})
}

// mappingOf describes every log record as what does not depend on the body format: its
// resource, name, times, severity and attributes (but the number literals, which only map
// bodies need).
func mappingOf(logs plog.Logs) []string {
	var out []string
	for _, rl := range logs.ResourceLogs().All() {
		res := rl.Resource().Attributes().AsRaw()
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				attrs := lr.Attributes().AsRaw()
				delete(attrs, KeyNumberLiterals)
				out = append(out, fmt.Sprintf("%v %s %d %d %v %#v", res, lr.EventName(), lr.Timestamp(), lr.ObservedTimestamp(), lr.SeverityNumber(), attrs))
			}
		}
	}
	return out
}

// onlyEmptyContainers reports whether data (gzip or not) is JSON documents that are all
// CloudWatch Logs payloads or CloudTrail log files with no events: nothing to keep.
func onlyEmptyContainers(data []byte) bool {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return false
		}
		if data, err = io.ReadAll(zr); err != nil {
			return false
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	n := 0
	for ; ; n++ {
		var doc map[string]json.RawMessage
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			return false
		}
		container := doc["logEvents"]
		if container == nil {
			container = doc["Records"]
		}
		if string(bytes.TrimSpace(container)) != "[]" {
			return false
		}
	}
	return n > 0
}
