package cloudtrail

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

// otelPayload is the real CloudWatch Logs payload of the OpenTelemetry CloudTrail sample, as a
// Go value to vary.
func otelPayload(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../testdata/cloudtrail/cloudwatch-logs-subscription-cloudtrail-otel.ndjson")
	require.NoError(t, err)
	var p map[string]any
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

func gzipJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return replay.Gzip(b)
}

func firstLogEvent(p map[string]any) map[string]any {
	return p["logEvents"].([]any)[0].(map[string]any)
}

func bodyFormats() map[string]Options {
	return map[string]Options{"map": {}, "raw": {RawBody: true}}
}

func TestAMessageWithWhitespaceAroundItIsMappedInBothBodyFormats(t *testing.T) {
	p := otelPayload(t)
	ev := firstLogEvent(p)
	record := ev["message"].(string)
	ev["message"] = "\n  " + record + " \r\n"
	for name, opts := range bodyFormats() {
		t.Run(name, func(t *testing.T) {
			logs, _ := decodeAll(t, opts, gzipJSON(t, p))
			require.Equal(t, 1, logs.LogRecordCount())
			lr := allRecords(logs)[0]
			assert.Equal(t, "aws.cloudtrail.api_call", lr.EventName())
			method, _ := lr.Attributes().Get(KeyRPCMethod)
			assert.Equal(t, "PutObject", method.Str())
			assert.Equal(t, time.Date(2026, 1, 28, 9, 26, 59, 0, time.UTC), lr.Timestamp().AsTime(), "eventTime, not the log event's time")
			res := logs.ResourceLogs().At(0).Resource().Attributes().AsRaw()
			assert.Equal(t, "eu-west-1", res[KeyCloudRegion])
			if opts.RawBody {
				assert.Equal(t, record, lr.Body().Str(), "the record's text, without the whitespace around it")
			} else {
				assert.Equal(t, "PutObject", lr.Body().Map().AsRaw()["eventName"])
			}
		})
	}
}

func TestPayloadsWithTheSameEnvelopeShareOneResource(t *testing.T) {
	same := gzipJSON(t, otelPayload(t))
	other := otelPayload(t)
	other["logStream"] = "another stream"
	filters := otelPayload(t)
	filters["subscriptionFilters"] = []any{"CloudTrailLogSubscription", "another filter"}
	for name, opts := range bodyFormats() {
		t.Run(name, func(t *testing.T) {
			logs, _ := decodeAll(t, opts, same, same, same)
			assert.Equal(t, 3, logs.LogRecordCount())
			assert.Equal(t, 1, logs.ResourceLogs().Len(), "one account, region, log group and stream")

			logs, _ = decodeAll(t, opts, same, gzipJSON(t, other), same, gzipJSON(t, filters))
			require.Equal(t, 3, logs.ResourceLogs().Len(), "a stream or filter list of its own is a resource of its own")
			assert.Equal(t, 2, logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().Len())
			streams, _ := logs.ResourceLogs().At(1).Resource().Attributes().Get(KeyLogStreamNames)
			assert.Equal(t, []any{"another stream"}, streams.Slice().AsRaw())
			f, _ := logs.ResourceLogs().At(2).Resource().Attributes().Get(KeySubscriptionFilters)
			assert.Equal(t, []any{"CloudTrailLogSubscription", "another filter"}, f.Slice().AsRaw())
		})
	}
}

func TestALogEventKeepsItsIDWhateverItsMessage(t *testing.T) {
	for name, tc := range map[string]struct {
		id      any
		message any // nil: no message
		want    any // the attribute's value; nil: none
	}{
		"no message":                {id: "123", want: "123"},
		"a message that is no text": {id: "123", message: 5.0, want: "123"},
		"a number id, CloudTrail":   {id: 42.0, message: "CLOUDTRAIL", want: int64(42)},
		"a number id, text":         {id: 42.0, message: "hello", want: int64(42)},
		"a null id":                 {id: nil, message: "hello"},
	} {
		for format, opts := range bodyFormats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				p := otelPayload(t)
				ev := firstLogEvent(p)
				ev["id"] = tc.id
				switch tc.message {
				case nil:
					delete(ev, "message")
				case "CLOUDTRAIL":
				default:
					ev["message"] = tc.message
				}
				logs, _ := decodeAll(t, opts, gzipJSON(t, p))
				require.Equal(t, 1, logs.LogRecordCount())
				lr := allRecords(logs)[0]
				if tc.message == "CLOUDTRAIL" {
					assert.Equal(t, "aws.cloudtrail.api_call", lr.EventName())
				}
				got, ok := lr.Attributes().Get(KeyLogEventID)
				if tc.want == nil {
					assert.False(t, ok, "a null id is no attribute")
					return
				}
				require.True(t, ok)
				assert.Equal(t, tc.want, got.AsRaw())
			})
		}
	}
}

func TestEventTimesATimestampCannotHoldFallBack(t *testing.T) {
	for _, eventTime := range []string{"0001-01-01T00:00:00Z", "1960-06-01T00:00:00Z", "2300-01-01T00:00:00Z"} {
		for format, opts := range bodyFormats() {
			t.Run(eventTime+"/"+format, func(t *testing.T) {
				event := `{"version":"0","id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","time":"2024-02-02T00:00:00Z","region":"us-east-1","resources":[],` +
					`"detail":{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"GetObject","eventTime":"` + eventTime + `"}}`
				logs, _ := decodeAll(t, opts, []byte(event))
				require.Equal(t, 1, logs.LogRecordCount())
				assert.Equal(t, time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC), allRecords(logs)[0].Timestamp().AsTime(), "the envelope's time")
			})
		}
	}
	p := otelPayload(t)
	ev := firstLogEvent(p)
	ev["timestamp"] = -1.0
	ev["message"] = "text"
	logs, _ := decodeAll(t, Options{}, gzipJSON(t, p))
	assert.Equal(t, pcommon.Timestamp(0), allRecords(logs)[0].Timestamp(), "no time rather than a wrapped one")
}

func TestTheOtherMembersOfARecordsFileAreKept(t *testing.T) {
	const rec = `{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"GetObject","eventTime":"2024-01-02T03:04:05Z"}`
	for format, opts := range bodyFormats() {
		t.Run(format, func(t *testing.T) {
			logs, _ := decodeAll(t, opts, []byte(`{"source":"s3://bucket/key.json.gz","Records":[`+rec+`,`+rec+`,"text"],"meta":{"n":1}}`))
			recs := allRecords(logs)
			require.Len(t, recs, 3)
			for i, lr := range recs {
				attrs := lr.Attributes().AsRaw()
				assert.Equal(t, "s3://bucket/key.json.gz", attrs[KeyLogFilePrefix+"source"], "record %d", i)
				assert.Equal(t, map[string]any{"n": int64(1)}, attrs[KeyLogFilePrefix+"meta"], "record %d", i)
				assert.NotContains(t, attrs, KeyLogFilePrefix+"Records")
			}
			assert.Equal(t, "aws.cloudtrail.api_call", recs[0].EventName())

			logs, stats := decodeAll(t, opts, []byte(`{"Records":[],"source":"s3://bucket/empty.json.gz"}`))
			require.Equal(t, 1, logs.LogRecordCount(), "no record to carry it: the document whole")
			lr := allRecords(logs)[0]
			assert.Equal(t, EventNameRecord, lr.EventName())
			assert.Equal(t, map[string]any{"Records": []any{}, "source": "s3://bucket/empty.json.gz"}, lr.Body().AsRaw())
			assert.Equal(t, 1, stats.Shapes[ShapeOther])

			logs, _ = decodeAll(t, opts, []byte(`{"Records":[]}`))
			assert.Zero(t, logs.LogRecordCount(), "an empty log file has nothing to keep")
		})
	}
}

func TestNullSubscriptionFiltersAreNoAttribute(t *testing.T) {
	p := otelPayload(t)
	p["subscriptionFilters"] = nil
	for format, opts := range bodyFormats() {
		logs, _ := decodeAll(t, opts, gzipJSON(t, p), gzipJSON(t, p))
		require.Equal(t, 2, logs.LogRecordCount(), format)
		require.Equal(t, 1, logs.ResourceLogs().Len(), format)
		res := logs.ResourceLogs().At(0).Resource().Attributes().AsRaw()
		assert.NotContains(t, res, KeySubscriptionFilters, format)
		assert.Equal(t, []any{"/aws/cloudtrail/logs"}, res[KeyLogGroupNames], format)
	}
}
