package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"regexp"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	otelRecordsFile  = "testdata/otel-contrib-awslogsencoding-cloudtrail.ndjson"
	plasoRecordsFile = "testdata/plaso-cloudtrail-records-file.original.json"
	cloudWatchFile   = "testdata/cloudwatch-logs-subscription-cloudtrail-otel.ndjson"
	eventBridgeFile  = "testdata/eventbridge-cloudtrail-cloud-custodian.ndjson"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// ndjsonRecords reads a test file of one CloudTrail record per line.
func ndjsonRecords(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	records, err := ReadNDJSON(f)
	require.NoError(t, err)
	require.NotEmpty(t, records)
	return records
}

// envelope is an EventBridge event as the tests look at it; Detail keeps the raw bytes.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func TestEventBridgeEventEmbedsEveryRealRecordVerbatim(t *testing.T) {
	for i, record := range ndjsonRecords(t, otelRecordsFile) {
		event, err := EventBridgeEvent(record)
		require.NoError(t, err, "record %d", i+1)
		require.True(t, json.Valid(event), "record %d", i+1)

		var env envelope
		require.NoError(t, json.Unmarshal(event, &env))
		assert.True(t, bytes.Equal(record, env.Detail), "record %d: detail differs from the input", i+1)
		assert.True(t, bytes.HasSuffix(event, append(append([]byte(`"detail":`), record...), '}')), "record %d", i+1)

		fields, err := parseRecordFields(record)
		require.NoError(t, err)
		assert.Equal(t, "0", env.Version)
		assert.Regexp(t, uuidPattern, env.ID)
		assert.Equal(t, string(fields.AWSRegion), env.Region)
		assert.Equal(t, string(fields.EventTime), env.Time, "real eventTimes are already RFC 3339")
		assert.NotNil(t, env.Resources)
		assert.Empty(t, env.Resources)
		assert.Contains(t, string(event), `"resources":[]`)
		assert.Regexp(t, `^aws\.[a-z0-9-]+$`, env.Source)
		assert.Regexp(t, ` via CloudTrail$`, env.DetailType)
	}
}

func TestEventBridgeEventFields(t *testing.T) {
	tests := []struct {
		name                                       string
		record                                     string
		detailType, source, account, region, eTime string
	}{
		{
			name:       "an api call names the called service and the recipient account",
			record:     `{"eventType":"AwsApiCall","eventSource":"ec2.amazonaws.com","recipientAccountId":"111111111111","userIdentity":{"accountId":"222222222222"},"awsRegion":"us-east-1","eventTime":"2024-01-02T03:04:05Z"}`,
			detailType: DetailTypeAPICall, source: "aws.ec2", account: "111111111111", region: "us-east-1", eTime: "2024-01-02T03:04:05Z",
		},
		{
			name:       "a console sign-in comes from aws.signin",
			record:     `{"eventType":"AwsConsoleSignIn","eventSource":"signin.amazonaws.com","recipientAccountId":"1"}`,
			detailType: DetailTypeConsoleSignIn, source: "aws.signin", account: "1",
		},
		{
			name:       "the lower-case spelling of console sign-in is recognised",
			record:     `{"eventType":"AwsConsoleSignin","eventSource":"signin.amazonaws.com"}`,
			detailType: DetailTypeConsoleSignIn, source: "aws.signin",
		},
		{
			name:       "a console action",
			record:     `{"eventType":"AwsConsoleAction","eventSource":"s3.amazonaws.com"}`,
			detailType: DetailTypeConsoleAction, source: "aws.s3",
		},
		{
			name:       "a service event falls back to the user identity's account",
			record:     `{"eventType":"AwsServiceEvent","eventSource":"kms.amazonaws.com","userIdentity":{"accountId":"333333333333","invokedBy":"AWS Internal"}}`,
			detailType: DetailTypeServiceEvent, source: "aws.kms", account: "333333333333",
		},
		{
			name:       "an insight has no event source and comes from aws.cloudtrail",
			record:     `{"eventType":"AwsCloudTrailInsight","recipientAccountId":"4","awsRegion":"eu-west-1"}`,
			detailType: DetailTypeInsight, source: "aws.cloudtrail", account: "4", region: "eu-west-1",
		},
		{
			name:       "an eventVersion 1.0 record without eventType is an api call",
			record:     `{"eventVersion":"1.0","eventSource":"iam.amazonaws.com"}`,
			detailType: DetailTypeAPICall, source: "aws.iam",
		},
		{
			name:       "a vpc endpoint event is an api call",
			record:     `{"eventType":"AwsVpceEvent","eventSource":"s3.amazonaws.com"}`,
			detailType: DetailTypeAPICall, source: "aws.s3",
		},
		{
			name:       "a data-lake eventTime becomes RFC 3339",
			record:     `{"eventTime":"2024-12-12 16:04:32.000000000"}`,
			detailType: DetailTypeAPICall, source: "aws.cloudtrail", eTime: "2024-12-12T16:04:32Z",
		},
		{
			name:       "an eventTime with an offset becomes UTC",
			record:     `{"eventTime":"2022-02-08 09:19:05+11:00"}`,
			detailType: DetailTypeAPICall, source: "aws.cloudtrail", eTime: "2022-02-07T22:19:05Z",
		},
		{
			name:       "an eventTime that is no date is copied",
			record:     `{"eventTime":"redacted"}`,
			detailType: DetailTypeAPICall, source: "aws.cloudtrail", eTime: "redacted",
		},
		{
			name:       "fields of the wrong type are ignored",
			record:     `{"eventType":7,"eventSource":null,"recipientAccountId":123456789012,"userIdentity":"x","awsRegion":["a"]}`,
			detailType: DetailTypeAPICall, source: "aws.cloudtrail",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			event, err := EventBridgeEvent([]byte(tt.record))
			require.NoError(t, err)
			var env envelope
			require.NoError(t, json.Unmarshal(event, &env))
			assert.Equal(t, tt.detailType, env.DetailType)
			assert.Equal(t, tt.source, env.Source)
			assert.Equal(t, tt.account, env.Account)
			assert.Equal(t, tt.region, env.Region)
			assert.Equal(t, tt.eTime, env.Time)
			assert.Equal(t, tt.record, string(env.Detail))
		})
	}
}

func TestEventBridgeEventKeepsNumbersAndEscapesExact(t *testing.T) {
	record := []byte(`{"eventSource":"ec2.amazonaws.com","launchTime":1.666275403e+12,"ownerId":123123123123.0,` +
		`"msg":"\u003csensitiveDataRemoved\u003e a\u0026b \"q\" <raw>","big":12345678901234567890123}`)
	event, err := EventBridgeEvent(append(append([]byte(" \n"), record...), '\n'))
	require.NoError(t, err)
	assert.True(t, bytes.HasSuffix(event, append(append([]byte(`"detail":`), record...), '}')),
		"the detail must be the record's bytes: %s", event)
}

func TestEventBridgeEventIDIsReproducible(t *testing.T) {
	records := ndjsonRecords(t, otelRecordsFile)
	ids := map[string]bool{}
	for _, r := range records {
		a, err := EventBridgeEvent(r)
		require.NoError(t, err)
		b, err := EventBridgeEvent(r)
		require.NoError(t, err)
		require.Equal(t, a, b)
		var env envelope
		require.NoError(t, json.Unmarshal(a, &env))
		ids[env.ID] = true
	}
	assert.Len(t, ids, len(records), "distinct records get distinct ids")
}

func TestEventBridgeEventRejectsWhatIsNoObject(t *testing.T) {
	for _, in := range []string{``, `null`, `[{}]`, `"x"`, `{"a":`, `{"a":1}{}`, `{} x`} {
		t.Run("input "+in+" is an error", func(t *testing.T) {
			_, err := EventBridgeEvent([]byte(in))
			assert.Error(t, err)
		})
	}
}

func TestRecordsFileRebuildsTheRealLogFileByteForByte(t *testing.T) {
	original, err := os.ReadFile(plasoRecordsFile)
	require.NoError(t, err)
	records, err := ReadRecordsFile(bytes.NewReader(original))
	require.NoError(t, err)
	require.Len(t, records, 9)
	assert.Equal(t, string(original), string(RecordsFile(records)))
}

func TestRecordsFileOfNoRecordsIsAnEmptyArray(t *testing.T) {
	assert.Equal(t, `{"Records":[]}`, string(RecordsFile(nil)))
}

// cloudWatchDoc is a CloudWatch Logs payload as the tests look at it.
type cloudWatchDoc struct {
	MessageType         string   `json:"messageType"`
	Owner               string   `json:"owner"`
	LogGroup            string   `json:"logGroup"`
	LogStream           string   `json:"logStream"`
	SubscriptionFilters []string `json:"subscriptionFilters"`
	PolicyLevel         string   `json:"policyLevel"`
	LogEvents           []struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"logEvents"`
}

func decodeCloudWatch(t testing.TB, payload []byte) cloudWatchDoc {
	t.Helper()
	var doc cloudWatchDoc
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&doc), "%s", payload)
	return doc
}

func TestCloudWatchLogsPayloadCarriesTheRealRecordsVerbatim(t *testing.T) {
	records := ndjsonRecords(t, otelRecordsFile)
	payload, err := CloudWatchLogsPayload(records, CloudWatchOptions{})
	require.NoError(t, err)

	doc := decodeCloudWatch(t, payload)
	assert.Equal(t, "DATA_MESSAGE", doc.MessageType)
	assert.Equal(t, "123456789012", doc.Owner, "the first record's recipient account")
	assert.Equal(t, "aws-cloudtrail-logs-123456789012", doc.LogGroup)
	assert.Equal(t, "123456789012_CloudTrail_us-east-1", doc.LogStream)
	assert.Equal(t, []string{DefaultSubscriptionFilter}, doc.SubscriptionFilters)
	require.Len(t, doc.LogEvents, len(records))

	var previous *big.Int
	for i, e := range doc.LogEvents {
		assert.Equal(t, string(records[i]), e.Message, "log event %d", i)
		assert.Regexp(t, `^[0-9]{56}$`, e.ID)
		id, ok := new(big.Int).SetString(e.ID, 10)
		require.True(t, ok)
		if previous != nil {
			assert.Equal(t, new(big.Int).Add(previous, big.NewInt(1)), id, "ids count up")
		}
		previous = id

		fields, err := parseRecordFields(records[i])
		require.NoError(t, err)
		eventTime, err := time.Parse(time.RFC3339, string(fields.EventTime))
		require.NoError(t, err)
		assert.Equal(t, eventTime.UnixMilli(), e.Timestamp, "log event %d", i)
	}

	again, err := CloudWatchLogsPayload(records, CloudWatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, payload, again, "the same records give the same payload")
}

func TestCloudWatchLogsPayloadOptions(t *testing.T) {
	records := [][]byte{[]byte(`{"eventTime":"not a time","note":"<&>\u2028\n"}`), []byte(`not even JSON "\`)}
	before := time.Now().UnixMilli()
	payload, err := CloudWatchLogsPayload(records, CloudWatchOptions{
		Owner:               "999999999999",
		LogGroup:            "/aws/cloudtrail/org",
		LogStream:           "o-abc_999999999999_CloudTrail_eu-west-1",
		SubscriptionFilters: []string{"a", "b"},
		PolicyLevel:         "ACCOUNT_LEVEL_POLICY",
		FirstEventID:        big.NewInt(41),
	})
	require.NoError(t, err)
	after := time.Now().UnixMilli()

	doc := decodeCloudWatch(t, payload)
	assert.Equal(t, "999999999999", doc.Owner)
	assert.Equal(t, "/aws/cloudtrail/org", doc.LogGroup)
	assert.Equal(t, "o-abc_999999999999_CloudTrail_eu-west-1", doc.LogStream)
	assert.Equal(t, []string{"a", "b"}, doc.SubscriptionFilters)
	assert.Equal(t, "ACCOUNT_LEVEL_POLICY", doc.PolicyLevel)
	require.Len(t, doc.LogEvents, 2)
	assert.Equal(t, "00000000000000000000000000000000000000000000000000000041", doc.LogEvents[0].ID)
	assert.Equal(t, "00000000000000000000000000000000000000000000000000000042", doc.LogEvents[1].ID)
	for i, e := range doc.LogEvents {
		assert.Equal(t, string(records[i]), e.Message)
		assert.GreaterOrEqual(t, e.Timestamp, before, "no eventTime: the current time")
		assert.LessOrEqual(t, e.Timestamp, after)
	}
	assert.Contains(t, string(payload), `<&>`, "no HTML escaping")
}

func TestCloudWatchLogsPayloadErrors(t *testing.T) {
	tests := []struct {
		name    string
		records [][]byte
		opts    CloudWatchOptions
	}{
		{name: "no records is an error", records: nil},
		{name: "a negative first id is an error", records: [][]byte{[]byte(`{}`)}, opts: CloudWatchOptions{FirstEventID: big.NewInt(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CloudWatchLogsPayload(tt.records, tt.opts)
			assert.Error(t, err)
		})
	}
}

func TestControlMessageLooksLikeCloudWatchLogsOwn(t *testing.T) {
	before := time.Now().UnixMilli()
	doc := decodeCloudWatch(t, ControlMessage())
	assert.Equal(t, "CONTROL_MESSAGE", doc.MessageType)
	assert.Equal(t, "CloudwatchLogs", doc.Owner)
	assert.Empty(t, doc.LogGroup)
	assert.Empty(t, doc.LogStream)
	assert.NotNil(t, doc.SubscriptionFilters)
	require.Len(t, doc.LogEvents, 1)
	assert.Empty(t, doc.LogEvents[0].ID)
	assert.GreaterOrEqual(t, doc.LogEvents[0].Timestamp, before)
	assert.Equal(t, "CWL CONTROL MESSAGE: Checking health of destination Firehose.", doc.LogEvents[0].Message)
}

func TestGzipRoundTrips(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte(`{"a":1}`), 10_000)} {
		zipped := Gzip(in)
		require.Equal(t, []byte{0x1f, 0x8b}, zipped[:2])
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		require.NoError(t, err)
		out, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, len(in), len(out))
		assert.True(t, bytes.Equal(in, out))
	}
}

func TestAppendJSONStringDecodesToItsInput(t *testing.T) {
	for _, in := range []string{"", "plain", `q"b\s`, "\x00\x01\x1f\n\r\t\b\f", "<&>", "é€😀", "\u2028\u2029"} {
		var out string
		require.NoError(t, json.Unmarshal(jsonwrite.AppendString(nil, in), &out))
		assert.Equal(t, in, out)
	}
	var out string
	require.NoError(t, json.Unmarshal(jsonwrite.AppendString(nil, "a\xffb"), &out))
	assert.Equal(t, "a\uFFFDb", out, "invalid UTF-8 becomes U+FFFD")
}

func FuzzEventBridgeEvent(f *testing.F) {
	for _, r := range ndjsonRecords(f, otelRecordsFile) {
		f.Add(r)
	}
	f.Add([]byte(`{"eventTime":"2024-12-12 16:04:32.000000000","eventSource":"","userIdentity":null}`))
	f.Fuzz(func(t *testing.T, record []byte) {
		event, err := EventBridgeEvent(record)
		if err != nil {
			return
		}
		require.True(t, json.Valid(event), "%s", event)
		var env envelope
		require.NoError(t, json.Unmarshal(event, &env))
		require.Equal(t, string(bytes.TrimSpace(record)), string(env.Detail))
	})
}

func FuzzCloudWatchLogsPayload(f *testing.F) {
	for _, r := range ndjsonRecords(f, otelRecordsFile) {
		f.Add(r)
	}
	f.Add([]byte("\xff\x00\"\\\u2028"))
	f.Fuzz(func(t *testing.T, record []byte) {
		payload, err := CloudWatchLogsPayload([][]byte{record}, CloudWatchOptions{})
		require.NoError(t, err)
		doc := decodeCloudWatch(t, payload)
		require.Len(t, doc.LogEvents, 1)
		if utf8.Valid(record) {
			require.Equal(t, string(record), doc.LogEvents[0].Message)
		}
	})
}
