package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

const testdataDir = "../../testdata/cloudtrail"

// recordFiles hold one bare CloudTrail record per line.
var recordFiles = []string{
	"panther-analysis-cloudtrail.ndjson",
	"panther-analysis-cloudtrail-history.ndjson",
	"cloud-custodian-cloudtrail.ndjson",
	"otel-contrib-awslogsencoding-cloudtrail.ndjson",
	"plaso-lookupevents-cloudtrailevent.ndjson",
	"plaso-cloudtrail-records-file.ndjson",
}

func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join(testdataDir, name))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	var lines [][]byte
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			lines = append(lines, bytes.Clone(line))
		}
	}
	require.NoError(t, sc.Err())
	return lines
}

// realRecords returns every real CloudTrail record: the bare ones and the details of the
// real EventBridge events.
func realRecords(t testing.TB) [][]byte {
	var records [][]byte
	for _, name := range recordFiles {
		records = append(records, readLines(t, name)...)
	}
	for _, env := range readLines(t, "eventbridge-cloudtrail-cloud-custodian.ndjson") {
		var e struct {
			Detail json.RawMessage `json:"detail"`
		}
		require.NoError(t, json.Unmarshal(env, &e))
		records = append(records, []byte(e.Detail))
	}
	return records
}

type wrapping struct {
	name string
	// wrap turns one record into Firehose record data.
	wrap func(record []byte) ([]byte, error)
	// message tells whether the body's source text is the record's text (false when the
	// wrapping re-encodes it, as a CloudWatch Logs message does not).
	shape string
}

var wrappings = []wrapping{
	{name: "bare", shape: ShapeBare, wrap: func(r []byte) ([]byte, error) { return r, nil }},
	{name: "eventbridge", shape: ShapeEventBridge, wrap: replay.EventBridgeEvent},
	{name: "records file", shape: ShapeRecordsFile, wrap: func(r []byte) ([]byte, error) { return replay.RecordsFile([][]byte{r}), nil }},
	{name: "cloudwatch logs gzip", shape: ShapeCloudWatch, wrap: func(r []byte) ([]byte, error) {
		p, err := replay.CloudWatchLogsPayload([][]byte{r}, replay.CloudWatchOptions{LogGroup: "/aws/cloudtrail", LogStream: "123_CloudTrail_us-east-1"})
		return replay.Gzip(p), err
	}},
	{name: "cloudwatch logs decompressed", shape: ShapeCloudWatch, wrap: func(r []byte) ([]byte, error) {
		return replay.CloudWatchLogsPayload([][]byte{r}, replay.CloudWatchOptions{LogGroup: "/aws/cloudtrail", LogStream: "123_CloudTrail_us-east-1"})
	}},
}

// decodeOne runs one record through a fresh request and returns its only log record.
func decodeOne(t *testing.T, d *Decoder, data []byte) (plog.ResourceLogs, plog.LogRecord, Stats) {
	t.Helper()
	d.Begin(Request{RequestID: "req-1", SourceARN: "arn:aws:firehose:us-east-1:123456789012:deliverystream/ct", Received: time.Unix(1700000000, 0)})
	d.AddRecord(0, data)
	logs, stats := d.Finish()
	require.Equal(t, 1, logs.LogRecordCount(), "one log record per CloudTrail record")
	rl := logs.ResourceLogs().At(0)
	return rl, rl.ScopeLogs().At(0).LogRecords().At(0), stats
}

func TestEveryRealRecordConvertsWithoutLossThroughEveryWrapping(t *testing.T) {
	records := realRecords(t)
	require.Greater(t, len(records), 880, "the real corpus")
	for _, w := range wrappings {
		for _, raw := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s with body_format %s", w.name, map[bool]string{false: "map", true: "raw"}[raw]), func(t *testing.T) {
				d := NewDecoder(Options{RawBody: raw, ScopeName: "test"})
				for i, rec := range records {
					data, err := w.wrap(bytes.Clone(rec))
					require.NoError(t, err)
					rl, lr, stats := decodeOne(t, d, data)
					require.Equal(t, 1, stats.Shapes[w.shape], "record %d counted as %s", i, w.shape)
					require.True(t, strings.HasPrefix(lr.EventName(), EventNamePrefix), "record %d is a CloudTrail record: %s", i, lr.EventName())

					var src map[string]any
					dec := json.NewDecoder(bytes.NewReader(rec))
					dec.UseNumber()
					require.NoError(t, dec.Decode(&src))

					if raw {
						require.Equal(t, string(rec), lr.Body().Str(), "record %d kept byte for byte", i)
					} else {
						var literals []string
						if v, ok := lr.Attributes().Get(KeyNumberLiterals); ok {
							for _, p := range v.Slice().All() {
								literals = append(literals, p.Str())
							}
						}
						assertSameValue(t, src, lr.Body(), "", literals, fmt.Sprintf("record %d", i))
					}
					assertMapping(t, src, rl.Resource().Attributes(), lr, fmt.Sprintf("record %d", i))
				}
			})
		}
	}
}

// assertSameValue compares a JSON value decoded by encoding/json (UseNumber) with a pcommon
// value, numbers by exact decimal value.
func assertSameValue(t *testing.T, want any, got pcommon.Value, path string, literals []string, where string) {
	t.Helper()
	switch w := want.(type) {
	case nil:
		assert.Equal(t, pcommon.ValueTypeEmpty, got.Type(), "%s %s: null", where, path)
	case bool:
		if assert.Equal(t, pcommon.ValueTypeBool, got.Type(), "%s %s", where, path) {
			assert.Equal(t, w, got.Bool(), "%s %s", where, path)
		}
	case string:
		if assert.Equal(t, pcommon.ValueTypeStr, got.Type(), "%s %s", where, path) {
			assert.Equal(t, w, got.Str(), "%s %s", where, path)
		}
	case json.Number:
		var lit big.Rat
		if _, ok := lit.SetString(w.String()); !ok {
			// An exponent too large even for big.Rat (1E2000000): neither int64 nor float64
			// holds the number, so only its literal text can, unless it is zero (0e99999999999).
			mantissa, _, _ := strings.Cut(strings.ToLower(w.String()), "e")
			if strings.Trim(mantissa, "-.0") == "" {
				assert.Equal(t, pcommon.ValueTypeDouble, got.Type(), "%s %s: %s is zero", where, path, w)
				assert.Zero(t, got.Double(), "%s %s: %s is zero", where, path, w)
				return
			}
			assert.Equal(t, w.String(), got.AsString(), "%s %s: literal text", where, path)
			assert.Contains(t, literals, path, "%s %s: listed in %s", where, path, KeyNumberLiterals)
			return
		}
		switch got.Type() {
		case pcommon.ValueTypeInt:
			assert.Zero(t, lit.Cmp(new(big.Rat).SetInt64(got.Int())), "%s %s: %s vs %d", where, path, w, got.Int())
		case pcommon.ValueTypeDouble:
			assert.Zero(t, lit.Cmp(new(big.Rat).SetFloat64(got.Double())), "%s %s: %s vs %v", where, path, w, got.Double())
			// and the shortest literal of the double, which exporters write, is that number too
			shortest, _ := new(big.Rat).SetString(strconv.FormatFloat(got.Double(), 'g', -1, 64))
			assert.Zero(t, lit.Cmp(shortest), "%s %s: %s is written as %v", where, path, w, got.Double())
		case pcommon.ValueTypeStr:
			assert.Equal(t, w.String(), got.Str(), "%s %s: literal text", where, path)
			assert.Contains(t, literals, path, "%s %s: listed in %s", where, path, KeyNumberLiterals)
		default:
			t.Errorf("%s %s: number %s became %s", where, path, w, got.Type())
		}
	case []any:
		if assert.Equal(t, pcommon.ValueTypeSlice, got.Type(), "%s %s", where, path) && assert.Equal(t, len(w), got.Slice().Len(), "%s %s", where, path) {
			for i, e := range w {
				assertSameValue(t, e, got.Slice().At(i), path+"/"+strconv.Itoa(i), literals, where)
			}
		}
	case map[string]any:
		if assert.Equal(t, pcommon.ValueTypeMap, got.Type(), "%s %s", where, path) && assert.Equal(t, len(w), got.Map().Len(), "%s %s: key count", where, path) {
			for k, e := range w {
				v, ok := got.Map().Get(k)
				if assert.True(t, ok, "%s %s: key %q kept", where, path, k) {
					p := strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
					assertSameValue(t, e, v, path+"/"+p, literals, where)
				}
			}
		}
	default:
		t.Fatalf("unexpected %T", want)
	}
}

// assertMapping checks REFERENCE §4 against the source record, written independently of the
// implementation: straight from the table.
func assertMapping(t *testing.T, src map[string]any, res pcommon.Map, lr plog.LogRecord, where string) {
	t.Helper()
	str := func(m map[string]any, k string) (string, bool) {
		s, ok := m[k].(string)
		return s, ok
	}
	obj := func(m map[string]any, k string) map[string]any {
		o, _ := m[k].(map[string]any)
		return o
	}
	want := map[string]any{}
	for field, attr := range map[string]string{
		"eventID": "aws.cloudtrail.event_id", "eventVersion": "aws.cloudtrail.event_version", "eventType": "aws.cloudtrail.event_type",
		"eventName": "rpc.method", "eventSource": "rpc.service", "eventCategory": "aws.event.category",
		"requestID": "aws.request_id", "sharedEventID": "aws.shared_event_id", "sourceIPAddress": "client.address",
		"userAgent": "user_agent.original", "errorCode": "error.type", "errorMessage": "aws.error.message",
	} {
		if s, ok := str(src, field); ok {
			want[attr] = s
		}
	}
	if _, ok := want["rpc.method"]; ok {
		want["rpc.system"] = "aws-api"
	} else if _, ok := want["rpc.service"]; ok {
		want["rpc.system"] = "aws-api"
	}
	for field, attr := range map[string]string{"readOnly": "aws.event.read_only", "managementEvent": "aws.event.management"} {
		switch v := src[field].(type) {
		case bool:
			want[attr] = v
		case string:
			if b, err := strconv.ParseBool(strings.ToLower(v)); err == nil && (strings.EqualFold(v, "true") || strings.EqualFold(v, "false")) {
				want[attr] = b
			}
		}
	}
	if ui := obj(src, "userIdentity"); ui != nil {
		for field, attr := range map[string]string{"type": "aws.principal.type", "arn": "aws.principal.arn", "principalId": "aws.principal.id",
			"accountId": "aws.user_identity.account_id", "accessKeyId": "aws.access_key.id", "invokedBy": "aws.user_identity.invoked_by"} {
			if s, ok := str(ui, field); ok {
				want[attr] = s
			}
		}
		sc := obj(ui, "sessionContext")
		if s, ok := str(ui, "userName"); ok {
			want["user.name"] = s
		} else if s, ok := str(obj(sc, "sessionIssuer"), "userName"); ok {
			want["user.name"] = s
		}
		if s, ok := str(obj(sc, "attributes"), "mfaAuthenticated"); ok && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
			want["aws.user_identity.mfa_authenticated"] = strings.EqualFold(s, "true")
		}
	}
	if tls := obj(src, "tlsDetails"); tls != nil {
		if s, ok := str(tls, "tlsVersion"); ok {
			want["tls.protocol.version"] = strings.TrimPrefix(s, "TLSv")
		}
		if s, ok := str(tls, "cipherSuite"); ok {
			want["tls.cipher"] = s
		}
		if s, ok := str(tls, "clientProvidedHostHeader"); ok {
			want["server.address"] = s
		}
	}
	for k, v := range want {
		got, ok := lr.Attributes().Get(k)
		if assert.True(t, ok, "%s: attribute %s", where, k) {
			assert.Equal(t, v, got.AsRaw(), "%s: attribute %s", where, k)
		}
	}
	lr.Attributes().Range(func(k string, _ pcommon.Value) bool {
		_, expected := want[k]
		assert.True(t, expected || strings.HasPrefix(k, "aws.eventbridge.") || k == KeyLogEventID || k == KeyNumberLiterals,
			"%s: unexpected attribute %s", where, k)
		return true
	})

	eventType, _ := str(src, "eventType")
	name := map[string]string{"awsapicall": "api_call", "awsconsolesignin": "console_sign_in", "awsconsoleaction": "console_action",
		"awsserviceevent": "service_event", "awscloudtrailinsight": "insight", "awsvpceevent": "vpce_event"}[strings.ToLower(eventType)]
	if name == "" {
		name = "event"
	}
	assert.Equal(t, "aws.cloudtrail."+name, lr.EventName(), where)
	if code, _ := str(src, "errorCode"); code != "" {
		assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber(), where)
	} else {
		assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber(), where)
	}
	if s, ok := str(src, "eventTime"); ok {
		if ts, err := time.Parse(time.RFC3339, s); err == nil {
			assert.Equal(t, ts.UnixNano(), lr.Timestamp().AsTime().UnixNano(), "%s: timestamp = eventTime", where)
		}
	}
	assert.Equal(t, time.Unix(1700000000, 0).UnixNano(), lr.ObservedTimestamp().AsTime().UnixNano(), where)

	provider, _ := res.Get("cloud.provider")
	assert.Equal(t, "aws", provider.Str(), where)
	account, _ := str(src, "recipientAccountId")
	if account == "" {
		account, _ = str(obj(src, "userIdentity"), "accountId")
	}
	if account != "" {
		got, _ := res.Get("cloud.account.id")
		assert.Equal(t, account, got.Str(), "%s: cloud.account.id", where)
	}
	if region, _ := str(src, "awsRegion"); region != "" {
		got, _ := res.Get("cloud.region")
		assert.Equal(t, region, got.Str(), "%s: cloud.region", where)
	}
	arn, _ := res.Get("aws.firehose.arn")
	assert.Equal(t, "arn:aws:firehose:us-east-1:123456789012:deliverystream/ct", arn.Str(), where)
	id, _ := res.Get("aws.firehose.request_id")
	assert.Equal(t, "req-1", id.Str(), where)
}
