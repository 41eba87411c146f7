package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/openobservetest"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

// The built collector delivering to the OpenObserve test server (internal/openobservetest,
// REFERENCE §3): Firehose in, OpenObserve's _json API out.

// The test server's only user, and where the exporter writes by default.
const (
	ooUser     = "e2e@example.com"
	ooPassword = "e2e-Secret#42"
	ooOrg      = "e2e"
	ooStream   = "cloudtrail_events"
)

// Self-metrics of the openobserve exporter (Prometheus names).
const (
	metricOOSent     = "otelcol_exporter_openobserve_sent_log_records"
	metricOOFailed   = "otelcol_exporter_openobserve_failed_log_records"
	metricOORetimed  = "otelcol_exporter_openobserve_retimed_log_records"
	metricOORequests = "otelcol_exporter_openobserve_requests"
)

// OpenObserve's ingestion window (ZO_INGEST_ALLOWED_UPTO, ZO_INGEST_ALLOWED_IN_FUTURE), as
// the exporter and the test server use it by default.
const (
	ooAllowedUpto     = openobservetest.DefaultIngestAllowedUpto
	ooAllowedInFuture = openobservetest.DefaultIngestAllowedInFuture
)

// cloudWatchSampleFile is OpenTelemetry's CloudWatch Logs subscription payload: it is
// delivered as it is, on the CloudWatch Logs path.
const cloudWatchSampleFile = "cloudwatch-logs-subscription-cloudtrail-otel.ndjson"

// rowsTimeout bounds the wait for rows to arrive; they normally take a second or two.
const rowsTimeout = 30 * time.Second

// openObserveConfig is Firehose → memory_limiter, batch → openobserve, with retries fast
// enough for a test and one queue consumer, so that the exporter's requests are sequential.
// exporterAuth are the exporter's credential lines. The receiver takes its own key and also
// OpenObserve's Firehose access key (FIREHOSE_OPENOBSERVE_ACCESS_KEY), so that a stream that
// delivered to OpenObserve can point at the collector unchanged.
func openObserveConfig(exporterAuth string) string {
	return `
extensions:
  health_check:
    endpoint: ${env:OTELCOL_HEALTH_CHECK_ENDPOINT}
receivers:
  awsfirehosecloudtrail:
    endpoint: ${env:FIREHOSE_ENDPOINT}
    access_key: ${env:FIREHOSE_ACCESS_KEY}
    access_keys:
      - ${env:FIREHOSE_OPENOBSERVE_ACCESS_KEY}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 75
    spike_limit_percentage: 15
  batch:
    send_batch_size: 2000
    timeout: 200ms
exporters:
  openobserve:
    endpoint: ${env:OPENOBSERVE_ENDPOINT}
    organization: ` + ooOrg + `
    stream: ` + ooStream + `
` + exporterAuth + `
    compression: gzip
    max_request_records: 100
    timeout: 10s
    sending_queue:
      num_consumers: 1
      queue_size: 1000
    retry_on_failure:
      enabled: true
      initial_interval: 50ms
      max_interval: 2s # a Retry-After is honoured up to max_interval; the test's is 1 s
      max_elapsed_time: 30s
service:
  extensions: [health_check]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: ${env:OTELCOL_METRICS_HOST}
                port: ${env:OTELCOL_METRICS_PORT}
  pipelines:
    logs:
      receivers: [awsfirehosecloudtrail]
      processors: [memory_limiter, batch]
      exporters: [openobserve]
`
}

// Exporter credentials: HTTP Basic user and password, or the access key (base64(user:secret)).
const (
	ooPasswordAuth  = "    username: " + ooUser + "\n    password: ${env:OPENOBSERVE_PASSWORD}"
	ooAccessKeyAuth = "    access_key: ${env:OPENOBSERVE_ACCESS_KEY}"
)

// newOpenObserve starts the test server with authentication on: one user, ooUser.
func newOpenObserve(t *testing.T) *openobservetest.Server {
	t.Helper()
	return openobservetest.NewServer(t, openobservetest.Options{
		Credentials: map[string]string{ooUser: ooPassword},
	})
}

// startOpenObserveCollector runs the collector on openObserveConfig, delivering to srv.
func startOpenObserveCollector(t *testing.T, srv *openobservetest.Server, exporterAuth string) (*instance, *collector) {
	t.Helper()
	in := newInstance(t)
	in.extra["OPENOBSERVE_ENDPOINT"] = srv.URL()
	in.extra["OPENOBSERVE_PASSWORD"] = ooPassword
	in.extra["OPENOBSERVE_ACCESS_KEY"] = openobservetest.BasicToken(ooUser, ooPassword)
	in.extra["FIREHOSE_OPENOBSERVE_ACCESS_KEY"] = openobservetest.BasicToken(ooUser, ooPassword)
	config := writeConfig(t, "openobserve.yaml", openObserveConfig(exporterAuth))
	c := startCollector(t, "collector", config, in.env(t))
	c.waitHealthy(in.health)
	return in, c
}

// waitRows waits until the stream holds at least n rows.
func waitRows(t *testing.T, srv *openobservetest.Server, org, stream string, n int) {
	t.Helper()
	if !assert.Eventually(t, func() bool { return srv.RowCount(org, stream) >= n }, rowsTimeout, pollInterval) {
		t.Fatalf("%s/%s holds %d rows after %s, want %d; server counters %+v", org, stream, srv.RowCount(org, stream), rowsTimeout, n, srv.Counters())
	}
}

// cloudWatchSample is the CloudWatch Logs payload of testdata, as delivered and as decoded.
type cloudWatchSample struct {
	payload             []byte
	owner               string
	logGroup, logStream string
	subscriptionFilters []string
	events              []replay.Event
}

func loadCloudWatchSample(t *testing.T) cloudWatchSample {
	t.Helper()
	path := filepath.Join(repoRoot, "testdata", "cloudtrail", cloudWatchSampleFile)
	payload, err := os.ReadFile(path)
	require.NoError(t, err)
	payload = []byte(strings.TrimSpace(string(payload)))
	var doc struct {
		Owner               string   `json:"owner"`
		LogGroup            string   `json:"logGroup"`
		LogStream           string   `json:"logStream"`
		SubscriptionFilters []string `json:"subscriptionFilters"`
	}
	require.NoError(t, json.Unmarshal(payload, &doc))
	events, err := replay.ReadPath(path)
	require.NoError(t, err)
	require.NotEmpty(t, events)
	return cloudWatchSample{
		payload: payload, owner: doc.Owner, logGroup: doc.LogGroup, logStream: doc.LogStream,
		subscriptionFilters: doc.SubscriptionFilters, events: events,
	}
}

// columnValue is a text two column values share exactly when they are equal: JSON text (what
// OpenObserve stores for arrays and deep objects) as the JSON value it holds, numbers by exact
// value and by kind (an integer literal or not: the column type OpenObserve infers).
func columnValue(v any) string {
	switch v := v.(type) {
	case string:
		if strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
			if j, err := decodeJSON([]byte(v)); err == nil {
				return "json:" + canonical(j)
			}
		}
		return strconv.Quote(v)
	case json.Number:
		kind := "int"
		if strings.ContainsAny(string(v), ".eE") {
			kind = "float"
		}
		var b strings.Builder
		writeNumber(&b, string(v))
		return kind + b.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		return fmt.Sprintf("!%T(%v)", v, v)
	}
}

// rowKey is a text two rows share exactly when they hold the same record columns with equal
// values. Columns starting with "_" (OpenObserve's _timestamp and the exporter's metadata) are
// left out; keep, when not nil, limits the columns to those it holds.
func rowKey(row map[string]any, keep map[string]any) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(row)) {
		if strings.HasPrefix(k, "_") {
			continue
		}
		if _, ok := keep[k]; keep != nil && !ok {
			continue
		}
		b.WriteString(strconv.Quote(k))
		b.WriteByte('=')
		b.WriteString(columnValue(row[k]))
		b.WriteByte('\n')
	}
	return b.String()
}

// expectedRow is the row the exporter documents for a CloudTrail record (README, "What is
// sent"), derived independently of it: OpenObserve's flattening of the bare record at the
// default level, with userIdentity.sessionContext kept whole as JSON text instead of split,
// and no leading "_" on a column derived from the record. The envelope's columns starting
// with "_" are not part of it (rowKey leaves them out).
func expectedRow(t *testing.T, record []byte) map[string]any {
	t.Helper()
	flat, err := openobservetest.Flatten(record, openobservetest.DefaultFlattenLevel)
	require.NoError(t, err)
	row := make(map[string]any, len(flat))
	for k, v := range flat {
		if trimmed := strings.TrimLeft(k, "_"); trimmed != k {
			k = cmpOr(trimmed, "unnamed")
		}
		row[k] = v
	}
	// The exporter recognises sessionContext by its column name, so real data's lower-case
	// spellings ("sessioncontext") are kept whole too.
	v, err := decodeJSON(record)
	require.NoError(t, err)
	for k, ui := range v.(map[string]any) {
		ui, ok := ui.(map[string]any)
		if !ok || openobservetest.FormatKey(k) != "useridentity" {
			continue
		}
		for k, sc := range ui {
			sc, ok := sc.(map[string]any)
			if !ok || len(sc) == 0 || openobservetest.FormatKey(k) != "sessioncontext" {
				continue
			}
			for k := range row {
				if strings.HasPrefix(k, "useridentity_sessioncontext_") {
					delete(row, k)
				}
			}
			text, err := json.Marshal(sc) // compared as the JSON value it holds
			require.NoError(t, err)
			row["useridentity_sessioncontext"] = string(text)
		}
	}
	return row
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// withCloudWatchColumns adds the columns the exporter writes for a record that came through
// CloudWatch Logs, under the names OpenObserve's dashboard queries.
func withCloudWatchColumns(t *testing.T, row map[string]any, cw cloudWatchSample) map[string]any {
	t.Helper()
	filters, err := json.Marshal(cw.subscriptionFilters)
	require.NoError(t, err)
	row["loggroup"] = cw.logGroup
	row["logstream"] = cw.logStream
	row["subscriptionfilters"] = string(filters)
	return row
}

// eventTimeMicros reads an eventTime in the forms the exporter documents: RFC 3339, the same
// with a space for the "T", and without a zone (UTC).
func eventTimeMicros(v any) (int64, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts.UnixMicro(), true
		}
	}
	return 0, false
}

// numberMicros reads an integer column.
func numberMicros(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// checkTimestamps checks _timestamp against OpenObserve's window and the event's own time,
// for rows stored between from and to: an event within the window keeps its time, an older
// (or far future) one is re-timed to its export time with its own time in _event_timestamp.
// It returns the number of re-timed rows.
func checkTimestamps(t *testing.T, rows []openobservetest.Row, from, to time.Time) int {
	t.Helper()
	lo, hi := from.Add(-time.Second).UnixMicro(), to.Add(time.Second).UnixMicro()
	surelyIn := func(us int64) bool {
		return us > to.Add(-ooAllowedUpto+5*time.Minute).UnixMicro() && us < from.Add(ooAllowedInFuture-5*time.Minute).UnixMicro()
	}
	surelyOut := func(us int64) bool {
		return us < from.Add(-ooAllowedUpto).UnixMicro() || us > to.Add(ooAllowedInFuture).UnixMicro()
	}
	retimed, problems := 0, 0
	report := func(format string, args ...any) {
		if problems++; problems <= 10 {
			t.Errorf(format, args...)
		}
	}
	for i, row := range rows {
		ts := row.TimestampMicros()
		if ts < from.Add(-ooAllowedUpto).UnixMicro() || ts > to.Add(ooAllowedInFuture).UnixMicro() {
			report("row %d: _timestamp %d outside OpenObserve's window", i, ts)
		}
		original, hasOriginal := row["_event_timestamp"]
		if hasOriginal {
			retimed++
		}
		eventTime, ok := eventTimeMicros(row["eventtime"])
		switch {
		case ok && surelyIn(eventTime):
			if ts != eventTime || hasOriginal {
				report("row %d (eventtime %v): _timestamp %d, _event_timestamp %v; want the event time, not re-timed", i, row["eventtime"], ts, original)
			}
		case ok && surelyOut(eventTime):
			if us, isInt := numberMicros(original); !isInt || us != eventTime {
				report("row %d (eventtime %v): _event_timestamp %v, want %d (the original time, kept)", i, row["eventtime"], original, eventTime)
			}
			if ts < lo || ts > hi {
				report("row %d (eventtime %v): re-timed _timestamp %d not within the export [%d, %d]", i, row["eventtime"], ts, lo, hi)
			}
		case !ok:
			// No usable event time: stamped at receipt or export.
			if ts < lo || ts > hi {
				report("row %d (eventtime %v): _timestamp %d not within the run [%d, %d]", i, row["eventtime"], ts, lo, hi)
			}
		}
	}
	if problems > 10 {
		t.Errorf("... %d timestamp problems in all", problems)
	}
	return retimed
}

// dashboardSample is one event whose row is checked field by field: the fields OpenObserve's
// CloudTrail dashboard queries (REFERENCE §3), with literal values from testdata.
type dashboardSample struct {
	file                   string // where the event is in testdata/cloudtrail
	eventID, eventName     string
	cloudWatch             bool           // the copy that came through CloudWatch Logs
	eventTime              string         // RFC 3339: the original time, in _event_timestamp
	want                   map[string]any // column → value
	absent                 []string       // columns the row must not have
	mfaAuthenticatedSubstr string         // what the MFA panels search useridentity_sessioncontext for
}

var dashboardSamples = []dashboardSample{
	{
		file:    "eventbridge-cloudtrail-cloud-custodian.ndjson (line 1)",
		eventID: "e9f72371-5fc5-48fc-999d-462e13fdc6bd", eventName: "AddTags",
		eventTime: "2022-07-13T20:07:38Z",
		want: map[string]any{
			"eventsource":                 "elasticloadbalancing.amazonaws.com",
			"awsregion":                   "us-east-1",
			"recipientaccountid":          "123456789123",
			"sourceipaddress":             "AWS Internal",
			"useridentity_type":           "AssumedRole",
			"useridentity_arn":            "arn:aws:sts::123456789123:assumed-role/c7nbot/HarishAchappa",
			"useridentity_sessioncontext": `{"sessionIssuer":{"type":"Role","principalId":"AROAVD4IK2M7GWZXER5DZ","arn":"arn:aws:iam::123456789123:role/c7nbot","accountId":"123456789123","userName":"c7nbot"},"webIdFederationData":{},"attributes":{"creationDate":"2022-07-13T19:09:22Z","mfaAuthenticated":"false"}}`,
			"_eventbridge_event_id":       "5471314a-e675-32d7-2742-690d2d978102",
			"_eventbridge_detail_type":    "AWS API Call via CloudTrail",
			"_eventbridge_source":         "aws.elasticloadbalancing",
		},
		absent:                 []string{"loggroup", "logstream", "subscriptionfilters", "useridentity_sessioncontext_attributes", "useridentity_sessioncontext_sessionissuer_arn"},
		mfaAuthenticatedSubstr: `"mfaAuthenticated":"false"`,
	},
	{
		file:    "eventbridge-cloudtrail-cloud-custodian.ndjson (line 4)",
		eventID: "c4fa3db1-2303-40e4-bde0-3b7246bdbf0b", eventName: "CreateBucket",
		eventTime: "2016-06-04T12:19:03Z",
		want: map[string]any{
			"eventsource":                 "s3.amazonaws.com",
			"awsregion":                   "us-west-2",
			"sourceipaddress":             "204.63.44.148",
			"useridentity_type":           "Root",
			"useridentity_arn":            "arn:aws:iam::619193117841:root",
			"useridentity_sessioncontext": `{"attributes":{"creationDate":"2016-06-04T11:18:26Z","mfaAuthenticated":"false"}}`,
			"_eventbridge_event_id":       "075efcc5-cc27-4041-accc-5fe2f65ef80d",
		},
		absent:                 []string{"recipientaccountid", "loggroup"},
		mfaAuthenticatedSubstr: `"mfaAuthenticated":"false"`,
	},
	{
		file:    "panther-analysis-cloudtrail-history.ndjson (line 93)",
		eventID: "4f5e8637-849c-4980-88ff-3751acd152dd", eventName: "ConsoleLogin",
		eventTime: "2025-09-22T19:19:45Z", // written "2025-09-22 19:19:45.000000000", no zone
		want: map[string]any{
			"eventsource":                   "signin.amazonaws.com",
			"eventtype":                     "AwsConsoleSignIn",
			"eventcategory":                 "Management",
			"readonly":                      false,
			"managementevent":               true,
			"awsregion":                     "us-west-2",
			"recipientaccountid":            "904233115233",
			"sourceipaddress":               "96.255.35.171",
			"responseelements_consolelogin": "Success",
			"useridentity_type":             "AssumedRole",
			"useridentity_arn":              "arn:aws:sts::904233115233:assumed-role/AWSReservedSSO_DevAdmin_6605c563ac4b0410/russell.leighton",
			"useridentity_accesskeyid":      "ASIA5FCD6LZQ74Z7AFWR",
			"useridentity_sessioncontext":   `{"attributes":{"mfaAuthenticated":"false","creationDate":"2025-09-22T19:19:44Z"},"sessionIssuer":{"type":"Role","principalId":"AROA5FCD6LZQZLIF36AWU","arn":"arn:aws:iam::904233115233:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_DevAdmin_6605c563ac4b0410","accountId":"904233115233","userName":"AWSReservedSSO_DevAdmin_6605c563ac4b0410"}}`,
			"_eventbridge_detail_type":      "AWS Console Sign In via CloudTrail",
			"_eventbridge_source":           "aws.signin",
		},
		mfaAuthenticatedSubstr: `"mfaAuthenticated":"false"`,
	},
	{
		file:    "otel-contrib-awslogsencoding-cloudtrail.ndjson (line 3)",
		eventID: "bb3496d4-5252-4660-9c28-3c6aebdb21c0", eventName: "Publish",
		eventTime: "2023-08-21T16:48:37Z",
		want: map[string]any{
			"eventsource":                 "sns.amazonaws.com",
			"awsregion":                   "us-east-1",
			"recipientaccountid":          "123456789012",
			"sourceipaddress":             "192.0.2.0",
			"useridentity_type":           "AssumedRole",
			"useridentity_arn":            "arn:aws:iam::123456789012:user/Bob",
			"useridentity_sessioncontext": `{"sessionIssuer":{"type":"Role","principalId":"AKIAIOSFODNN7EXAMPLE","arn":"arn:aws:iam::123456789012:role/Admin","accountId":"123456789012","userName":"ExampleUser"},"attributes":{"creationDate":"2023-08-21T16:44:05Z","mfaAuthenticated":"true"}}`,
		},
		mfaAuthenticatedSubstr: `"mfaAuthenticated":"true"`,
	},
	{
		file:    cloudWatchSampleFile,
		eventID: "5cb53c22-36b5-3ca3-a389-dae3eec919df", eventName: "PutObject", cloudWatch: true,
		eventTime: "2026-01-28T09:26:59Z",
		want: map[string]any{
			"eventsource":                  "s3.amazonaws.com",
			"eventcategory":                "Data",
			"awsregion":                    "eu-west-1",
			"recipientaccountid":           "627286350134",
			"sourceipaddress":              "s3.amazonaws.com",
			"useridentity_type":            "AWSService",
			"useridentity_invokedby":       "s3.amazonaws.com",
			"requestparameters_bucketname": "elastic-sar-bucket-fe44ff52c91b2efa4bccb8e07c85a202",
			"loggroup":                     "/aws/cloudtrail/logs",
			"logstream":                    "123456789010_CloudTrail_us-east-1",
			"subscriptionfilters":          `["CloudTrailLogSubscription"]`,
			"_cloudwatch_owner":            "123456789010",
			"_cloudwatch_log_event_id":     "eventId1",
		},
		absent: []string{"useridentity_arn", "useridentity_sessioncontext", "_eventbridge_event_id"},
	},
}

// checkDashboardSamples checks the dashboard's fields in the rows of dashboardSamples.
func checkDashboardSamples(t *testing.T, rows []openobservetest.Row, sourceARN string) {
	t.Helper()
	for _, s := range dashboardSamples {
		t.Run(s.eventName, func(t *testing.T) {
			var found []openobservetest.Row
			for _, row := range rows {
				_, viaCloudWatch := row["loggroup"]
				if row["eventid"] == s.eventID && row["eventname"] == s.eventName && viaCloudWatch == s.cloudWatch {
					found = append(found, row)
				}
			}
			require.Len(t, found, 1, "rows of %s %s from %s", s.eventName, s.eventID, s.file)
			row := found[0]
			for col, want := range s.want {
				assert.Equal(t, want, row[col], "%s of %s (%s)", col, s.eventName, s.file)
			}
			for _, col := range s.absent {
				assert.NotContains(t, row, col, "%s (%s)", s.eventName, s.file)
			}
			if s.mfaAuthenticatedSubstr != "" {
				assert.Contains(t, row["useridentity_sessioncontext"], s.mfaAuthenticatedSubstr)
			}
			assert.Equal(t, sourceARN, row["_firehose_arn"])
			et, err := time.Parse(time.RFC3339, s.eventTime)
			require.NoError(t, err)
			original, ok := numberMicros(row["_event_timestamp"])
			assert.True(t, ok && original == et.UnixMicro(), "_event_timestamp %v, want %d (%s)", row["_event_timestamp"], et.UnixMicro(), s.eventTime)
		})
	}
}

// TestOpenObserveGetsEveryEventOnceWithTheDashboardFields replays every real CloudTrail event
// of testdata through the built collector to the OpenObserve test server: the record corpora
// and EventBridge envelopes on Firehose's EventBridge path, OpenTelemetry's CloudWatch Logs
// payload on the CloudWatch Logs path, and the other EventBridge events that share such a
// stream. OpenObserve answers one request 503 with Retry-After on the way. Every event must
// be one row, value for value, with the dashboard's fields and OpenObserve's time window.
func TestOpenObserveGetsEveryEventOnceWithTheDashboardFields(t *testing.T) {
	skipShort(t)
	t.Parallel()
	data := loadCorpus(t)
	cw := loadCloudWatchSample(t)
	var viaEventBridge []replay.Event
	for _, e := range data.cloudTrail {
		if filepath.Base(e.File) != cloudWatchSampleFile {
			viaEventBridge = append(viaEventBridge, e)
		}
	}
	require.Len(t, viaEventBridge, len(data.cloudTrail)-len(cw.events))

	srv := newOpenObserve(t)
	// The third request OpenObserve gets is answered 503 (overloaded), Retry-After 1 s.
	srv.Inject(openobservetest.Response{Status: http.StatusServiceUnavailable, RetryAfter: "1", After: 2})
	in, c := startOpenObserveCollector(t, srv, ooPasswordAuth)

	start := time.Now()
	sender := newSender(in)
	send(t, sender, replay.WrapEventBridge, viaEventBridge)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := sender.Send(ctx, [][]byte{replay.Gzip(cw.payload)}) // CloudWatch Logs gzips
	require.NoError(t, err, "%s", stats)
	send(t, sender, replay.WrapEventBridge, data.other)

	total := len(data.cloudTrail) + len(data.other)
	waitRows(t, srv, ooOrg, ooStream, total)
	arrived := time.Now()
	// The exporter counts a request once OpenObserve's answer is back: wait for its counts
	// to catch up with the rows before reading them.
	retimedRows := 0
	for _, row := range srv.Rows(ooOrg, ooStream) {
		if _, ok := row["_event_timestamp"]; ok {
			retimedRows++
		}
	}
	waitMetric(t, in.metrics, float64(total), metricOOSent)
	assert.Eventually(t, func() bool {
		code, body, err := httpGet("http://" + in.metrics + "/metrics")
		if err != nil || code != http.StatusOK {
			return false
		}
		m, err := parsePrometheusText(body)
		counted, _ := m.sum(metricOORetimed)
		return err == nil && counted >= float64(retimedRows)
	}, rowsTimeout, pollInterval, "%s", metricOORetimed)
	m := scrapeMetrics(t, in.metrics)
	c.stop() // drains the queue: whatever the exporter still had is at the server now
	rows := srv.Rows(ooOrg, ooStream)
	t.Logf("%d events (%d via EventBridge, %d via CloudWatch Logs, %d non-CloudTrail) stored as %d rows in %s; server: %+v",
		total, len(viaEventBridge), len(cw.events), len(data.other), len(rows), arrived.Sub(start).Round(time.Millisecond), srv.Counters())
	assert.Equal(t, []openobservetest.Stream{{Org: ooOrg, Name: ooStream, Rows: len(rows)}}, srv.Streams(), "one destination only")

	// Split the rows: CloudTrail records, and the other EventBridge events (generic rows).
	var trailRows, otherRows []openobservetest.Row
	for _, row := range rows {
		if row["event_name"] == "aws.eventbridge.event" {
			otherRows = append(otherRows, row)
		} else {
			trailRows = append(trailRows, row)
		}
	}

	// Every CloudTrail event is exactly one row, value for value. eventID cannot be the key:
	// over a hundred test events have none, and many share placeholder ids ("1", "1111").
	want, got := newMultiset(), newMultiset()
	for _, e := range viaEventBridge {
		want.add(rowKey(expectedRow(t, e.Record), nil), fmt.Sprintf("%s:%d", relPath(e.File), e.Pos))
	}
	for _, e := range cw.events {
		want.add(rowKey(withCloudWatchColumns(t, expectedRow(t, e.Record), cw), nil), fmt.Sprintf("%s:%d", relPath(e.File), e.Pos))
	}
	for i, row := range trailRows {
		got.add(rowKey(row, nil), fmt.Sprintf("row %d", i))
	}
	requireSameRecords(t, want, got, false)

	// The other events are flattened whole (detail_type, detail_…); the row may hold more
	// columns (resource attributes, event_name, severity).
	byID := map[string]openobservetest.Row{}
	for _, row := range otherRows {
		id, _ := row["id"].(string)
		byID[id] = row
	}
	expected := map[string]openobservetest.Row{}
	wantOthers, gotOthers := newMultiset(), newMultiset()
	for _, e := range data.other {
		var envelope struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(e.Envelope, &envelope))
		require.NotContains(t, expected, envelope.ID, "EventBridge ids of the non-CloudTrail events are unique")
		flat, err := openobservetest.Flatten(e.Envelope, openobservetest.DefaultFlattenLevel)
		require.NoError(t, err)
		expected[envelope.ID] = flat
		wantOthers.add(rowKey(flat, nil), fmt.Sprintf("%s:%d", relPath(e.File), e.Pos))
	}
	for i, row := range otherRows {
		id, _ := row["id"].(string)
		gotOthers.add(rowKey(row, expected[id]), fmt.Sprintf("generic row %d", i))
	}
	requireSameRecords(t, wantOthers, gotOthers, false)

	// The dashboard's fields, literally, for a sample; and the MFA panels find rows.
	checkDashboardSamples(t, trailRows, sender.SourceARN)
	mfa := map[string]int{}
	for _, row := range trailRows {
		sc, _ := row["useridentity_sessioncontext"].(string)
		for _, v := range []string{"false", "true"} {
			if strings.Contains(sc, `"mfaAuthenticated":"`+v+`"`) {
				mfa[v]++
			}
		}
	}
	assert.Positive(t, mfa["false"], `rows with "mfaAuthenticated":"false"`)
	assert.Positive(t, mfa["true"], `rows with "mfaAuthenticated":"true"`)

	// _timestamp is within OpenObserve's window; the original time of re-timed events is kept.
	retimed := checkTimestamps(t, rows, start, arrived)

	// The 503: answered once, retried after Retry-After, nothing stored twice (above) or lost.
	counters := srv.Counters()
	assert.Equal(t, 1, counters.Injected)
	assert.Equal(t, 1, counters.ByStatus[http.StatusServiceUnavailable])
	assert.Zero(t, counters.Failed, "records OpenObserve refused inside a 200")
	assert.Equal(t, len(rows), counters.Stored)
	requests := srv.Requests()
	i := slices.IndexFunc(requests, func(r openobservetest.Request) bool { return r.Injected })
	require.GreaterOrEqual(t, i, 0)
	require.Less(t, i+1, len(requests), "no request after the 503")
	assert.GreaterOrEqual(t, requests[i+1].Time.Sub(requests[i].Time), 950*time.Millisecond, "the retry came before Retry-After")
	for _, r := range requests {
		if !r.Injected {
			assert.Equal(t, ooUser, r.User)
			assert.Equal(t, "gzip", r.ContentEncoding)
		}
	}

	// The exporter's own account agrees.
	assert.Equal(t, float64(len(rows)), m.value(t, metricOOSent))
	failed, _ := m.sum(metricOOFailed)
	assert.Zero(t, failed)
	assert.Equal(t, 1.0, m.value(t, metricOORequests, "outcome", "throttled"))
	assert.Equal(t, retimed, int(m.value(t, metricOORetimed)), "%s counts each re-timed row once, even after the 503", metricOORetimed)
	t.Logf("%d rows re-timed; %d requests to OpenObserve (%d before the 503); MFA rows: %v", retimed, len(requests), i, mfa)
}

// TestOpenObserveFirehosePathRoutesToItsOrganizationAndStream points a Firehose stream that
// delivered to OpenObserve's own endpoint (/aws/{org}/{stream}/_kinesis_firehose, with
// OpenObserve's access key) at the collector unchanged: its rows land in that organization
// and stream, while the collector's own path keeps the configured destination.
func TestOpenObserveFirehosePathRoutesToItsOrganizationAndStream(t *testing.T) {
	skipShort(t)
	t.Parallel()
	data := loadCorpus(t)
	var envelopes []replay.Event
	for _, e := range data.cloudTrail {
		if e.Envelope != nil {
			envelopes = append(envelopes, e)
		}
	}
	require.NotEmpty(t, envelopes)

	srv := newOpenObserve(t)
	in, c := startOpenObserveCollector(t, srv, ooAccessKeyAuth)

	moved := newSender(in)
	moved.URL = "http://" + in.firehose + "/aws/myorg/mystream/_kinesis_firehose"
	moved.AccessKey = openobservetest.BasicToken(ooUser, ooPassword)
	stats := send(t, moved, replay.WrapEventBridge, envelopes)
	require.Equal(t, 1, stats.Batches, "one Firehose batch")
	own := newSender(in)
	send(t, own, replay.WrapEventBridge, envelopes[:1])

	waitRows(t, srv, "myorg", "mystream", len(envelopes))
	waitRows(t, srv, ooOrg, ooStream, 1)
	c.stop()
	assert.Equal(t, []openobservetest.Stream{
		{Org: ooOrg, Name: ooStream, Rows: 1},
		{Org: "myorg", Name: "mystream", Rows: len(envelopes)},
	}, srv.Streams())

	want, got := newMultiset(), newMultiset()
	for _, e := range envelopes {
		want.add(rowKey(expectedRow(t, e.Record), nil), fmt.Sprintf("%s:%d", relPath(e.File), e.Pos))
	}
	for i, row := range srv.Rows("myorg", "mystream") {
		got.add(rowKey(row, nil), fmt.Sprintf("row %d", i))
		assert.Equal(t, moved.SourceARN, row["_firehose_arn"])
		for _, col := range []string{"_resource_openobserve_organization", "_resource_openobserve_stream", "openobserve_organization", "openobserve_stream"} {
			assert.NotContains(t, row, col, "the routing attributes are not columns")
		}
	}
	requireSameRecords(t, want, got, false)
	own1 := srv.Rows(ooOrg, ooStream)[0]
	assert.Equal(t, rowKey(expectedRow(t, envelopes[0].Record), nil), rowKey(own1, nil))

	for _, r := range srv.Requests() {
		assert.Equal(t, ooUser, r.User, "the exporter authenticates with its access key")
		assert.Equal(t, http.StatusOK, r.Status)
	}
}
