package replay

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// EventBridge detail-types of CloudTrail events.
const (
	DetailTypeAPICall        = "AWS API Call via CloudTrail"
	DetailTypeConsoleSignIn  = "AWS Console Sign In via CloudTrail"
	DetailTypeConsoleAction  = "AWS Console Action via CloudTrail"
	DetailTypeServiceEvent   = "AWS Service Event via CloudTrail"
	DetailTypeInsight        = "AWS Insight via CloudTrail"
	eventBridgeSourcePrefix  = "aws."
	eventBridgeDefaultSource = "aws.cloudtrail" // Insight events name no eventSource.
)

// detailType returns the detail-type EventBridge gives a CloudTrail event of this eventType.
func detailType(eventType string) string {
	switch strings.ToLower(eventType) {
	case "awsconsolesignin":
		return DetailTypeConsoleSignIn
	case "awsconsoleaction":
		return DetailTypeConsoleAction
	case "awsserviceevent":
		return DetailTypeServiceEvent
	case "awscloudtrailinsight":
		return DetailTypeInsight
	default:
		return DetailTypeAPICall
	}
}

// EventBridgeEvent wraps one CloudTrail record in the event EventBridge delivers for it:
//
//	{"version":"0","id":…,"detail-type":…,"source":"aws.<service>","account":…,"time":…,
//	 "region":…,"resources":[],"detail":<record>}
//
// detail-type follows eventType (DetailTypeAPICall when it is missing or unknown), source is
// "aws." plus the first label of eventSource ("aws.cloudtrail" without one), account is
// recipientAccountId (else userIdentity.accountId), region is awsRegion, and time is eventTime
// in RFC 3339 (copied as is when it does not parse). The id is a name-based UUID of the record's
// bytes, so the same record always gets the same id. The record is embedded verbatim, only
// surrounding white space removed.
func EventBridgeEvent(record []byte) ([]byte, error) {
	record, err := jsonObject(record)
	if err != nil {
		return nil, fmt.Errorf("wrap cloudtrail record in an eventbridge event: %w", err)
	}
	f, err := parseRecordFields(record)
	if err != nil {
		return nil, fmt.Errorf("wrap cloudtrail record in an eventbridge event: %w", err)
	}
	source := eventBridgeDefaultSource
	if service, _, _ := strings.Cut(string(f.EventSource), "."); service != "" {
		source = eventBridgeSourcePrefix + service
	}
	eventTime := string(f.EventTime)
	if t, ok := parseEventTime(eventTime); ok {
		eventTime = t.UTC().Format(time.RFC3339)
	}

	b := make([]byte, 0, len(record)+256)
	b = append(b, `{"version":"0","id":`...)
	b = jsonwrite.AppendString(b, nameUUID(record))
	b = append(b, `,"detail-type":`...)
	b = jsonwrite.AppendString(b, detailType(string(f.EventType)))
	b = append(b, `,"source":`...)
	b = jsonwrite.AppendString(b, source)
	b = append(b, `,"account":`...)
	b = jsonwrite.AppendString(b, f.account())
	b = append(b, `,"time":`...)
	b = jsonwrite.AppendString(b, eventTime)
	b = append(b, `,"region":`...)
	b = jsonwrite.AppendString(b, string(f.AWSRegion))
	b = append(b, `,"resources":[],"detail":`...)
	b = append(b, record...)
	return append(b, '}'), nil
}

// RecordsFile returns the CloudTrail S3 log file {"Records":[r1,r2,...]} holding records
// verbatim.
func RecordsFile(records [][]byte) []byte {
	n := len(`{"Records":[]}`) + len(records)
	for _, r := range records {
		n += len(r)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"Records":[`...)
	for i, r := range records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, "]}"...)
}

// CloudWatch Logs subscription payload constants.
const (
	cloudWatchDataMessage    = "DATA_MESSAGE"
	cloudWatchControlMessage = "CONTROL_MESSAGE"
	cloudWatchControlOwner   = "CloudwatchLogs"
	cloudWatchControlText    = "CWL CONTROL MESSAGE: Checking health of destination Firehose."
	// DefaultSubscriptionFilter names the subscription filter when CloudWatchOptions names none.
	DefaultSubscriptionFilter = "firehose-replay"
	// cloudWatchEventIDDigits is the length of a CloudWatch Logs event id.
	cloudWatchEventIDDigits = 56
	// cloudWatchEventOverhead bounds what a log event adds to a payload besides its escaped
	// message: {"id":"<56 digits>","timestamp":<ms>,"message":},
	cloudWatchEventOverhead = 128
	// cloudWatchPayloadOverhead is room for the payload's other fields.
	cloudWatchPayloadOverhead = 1024
)

// CloudWatchOptions describe the log group a CloudWatch Logs subscription payload comes from.
// Empty fields take CloudTrail's defaults from the first record.
type CloudWatchOptions struct {
	// Owner is the account that owns the log group; default: the first record's account
	// (recipientAccountId, else userIdentity.accountId).
	Owner string
	// LogGroup defaults to "aws-cloudtrail-logs-<owner>", the CloudTrail console's pattern.
	LogGroup string
	// LogStream defaults to "<owner>_CloudTrail_<region>", the stream CloudTrail writes to,
	// with the first record's awsRegion.
	LogStream string
	// SubscriptionFilters default to [DefaultSubscriptionFilter] when nil.
	SubscriptionFilters []string
	// PolicyLevel, when set, adds "policyLevel" (ACCOUNT_LEVEL_POLICY for account-level
	// subscription policies).
	PolicyLevel string
	// FirstEventID is the first log event's id; the next ones count up from it. Default: a
	// 56-digit number derived from the first record's bytes (reproducible).
	FirstEventID *big.Int
}

// cloudWatchEvent is one log event of a CloudWatch Logs payload.
type cloudWatchEvent struct {
	message   []byte
	timestamp int64 // Unix ms
}

// newCloudWatchEvent reads a record's eventTime for the log event timestamp (now when the
// record has none that parses) and its account and region for the payload's defaults.
func newCloudWatchEvent(record []byte, now time.Time) (cloudWatchEvent, recordFields) {
	f, _ := parseRecordFields(record) // A record that is not CloudTrail JSON still makes a log event.
	t, ok := parseEventTime(string(f.EventTime))
	if !ok {
		t = now
	}
	return cloudWatchEvent{message: record, timestamp: t.UnixMilli()}, f
}

// CloudWatchLogsPayload returns the DATA_MESSAGE a CloudWatch Logs subscription filter sends
// for records: one log event per record, its message the record's text verbatim, its id a
// 56-digit decimal string, its timestamp the record's eventTime in Unix milliseconds (the current
// time when eventTime is missing or does not parse). The payload is not compressed; CloudWatch
// Logs gzips it (see Gzip).
func CloudWatchLogsPayload(records [][]byte, opts CloudWatchOptions) ([]byte, error) {
	if len(records) == 0 {
		return nil, errors.New("build cloudwatch logs payload: no records")
	}
	now := time.Now()
	events := make([]cloudWatchEvent, len(records))
	var first recordFields
	for i, r := range records {
		var f recordFields
		events[i], f = newCloudWatchEvent(r, now)
		if i == 0 {
			first = f
		}
	}
	return cloudWatchPayload(events, opts.withDefaults(first))
}

// withDefaults fills the empty names from the first record.
func (o CloudWatchOptions) withDefaults(first recordFields) CloudWatchOptions {
	if o.Owner == "" {
		o.Owner = first.account()
	}
	if o.LogGroup == "" {
		o.LogGroup = "aws-cloudtrail-logs-" + o.Owner
	}
	if o.LogStream == "" {
		o.LogStream = o.Owner + "_CloudTrail_" + string(first.AWSRegion)
	}
	if o.SubscriptionFilters == nil {
		o.SubscriptionFilters = []string{DefaultSubscriptionFilter}
	}
	return o
}

// derivedEventID returns a 56-digit number taken from the hash of record, low enough that
// counting up from it stays at 56 digits.
func derivedEventID(record []byte) *big.Int {
	sum := sha256.Sum256(record)
	lowest := new(big.Int).Exp(big.NewInt(10), big.NewInt(cloudWatchEventIDDigits-1), nil)
	span := new(big.Int).Mul(lowest, big.NewInt(8)) // [1e55, 9e55)
	id := new(big.Int).SetBytes(sum[:])
	id.Mod(id, span)
	return id.Add(id, lowest)
}

// cloudWatchPayload writes a DATA_MESSAGE of one or more events; opts must have their names.
func cloudWatchPayload(events []cloudWatchEvent, opts CloudWatchOptions) ([]byte, error) {
	firstID := opts.FirstEventID
	if firstID == nil {
		firstID = derivedEventID(events[0].message)
	} else if firstID.Sign() < 0 {
		return nil, errors.New("build cloudwatch logs payload: negative first event id")
	}
	n := cloudWatchPayloadOverhead
	for _, e := range events {
		n += len(e.message) + len(e.message)/8 + cloudWatchEventOverhead
	}
	b := make([]byte, 0, n)
	b = append(b, `{"messageType":"`+cloudWatchDataMessage+`","owner":`...)
	b = jsonwrite.AppendString(b, opts.Owner)
	b = append(b, `,"logGroup":`...)
	b = jsonwrite.AppendString(b, opts.LogGroup)
	b = append(b, `,"logStream":`...)
	b = jsonwrite.AppendString(b, opts.LogStream)
	b = append(b, `,"subscriptionFilters":[`...)
	for i, name := range opts.SubscriptionFilters {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonwrite.AppendString(b, name)
	}
	b = append(b, ']')
	if opts.PolicyLevel != "" {
		b = append(b, `,"policyLevel":`...)
		b = jsonwrite.AppendString(b, opts.PolicyLevel)
	}
	b = append(b, `,"logEvents":[`...)
	id := new(big.Int).Set(firstID)
	one := big.NewInt(1)
	var digits []byte
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
			id.Add(id, one)
		}
		digits = id.Append(digits[:0], 10)
		b = append(b, `{"id":"`...)
		for range cloudWatchEventIDDigits - len(digits) {
			b = append(b, '0')
		}
		b = append(b, digits...)
		b = append(b, `","timestamp":`...)
		b = strconv.AppendInt(b, e.timestamp, 10)
		b = append(b, `,"message":`...)
		b = jsonwrite.AppendString(b, string(e.message))
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// ControlMessage returns the CONTROL_MESSAGE CloudWatch Logs sends to check that a new
// subscription's Firehose destination is reachable; it carries no CloudTrail event.
func ControlMessage() []byte {
	b := []byte(`{"messageType":"` + cloudWatchControlMessage + `","owner":"` + cloudWatchControlOwner +
		`","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":`)
	b = strconv.AppendInt(b, time.Now().UnixMilli(), 10)
	return append(b, `,"message":"`+cloudWatchControlText+`"}]}`...)
}

// Gzip compresses b with gzip, as CloudWatch Logs compresses its payloads and Firehose its
// request bodies.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	zw := gzip.NewWriter(&buf)
	// Writing to a bytes.Buffer cannot fail.
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
