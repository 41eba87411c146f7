package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/testaddr"
)

// Self-metrics of the default pipeline (Prometheus names).
const (
	metricAccepted       = "otelcol_receiver_accepted_log_records"
	metricRefused        = "otelcol_receiver_refused_log_records"
	metricShapes         = "otelcol_receiver_awsfirehosecloudtrail_records"
	metricRequests       = "otelcol_receiver_awsfirehosecloudtrail_requests"
	metricRequestBytes   = "otelcol_receiver_awsfirehosecloudtrail_request_bytes"
	metricSent           = "otelcol_exporter_sent_log_records"
	metricWritten        = "otelcol_exporter_localstorage_records_written"
	metricFilesRecovered = "otelcol_exporter_localstorage_files_recovered"
	receiverLabel        = "awsfirehosecloudtrail"
)

// startDefault runs the default configuration (collector-config.yaml) for in.
func startDefault(t *testing.T, name string, in *instance, args ...string) *collector {
	t.Helper()
	c := startCollector(t, name, shipped("collector-config.yaml"), in.env(t), args...)
	c.waitHealthy(in.health)
	return c
}

func TestArchiveHoldsEveryEventValueForValue(t *testing.T) {
	skipShort(t)
	t.Parallel()
	t.Run("values allocated in blocks (the default)", func(t *testing.T) {
		t.Parallel()
		testArchiveHoldsEveryEventValueForValue(t)
	})
	t.Run("values allocated by pdata", func(t *testing.T) {
		t.Parallel()
		testArchiveHoldsEveryEventValueForValue(t, "--feature-gates=-receiver.awsfirehosecloudtrail.valueCells")
	})
}

func testArchiveHoldsEveryEventValueForValue(t *testing.T, args ...string) {
	data := loadCorpus(t)
	in := newInstance(t)
	c := startDefault(t, "collector", in, args...)

	// Every CloudTrail event once on each of Firehose's delivery paths, and the other
	// EventBridge events that share a stream with them.
	sender := newSender(in)
	for _, w := range replay.Wraps {
		send(t, sender, w, data.cloudTrail)
	}
	send(t, sender, replay.WrapEventBridge, data.other)
	c.stop()

	want := recordMultiset(t, data.cloudTrail, len(replay.Wraps))
	archived := readCloudTrailArchive(t, in.dataDir)
	got := archiveMultiset(archived)
	requireSameRecords(t, want, got, false)
	t.Logf("%d events × %d delivery paths: %d records in %d CloudTrail log files", len(data.cloudTrail), len(replay.Wraps), len(archived), countFiles(archived))

	// The other events are kept whole, beside the CloudTrail files, as OTLP JSON.
	others := newMultiset()
	for _, r := range allRecords(readOTLPFiles(t, in.dataDir)) {
		assert.Equal(t, "aws.eventbridge.event", r.record.EventName())
		others.add(canonicalBody(r.record), "otlp file")
	}
	requireSameRecords(t, envelopeMultiset(t, data.other), others, false)
}

func TestHealthCheckAndSelfMetricsCountWhatWasReceived(t *testing.T) {
	skipShort(t)
	t.Parallel()
	data := loadCorpus(t)
	in := newInstance(t)
	c := startDefault(t, "collector", in)

	code, status := healthStatus(t, in.health)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "Server available", status)
	before := scrapeMetrics(t, in.metrics)
	accepted, _ := before.sum(metricAccepted, "receiver", receiverLabel)
	require.Zero(t, accepted)

	stats := send(t, newSender(in), replay.WrapBare, data.cloudTrail)
	// One request with a wrong access key, not retried.
	intruder := newSender(in)
	intruder.AccessKey = "not-the-key"
	intruder.RetryDuration = -1
	_, err := intruder.Send(context.Background(), [][]byte{data.cloudTrail[0].Record})
	require.ErrorIs(t, err, replay.ErrUndelivered)

	n := float64(len(data.cloudTrail))
	m := scrapeMetrics(t, in.metrics)
	assert.Equal(t, n, m.value(t, metricAccepted, "receiver", receiverLabel))
	assert.Zero(t, m.value(t, metricRefused, "receiver", receiverLabel))
	assert.Equal(t, n, m.value(t, metricShapes, "shape", "bare"))
	assert.Equal(t, float64(stats.Batches), m.value(t, metricRequests, "status_code", "200"))
	assert.Equal(t, 1.0, m.value(t, metricRequests, "status_code", "401"))
	assert.Equal(t, float64(stats.Requests+1), m.value(t, metricRequests))
	assert.GreaterOrEqual(t, m.value(t, metricRequestBytes), float64(stats.Bytes))
	assert.Equal(t, n, m.value(t, metricSent, "exporter", "localstorage"))
	assert.Equal(t, n, m.value(t, metricWritten, "format", "cloudtrail"))

	code, status = healthStatus(t, in.health)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "Server available", status)
	c.stop()
}

func TestKill9DuringReplayLosesNoEvent(t *testing.T) {
	skipShort(t)
	t.Parallel()
	data := loadCorpus(t)
	in := newInstance(t)
	first := startDefault(t, "collector", in)

	// Several requests in flight, small batches: the kill lands in the middle of some.
	sender := newSender(in)
	sender.Concurrency = 4
	sender.MaxBatchBytes = 32 << 10
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	threshold := len(data.cloudTrail) / 3
	killNow, killed := make(chan struct{}), make(chan struct{})
	triggered := false
	sender.Progress = func(s replay.Stats) { // calls do not overlap; the sender waits for them
		if triggered || s.RecordsSent < threshold {
			return
		}
		triggered = true
		close(killNow)
		select {
		case <-killed:
		case <-ctx.Done():
		}
	}
	type result struct {
		stats replay.Stats
		err   error
	}
	done := make(chan result, 1)
	go func() {
		stats, err := sender.SendSeq(ctx, wrapper(replay.WrapEventBridge).Records(eventSeq(data.cloudTrail)))
		done <- result{stats, err}
	}()

	select {
	case <-killNow:
	case r := <-done:
		t.Fatalf("the replay ended before the kill: %s: %v", r.stats, r.err)
	}
	first.kill()
	close(killed)
	second := startDefault(t, "collector after kill -9", in)

	var r result
	select {
	case r = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the replay did not finish")
	}
	require.NoError(t, r.err, "%s", r.stats)
	require.Zero(t, r.stats.Undelivered())
	assert.Positive(t, r.stats.Retries, "no request failed: the kill did not interrupt the replay")
	recovered := scrapeMetrics(t, in.metrics).value(t, metricFilesRecovered)
	assert.Positive(t, recovered, "the restarted exporter found no file of the killed one")
	second.stop()

	want := recordMultiset(t, data.cloudTrail, 1)
	got := archiveMultiset(readCloudTrailArchive(t, in.dataDir))
	duplicates := requireSameRecords(t, want, got, true)
	t.Logf("kill -9 once %d of %d records were acknowledged; replay: %s; restart recovered %v files; archive: %d records, %d duplicates (retried batches that were stored before the kill)",
		threshold, len(data.cloudTrail), r.stats, recovered, got.total(), duplicates)
}

// backend is a second collector that receives OTLP/HTTP and archives it twice: as CloudTrail
// files (dir) and as OTLP JSON (otlpDir), which keeps the attributes.
type backend struct {
	http, health, metrics string
	dir, otlpDir          string
	config                string
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{
		http:    testaddr.Free(t),
		health:  testaddr.Free(t),
		metrics: testaddr.Free(t),
		dir:     t.TempDir(),
		otlpDir: t.TempDir(),
	}
	b.config = writeConfig(t, "backend.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: %s
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  localstorage:
    directory: %s
    format: cloudtrail
  localstorage/otlp_json:
    directory: %s
    format: otlp_json
service:
  extensions: [health_check]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %s
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [localstorage, localstorage/otlp_json]
`, b.health, b.http, strconv.Quote(b.dir), strconv.Quote(b.otlpDir), port(t, b.metrics)))
	return b
}

func (b *backend) start(t *testing.T) *collector {
	t.Helper()
	c := startCollector(t, "otlp backend", b.config, nil)
	c.waitHealthy(b.health)
	return c
}

// waitReceived waits until the backend has received n log records.
func (b *backend) waitReceived(t *testing.T, n int) {
	t.Helper()
	waitMetric(t, b.metrics, float64(n), metricAccepted, "receiver", "otlp")
}

func TestOTLPBackendReceivesEveryEventWithTheMappedAttributes(t *testing.T) {
	skipShort(t)
	t.Parallel()
	data := loadCorpus(t)
	b := newBackend(t)
	backendCollector := b.start(t)
	in := newInstance(t)
	in.extra["OTLP_ENDPOINT"] = "http://" + b.http
	forwarder := startCollector(t, "forwarder", shipped("testdata/configs/otlp.yaml"), in.env(t))
	forwarder.waitHealthy(in.health)

	send(t, newSender(in), replay.WrapEventBridge, data.cloudTrail)
	b.waitReceived(t, len(data.cloudTrail))
	forwarder.stop()
	backendCollector.stop()

	want := recordMultiset(t, data.cloudTrail, 1)
	requireSameRecords(t, want, archiveMultiset(readCloudTrailArchive(t, in.dataDir)), false)
	requireSameRecords(t, want, archiveMultiset(readCloudTrailArchive(t, b.dir)), false)

	// The attributes, on the far side of OTLP.
	sources := map[string]map[string]any{}
	for _, e := range data.cloudTrail {
		v, err := decodeJSON(e.Record)
		require.NoError(t, err)
		sources[canonical(v)] = v.(map[string]any)
	}
	records := allRecords(readOTLPFiles(t, b.otlpDir))
	require.Len(t, records, len(data.cloudTrail))
	var problems []string
	for i, r := range records {
		src, ok := sources[canonicalBody(r.record)]
		if !ok {
			problems = append(problems, fmt.Sprintf("record %d: the body is none of the events sent", i))
			continue
		}
		for _, p := range checkMapping(src, r) {
			problems = append(problems, fmt.Sprintf("event %v: %s", src["eventID"], p))
		}
	}
	if len(problems) > 0 {
		t.Fatalf("%d mapping problems; the first:\n%s", len(problems), strings.Join(problems[:min(20, len(problems))], "\n"))
	}
}

func TestPersistentQueueSurvivesABackendOutageAndACrash(t *testing.T) {
	skipShort(t)
	t.Parallel()
	data := loadCorpus(t)
	b := newBackend(t) // not started yet: the backend is down
	in := newInstance(t)
	in.extra["OTLP_ENDPOINT"] = "http://" + b.http
	in.extra["OTELCOL_QUEUE_DIR"] = t.TempDir()
	config := shipped("testdata/configs/persistent-queue.yaml")

	first := startCollector(t, "forwarder", config, in.env(t))
	first.waitHealthy(in.health)
	// Firehose is answered 200 as soon as the records are in the on-disk queue.
	send(t, newSender(in), replay.WrapEventBridge, data.cloudTrail)
	first.kill()

	backendCollector := b.start(t)
	second := startCollector(t, "forwarder after kill -9", config, in.env(t))
	second.waitHealthy(in.health)
	b.waitReceived(t, len(data.cloudTrail))
	second.stop()
	backendCollector.stop()

	want := recordMultiset(t, data.cloudTrail, 1)
	got := archiveMultiset(readCloudTrailArchive(t, b.dir))
	if duplicates := requireSameRecords(t, want, got, true); duplicates > 0 {
		t.Logf("%d duplicate records at the backend", duplicates)
	}
}

// eventNames maps eventType (case-insensitively) to the log record's EventName (REFERENCE §4).
var eventNames = map[string]string{
	"awsapicall":           "aws.cloudtrail.api_call",
	"awsconsolesignin":     "aws.cloudtrail.console_sign_in",
	"awsconsoleaction":     "aws.cloudtrail.console_action",
	"awsserviceevent":      "aws.cloudtrail.service_event",
	"awscloudtrailinsight": "aws.cloudtrail.insight",
	"awsvpceevent":         "aws.cloudtrail.vpce_event",
}

// checkMapping compares a log record with the attribute contract for its source CloudTrail
// record (REFERENCE §4) and returns the differences.
func checkMapping(src map[string]any, r otlpRecord) []string {
	var problems []string
	attrs := r.record.Attributes()
	expectStr := func(attr string, value any) {
		want, isString := value.(string)
		got, present := attrs.Get(attr)
		switch {
		case isString && !present:
			problems = append(problems, fmt.Sprintf("%s missing, want %q", attr, want))
		case isString && got.AsString() != want:
			problems = append(problems, fmt.Sprintf("%s = %q, want %q", attr, got.AsString(), want))
		case value == nil && present:
			problems = append(problems, fmt.Sprintf("%s = %q for an absent field", attr, got.AsString()))
		}
	}
	for field, attr := range map[string]string{
		"eventID":         "aws.cloudtrail.event_id",
		"eventVersion":    "aws.cloudtrail.event_version",
		"eventType":       "aws.cloudtrail.event_type",
		"eventName":       "rpc.method",
		"eventSource":     "rpc.service",
		"eventCategory":   "aws.event.category",
		"requestID":       "aws.request_id",
		"sourceIPAddress": "client.address",
		"userAgent":       "user_agent.original",
		"errorCode":       "error.type",
	} {
		expectStr(attr, src[field])
	}
	if ui, ok := src["userIdentity"].(map[string]any); ok {
		for field, attr := range map[string]string{
			"type":        "aws.principal.type",
			"arn":         "aws.principal.arn",
			"principalId": "aws.principal.id",
			"accessKeyId": "aws.access_key.id",
		} {
			expectStr(attr, ui[field])
		}
	}
	for field, attr := range map[string]string{"readOnly": "aws.event.read_only", "managementEvent": "aws.event.management"} {
		if want, ok := src[field].(bool); ok {
			if got, ok := attrs.Get(attr); !ok || got.AsRaw() != want {
				problems = append(problems, fmt.Sprintf("%s = %v, want %v", attr, got.AsRaw(), want))
			}
		}
	}
	_, hasName := src["eventName"].(string)
	_, hasSource := src["eventSource"].(string)
	if hasName || hasSource {
		expectStr("rpc.system", "aws-api")
	}

	eventType, _ := src["eventType"].(string)
	wantName, ok := eventNames[strings.ToLower(eventType)]
	if !ok {
		wantName = "aws.cloudtrail.event"
	}
	if got := r.record.EventName(); got != wantName {
		problems = append(problems, fmt.Sprintf("EventName %q, want %q", got, wantName))
	}
	wantSeverity := "INFO"
	if code, _ := src["errorCode"].(string); code != "" {
		wantSeverity = "ERROR"
	}
	if got := r.record.SeverityText(); got != wantSeverity {
		problems = append(problems, fmt.Sprintf("severity %q, want %q", got, wantSeverity))
	}
	if s, ok := src["eventTime"].(string); ok {
		if ts, err := time.Parse(time.RFC3339, s); err == nil && !r.record.Timestamp().AsTime().Equal(ts) {
			problems = append(problems, fmt.Sprintf("timestamp %s, want eventTime %s", r.record.Timestamp().AsTime(), s))
		}
	}

	res := r.resource.Attributes()
	resStr := func(key string) string {
		v, _ := res.Get(key)
		return v.AsString()
	}
	if got := resStr("cloud.provider"); got != "aws" {
		problems = append(problems, fmt.Sprintf("cloud.provider %q, want aws", got))
	}
	if region, _ := src["awsRegion"].(string); region != "" && resStr("cloud.region") != region {
		problems = append(problems, fmt.Sprintf("cloud.region %q, want awsRegion %q", resStr("cloud.region"), region))
	}
	account, _ := src["recipientAccountId"].(string)
	if account == "" {
		if ui, ok := src["userIdentity"].(map[string]any); ok {
			account, _ = ui["accountId"].(string)
		}
	}
	if account != "" && resStr("cloud.account.id") != account {
		problems = append(problems, fmt.Sprintf("cloud.account.id %q, want %q", resStr("cloud.account.id"), account))
	}
	return problems
}
