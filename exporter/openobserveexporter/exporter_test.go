package openobserveexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/openobserveexporter/internal/metadatatest"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/openobservetest"
)

// harness is an exporter wired to a test server.
type harness struct {
	exp  exporter.Logs
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
	srv  *openobservetest.Server
}

// newHarness starts an exporter against srv. By default it has no queue and no retries, so
// ConsumeLogs returns what one push returned; mutate changes that.
func newHarness(t *testing.T, srv *openobservetest.Server, mutate func(*Config)) *harness {
	t.Helper()
	cfg := testConfig()
	cfg.Endpoint = srv.URL()
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	core, logs := observer.New(zap.DebugLevel)
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)

	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return &harness{exp: exp, tel: tel, logs: logs, srv: srv}
}

// counter sums a counter's data points that carry the given attribute (any when key is "").
func (h *harness) counter(t *testing.T, name, key, value string) int64 {
	t.Helper()
	m, err := h.tel.GetMetric("otelcol_" + name)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if key == "" {
			total += dp.Value
			continue
		}
		if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.AsString() == value {
			total += dp.Value
		}
	}
	return total
}

// droppedWarning returns the error of the one warning about records a push could not store.
func droppedWarning(t *testing.T, h *harness) string {
	t.Helper()
	warn := h.logs.FilterMessage("log records OpenObserve cannot store were dropped").All()
	require.Len(t, warn, 1)
	return fmt.Sprint(warn[0].ContextMap()["error"])
}

func (h *harness) failed(t *testing.T, reason string) int64 {
	return h.counter(t, "exporter_openobserve_failed_log_records", "reason", reason)
}

func (h *harness) sent(t *testing.T) int64 {
	return h.counter(t, "exporter_openobserve_sent_log_records", "", "")
}

// wideServer accepts every real event whatever its age.
func wideServer(t *testing.T) *openobservetest.Server {
	return openobservetest.NewServer(t, openobservetest.Options{
		IngestAllowedUpto:     100 * 365 * 24 * time.Hour,
		IngestAllowedInFuture: 100 * 365 * 24 * time.Hour,
	})
}

func allRecordsLogs(t *testing.T) (plog.Logs, int) {
	var records []testRecord
	for _, name := range []string{"eventbridge", "cloudwatch", "bare"} {
		records = append(records, allRealRecords(t)[name]...)
	}
	return buildLogs(t, records, buildOptions{}), len(records)
}

func TestExportStoresEveryRealEventOnce(t *testing.T) {
	for _, compression := range []configcompression.Type{configcompression.TypeGzip, configcompression.TypeZstd, configcompression.TypeDeflate, compressionNone} {
		t.Run(string(compression), func(t *testing.T) {
			srv := wideServer(t)
			h := newHarness(t, srv, func(cfg *Config) {
				wideWindow(cfg)
				cfg.Compression = compression
			})
			ld, n := allRecordsLogs(t)
			require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

			rows := srv.Rows("default", "cloudtrail_events")
			require.Len(t, rows, n)
			assert.Equal(t, int64(n), h.sent(t))
			assert.Equal(t, 0, srv.Counters().Failed)
			for _, req := range srv.Requests() {
				want := string(compression)
				if compression == compressionNone {
					want = ""
				}
				assert.Equal(t, want, req.ContentEncoding)
				assert.Equal(t, http.StatusOK, req.Status)
				assert.LessOrEqual(t, req.Columns, 1000)
				assert.Equal(t, openobservetest.DefaultUser, req.User)
			}
			for _, row := range rows {
				_, hasTime := row["eventtime"]
				if hasTime && row["eventtime"] == "2022-07-13T20:07:38Z" {
					assert.Equal(t, time.Date(2022, 7, 13, 20, 7, 38, 0, time.UTC).UnixMicro(), row.TimestampMicros())
				}
			}
		})
	}
}

func TestColumnsPerRequestStayUnderTheLimit(t *testing.T) {
	srv := wideServer(t)
	h := newHarness(t, srv, func(cfg *Config) {
		wideWindow(cfg)
		cfg.MaxRequestColumns = 200 // the 461 events have over 500 distinct columns
	})
	records := allRealRecords(t)["bare"]
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), buildLogs(t, records, buildOptions{})))
	reqs := srv.Requests()
	require.Greater(t, len(reqs), 2, "the columns need at least three requests")
	for i, r := range reqs {
		assert.LessOrEqual(t, r.Columns, 200)
		if i < len(reqs)-1 {
			assert.Greater(t, r.Columns, 100, "requests are not cut needlessly early")
		}
		assert.Equal(t, http.StatusOK, r.Status)
	}
	assert.Equal(t, len(records), srv.RowCount("default", "cloudtrail_events"))
}

func TestBatchesAreCutByRecordsAndBytes(t *testing.T) {
	srv := wideServer(t)
	h := newHarness(t, srv, func(cfg *Config) {
		wideWindow(cfg)
		cfg.MaxRequestRecords = 7
		cfg.MaxRequestBytes = 20_000
	})
	records := allRealRecords(t)["bare"][:100]
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), buildLogs(t, records, buildOptions{})))
	total := 0
	for _, r := range srv.Requests() {
		assert.LessOrEqual(t, r.Records, 7)
		if r.Records > 1 {
			assert.LessOrEqual(t, r.BodyBytes, 20_000)
		}
		total += r.Records
	}
	assert.Equal(t, 100, total)
	assert.Equal(t, 100, srv.RowCount("default", "cloudtrail_events"))
}

func TestCredentials(t *testing.T) {
	const user, secret = "ingest@example.com", "o2oi_s3cr3t-token"
	srv := openobservetest.NewServer(t, openobservetest.Options{Credentials: map[string]string{user: secret}})
	key := openobservetest.BasicToken(user, secret)
	tests := []struct {
		name   string
		set    func(*Config)
		stored bool
	}{
		{"username and password", func(c *Config) { c.Username, c.Password = user, secret }, true},
		{"access key", func(c *Config) { c.Username, c.Password, c.AccessKey = "", "", "Basic "+configOpaque(key) }, true},
		{"wrong password", func(c *Config) { c.Username, c.Password = user, "wrong" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.RowCount("default", "cloudtrail_events")
			h := newHarness(t, srv, tt.set)
			err := h.exp.ConsumeLogs(context.Background(), oneGenericLog("hello"))
			if tt.stored {
				require.NoError(t, err)
				assert.Equal(t, before+1, srv.RowCount("default", "cloudtrail_events"))
				return
			}
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err))
			assert.ErrorContains(t, err, "401")
			assert.ErrorContains(t, err, "check username and password, or access_key")
			assert.NotContains(t, err.Error(), "wrong")
			assert.Equal(t, int64(1), h.failed(t, reasonUnauthorized))
		})
	}
}

func configOpaque(s string) configopaque.String { return configopaque.String(s) }

func oneGenericLog(body string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.Body().SetStr(body)
	return ld
}

func genericLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Attributes().PutInt("seq", int64(i))
		lr.Body().SetStr(fmt.Sprintf("record %d", i))
	}
	return ld
}

func TestStatusMapping(t *testing.T) {
	httpDate := time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name      string
		inject    openobservetest.Response
		permanent bool
		contains  []string
		reason    string
	}{
		{name: "429 is throttling that honours Retry-After", inject: openobservetest.Response{Status: 429, RetryAfter: "3"}, contains: []string{"Throttle (3s)", "throttling"}},
		{name: "503 is throttling with an HTTP-date Retry-After", inject: openobservetest.Response{Status: 503, RetryAfter: httpDate}, contains: []string{"Throttle (", "503"}},
		{name: "503 without Retry-After leaves the delay to the backoff", inject: openobservetest.Response{Status: 503}, contains: []string{"Throttle (0s)"}},
		{name: "500 is retryable", inject: openobservetest.Response{Status: 500}, contains: []string{"(500)"}},
		{name: "502 is retryable", inject: openobservetest.Response{Status: 502}, contains: []string{"(502)"}},
		{name: "400 is permanent and quotes OpenObserve", inject: openobservetest.Response{Status: 400, Body: `{"code":400,"message":"Invalid json"}`}, permanent: true, contains: []string{"invalid request (400): Invalid json"}, reason: reasonInvalid},
		{name: "401 is permanent and says what to fix", inject: openobservetest.Response{Status: 401}, permanent: true, contains: []string{"check username and password, or access_key"}, reason: reasonUnauthorized},
		{name: "403 is permanent and names the organization", inject: openobservetest.Response{Status: 403}, permanent: true, contains: []string{`organization "default" (403)`}, reason: reasonUnauthorized},
		{name: "404 is permanent and points at the endpoint", inject: openobservetest.Response{Status: 404}, permanent: true, contains: []string{"endpoint must be OpenObserve's base URL"}, reason: reasonInvalid},
		{name: "415 is permanent and names the compression", inject: openobservetest.Response{Status: 415}, permanent: true, contains: []string{"set compression to gzip, zstd, deflate or none"}, reason: reasonInvalid},
		{name: "413 on a single record is permanent", inject: openobservetest.Response{Status: 413}, permanent: true, contains: []string{"too large (413)"}, reason: reasonTooLarge},
		{name: "a 200 that is not OpenObserve's answer is permanent", inject: openobservetest.Response{Status: 200, Body: "<html>login</html>"}, permanent: true, contains: []string{"without OpenObserve's ingestion status", "base URL"}, reason: reasonRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openobservetest.NewServer(t, openobservetest.Options{})
			h := newHarness(t, srv, nil)
			srv.Inject(tt.inject)
			err := h.exp.ConsumeLogs(context.Background(), oneGenericLog("x"))
			require.Error(t, err)
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err), "%v", err)
			for _, c := range tt.contains {
				assert.ErrorContains(t, err, c)
			}
			if !tt.permanent {
				var left consumererror.Logs
				require.ErrorAs(t, err, &left, "a retryable error carries what is left to send")
				assert.Equal(t, 1, left.Data().LogRecordCount())
				assert.Equal(t, int64(0), h.counter(t, "exporter_openobserve_failed_log_records", "", ""), "a retryable failure is not a failure yet")
				return
			}
			assert.Equal(t, int64(1), h.failed(t, tt.reason))
			assert.Equal(t, 0, srv.RowCount("default", "cloudtrail_events"))
		})
	}
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	h := newHarness(t, srv, nil)
	srv.Close()
	err := h.exp.ConsumeLogs(context.Background(), oneGenericLog("x"))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "send 1 log records to default/cloudtrail_events")
}

// TestRetriedThrottlingDoesNotDuplicateRows sends 12 records in requests of 5; the second
// request is throttled with Retry-After: 1, within max_interval. The retry sends only the 7
// records not yet stored, after at least a second, and every record is stored exactly once.
func TestRetriedThrottlingDoesNotDuplicateRows(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	h := newHarness(t, srv, func(cfg *Config) {
		cfg.MaxRequestRecords = 5
		cfg.RetryConfig.Enabled = true
		cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
		cfg.RetryConfig.MaxInterval = 2 * time.Second
		cfg.RetryConfig.MaxElapsedTime = 30 * time.Second
	})
	srv.Inject(openobservetest.Response{Status: http.StatusServiceUnavailable, RetryAfter: "1", After: 1})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), genericLogs(12)))

	rows := srv.Rows("default", "cloudtrail_events")
	require.Len(t, rows, 12)
	seen := map[string]int{}
	for _, r := range rows {
		seen[string(r["seq"].(json.Number))]++
	}
	for i := range 12 {
		assert.Equal(t, 1, seen[fmt.Sprint(i)], "record %d stored once", i)
	}
	reqs := srv.Requests()
	require.Len(t, reqs, 4) // 5 stored, 5 throttled, then 5 and 2 on the retry
	assert.Equal(t, http.StatusServiceUnavailable, reqs[1].Status)
	assert.Equal(t, []int{5, 5, 2}, []int{reqs[0].Records, reqs[2].Records, reqs[3].Records})
	assert.GreaterOrEqual(t, reqs[2].Time.Sub(reqs[1].Time), time.Second, "Retry-After is honoured")
	assert.Equal(t, int64(12), h.sent(t))
}

// TestALongRetryAfterDoesNotMakeExporterhelperGiveUp: OpenObserve asks for a wait as long as
// the whole retry budget or longer. exporterhelper gives up at once when a throttle delay ends
// past max_elapsed_time, so the records would be dropped after one request; the exporter asks
// for at most max_interval and they arrive. The retry settings are the defaults scaled down
// 1000× (5 ms, ×1.5 up to 30 ms, give up after 300 ms); Retry-After is not scaled.
func TestALongRetryAfterDoesNotMakeExporterhelperGiveUp(t *testing.T) {
	for _, ra := range []string{"300", "3600", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
		t.Run("Retry-After "+ra, func(t *testing.T) {
			srv := openobservetest.NewServer(t, openobservetest.Options{})
			h := newHarness(t, srv, func(cfg *Config) {
				cfg.RetryConfig = configretry.NewDefaultBackOffConfig()
				cfg.RetryConfig.InitialInterval /= 1000
				cfg.RetryConfig.MaxInterval /= 1000
				cfg.RetryConfig.MaxElapsedTime /= 1000
			})
			srv.Inject(openobservetest.Response{Status: http.StatusTooManyRequests, RetryAfter: ra})
			require.NoError(t, h.exp.ConsumeLogs(context.Background(), genericLogs(3)))
			assert.Equal(t, 3, srv.RowCount("default", "cloudtrail_events"))
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			assert.Equal(t, http.StatusTooManyRequests, reqs[0].Status)
			assert.Equal(t, http.StatusOK, reqs[1].Status)
		})
	}
}

func TestServerErrorsAreRetriedUntilStored(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	h := newHarness(t, srv, func(cfg *Config) {
		cfg.RetryConfig.Enabled = true
		cfg.RetryConfig.InitialInterval = 5 * time.Millisecond
		cfg.RetryConfig.MaxInterval = 10 * time.Millisecond
	})
	srv.Inject(openobservetest.Response{Status: http.StatusBadGateway, Times: 3})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), genericLogs(3)))
	assert.Equal(t, 3, srv.RowCount("default", "cloudtrail_events"))
	assert.Equal(t, 3, srv.Counters().ByStatus[http.StatusBadGateway])
}

// TestAPushPartlyStoredIsNotAFailure: OpenObserve stores the first request of a push and
// refuses the second. An error would make exporterhelper count every record as failed, the
// stored ones too, and, with sending_queue off, make the receiver answer Firehose with an
// error, so Firehose would resend the stored rows. The push succeeds; this exporter's own
// counters tell stored and refused records apart, and a warning names what was dropped.
func TestAPushPartlyStoredIsNotAFailure(t *testing.T) {
	tests := []struct {
		name   string
		inject openobservetest.Response
		reason string
	}{
		{"a 400 for the second request", openobservetest.Response{Status: http.StatusBadRequest, Body: `{"code":400,"message":"Invalid json"}`, After: 1}, reasonInvalid},
		{"a 401 for the second request", openobservetest.Response{Status: http.StatusUnauthorized, After: 1}, reasonUnauthorized},
		{"a 200 storing nothing of the second request", openobservetest.Response{Status: http.StatusOK, After: 1,
			Body: `{"code":200,"status":[{"name":"cloudtrail_events","successful":0,"failed":3,"error":"Failed to cast seq to type Utf8"}]}`}, reasonSchemaConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openobservetest.NewServer(t, openobservetest.Options{})
			h := newHarness(t, srv, func(cfg *Config) { cfg.MaxRequestRecords = 3 })
			srv.Inject(tt.inject)
			require.NoError(t, h.exp.ConsumeLogs(context.Background(), genericLogs(6)))

			assert.Equal(t, 3, srv.RowCount("default", "cloudtrail_events"))
			assert.Len(t, srv.Requests(), 2, "nothing is resent")
			assert.Equal(t, int64(3), h.sent(t))
			assert.Equal(t, int64(3), h.failed(t, tt.reason))
			assert.Equal(t, int64(0), h.counter(t, "exporter_send_failed_log_records", "", ""), "exporterhelper does not count stored records as failed")
			assert.Equal(t, int64(6), h.counter(t, "exporter_sent_log_records", "", ""))
			warn := h.logs.FilterMessage("log records OpenObserve cannot store were dropped").All()
			require.Len(t, warn, 1)
			assert.Equal(t, zap.WarnLevel, warn[0].Level)
			assert.Equal(t, int64(3), warn[0].ContextMap()["stored"])
			assert.Equal(t, int64(3), warn[0].ContextMap()["dropped"])
		})
	}
	t.Run("a push of which nothing was stored is a permanent failure", func(t *testing.T) {
		srv := openobservetest.NewServer(t, openobservetest.Options{})
		h := newHarness(t, srv, func(cfg *Config) { cfg.MaxRequestRecords = 3 })
		srv.Inject(openobservetest.Response{Status: http.StatusBadRequest, Times: 2})
		err := h.exp.ConsumeLogs(context.Background(), genericLogs(6))
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err))
		assert.Equal(t, int64(6), h.failed(t, reasonInvalid))
		assert.Equal(t, int64(6), h.counter(t, "exporter_send_failed_log_records", "", ""))
	})
}

func TestTooLargeRequestsAreSplitUntilTheyFit(t *testing.T) {
	const limit = 3000
	srv := openobservetest.NewServer(t, openobservetest.Options{
		MaxBodyBytes:          limit,
		IngestAllowedUpto:     100 * 365 * 24 * time.Hour,
		IngestAllowedInFuture: 100 * 365 * 24 * time.Hour,
	})
	h := newHarness(t, srv, func(cfg *Config) {
		wideWindow(cfg)
		cfg.Compression = compressionNone
	})
	records := allRealRecords(t)["bare"]
	ld := buildLogs(t, records, buildOptions{})

	// Which records cannot fit even alone.
	e := newTestLogsExporter(t, func() *Config { c := testConfig(); wideWindow(c); return c }())
	tooLarge := 0
	for _, row := range encodeRows(t, e, ld) {
		if len(row)+2 > limit {
			tooLarge++
		}
	}
	require.Positive(t, tooLarge, "the corpus has events over %d bytes", limit)

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld), "a partial success")
	assert.Contains(t, droppedWarning(t, h), "too large (413)")
	assert.Equal(t, len(records)-tooLarge, srv.RowCount("default", "cloudtrail_events"))
	assert.Equal(t, int64(tooLarge), h.failed(t, reasonTooLarge))
	assert.Equal(t, int64(len(records)-tooLarge), h.sent(t))
	assert.Positive(t, srv.Counters().ByStatus[http.StatusRequestEntityTooLarge])
}

func TestOpenObservesColumnLimitSplitsRequests(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{
		ColumnsLimit:          60,
		IngestAllowedUpto:     100 * 365 * 24 * time.Hour,
		IngestAllowedInFuture: 100 * 365 * 24 * time.Hour,
	})
	h := newHarness(t, srv, wideWindow) // max_request_columns stays 1000: the server's is lower
	records := allRealRecords(t)["bare"][:80]
	err := h.exp.ConsumeLogs(context.Background(), buildLogs(t, records, buildOptions{}))

	assert.Positive(t, srv.Counters().ByStatus[http.StatusBadRequest], "the server refused wide requests")
	stored := srv.RowCount("default", "cloudtrail_events")
	dropped := int(h.failed(t, reasonTooManyColumns))
	assert.Equal(t, len(records), stored+dropped)
	require.NoError(t, err)
	if dropped > 0 {
		assert.Contains(t, droppedWarning(t, h), "ZO_COLS_PER_RECORD_LIMIT")
	}
	for _, r := range srv.Requests() {
		if r.Status == http.StatusOK {
			assert.LessOrEqual(t, r.Columns, 60)
		}
	}
}

func TestARecordWithMoreColumnsThanTheLimitIsDropped(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	h := newHarness(t, srv, func(cfg *Config) { cfg.MaxRequestColumns = 10 })
	ld := genericLogs(2)
	wide := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	for i := range 20 {
		wide.Attributes().PutInt(fmt.Sprintf("a%d", i), int64(i))
	}
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld), "a partial success")
	assert.Contains(t, droppedWarning(t, h), "more than max_request_columns (10)")
	assert.Equal(t, 1, srv.RowCount("default", "cloudtrail_events"))
	assert.Equal(t, int64(1), h.failed(t, reasonTooManyColumns))
}

func TestFailuresInsideA200(t *testing.T) {
	t.Run("a partial failure is counted, logged and never resent; the push succeeds in part", func(t *testing.T) {
		srv := openobservetest.NewServer(t, openobservetest.Options{})
		h := newHarness(t, srv, func(cfg *Config) {
			cfg.RetryConfig.Enabled = true
			cfg.RetryConfig.InitialInterval = 5 * time.Millisecond
		})
		ld := genericLogs(3)
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		lrs.At(0).Attributes().PutInt("size", 5)
		lrs.At(2).Attributes().PutBool("size", true) // cannot be cast to the Int64 column
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))
		assert.Len(t, srv.Requests(), 1, "nothing is resent")
		assert.Equal(t, 2, srv.RowCount("default", "cloudtrail_events"))
		assert.Equal(t, int64(2), h.sent(t))
		assert.Equal(t, int64(1), h.failed(t, reasonSchemaConflict))
		assert.Equal(t, int64(1), h.counter(t, "exporter_openobserve_requests", "outcome", "partial"))
		warn := h.logs.FilterMessage("OpenObserve did not store every log record of a request").All()
		require.Len(t, warn, 1)
		assert.Equal(t, zap.WarnLevel, warn[0].Level)
		assert.Contains(t, fmt.Sprint(warn[0].ContextMap()), "failed to cast size to type Int64", "the warning says what OpenObserve refused")
	})
	t.Run("a request nothing of which was stored for a transient reason is retried", func(t *testing.T) {
		srv := openobservetest.NewServer(t, openobservetest.Options{})
		h := newHarness(t, srv, func(cfg *Config) {
			cfg.RetryConfig.Enabled = true
			cfg.RetryConfig.InitialInterval = 5 * time.Millisecond
		})
		srv.Inject(openobservetest.Response{Status: 200, Body: `{"code":200,"status":[{"name":"cloudtrail_events","successful":0,"failed":2,"error":"memtable is full, try again"}]}`})
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), genericLogs(2)))
		assert.Equal(t, 2, srv.RowCount("default", "cloudtrail_events"))
		assert.Len(t, srv.Requests(), 2)
	})
	t.Run("records OpenObserve does not account for are failures", func(t *testing.T) {
		srv := openobservetest.NewServer(t, openobservetest.Options{})
		h := newHarness(t, srv, nil)
		srv.Inject(openobservetest.Response{Status: 200, Body: `{"code":200,"status":[{"name":"cloudtrail_events","successful":1,"failed":0}]}`})
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), genericLogs(3)), "a partial success")
		assert.Equal(t, int64(2), h.failed(t, reasonRejected))
		assert.Equal(t, int64(1), h.sent(t))
	})
	t.Run("records OpenObserve finds too old are counted as out of window", func(t *testing.T) {
		srv := openobservetest.NewServer(t, openobservetest.Options{IngestAllowedUpto: time.Hour})
		h := newHarness(t, srv, nil) // the exporter believes the window is 5 h
		ld := genericLogs(1)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-2 * time.Hour)))
		err := h.exp.ConsumeLogs(context.Background(), ld)
		require.Error(t, err)
		assert.ErrorContains(t, err, "(out_of_window)")
		assert.ErrorContains(t, err, "narrower than max_event_age")
		assert.Equal(t, int64(1), h.failed(t, reasonOutOfWindow))
	})
}

// TestFailuresOfOtherStreamsInsideA200: an OpenObserve pipeline can write the records to more
// streams than the request's, and its answer then lists each stream, so the sum of
// "successful" can reach the records sent while some stream failed. Every "failed" is counted
// and logged; the request's own stream says what was stored; nothing is resent.
func TestFailuresOfOtherStreamsInsideA200(t *testing.T) {
	const castErr = "Failed to cast seq to type Utf8"
	tests := []struct {
		name       string
		status     string // the answer's status list, for 3 records sent to cloudtrail_events
		sent       int64  // records counted as stored
		failed     int64  // rows counted as failed, by schema_conflict
		ownWarning bool   // the warning about the request's own records
		copyWarn   bool   // the warning about other streams
	}{
		{
			name:     "a copy stream that failed is counted though the sum of successful covers the records",
			status:   `{"name":"cloudtrail_events","successful":3,"failed":0},{"name":"copy","successful":0,"failed":3,"error":"` + castErr + `"}`,
			sent:     3,
			failed:   3,
			copyWarn: true,
		},
		{
			name:       "the request's stream failing in part is read even when a copy succeeded",
			status:     `{"name":"cloudtrail_events","successful":2,"failed":1,"error":"` + castErr + `"},{"name":"copy","successful":3,"failed":0}`,
			sent:       2,
			failed:     1,
			ownWarning: true,
		},
		{
			name:       "nothing stored in the request's stream but a copy stored is not a push failure, and not retried",
			status:     `{"name":"cloudtrail_events","successful":0,"failed":3,"error":"memtable is full, try again"},{"name":"copy","successful":3,"failed":0}`,
			sent:       0,
			failed:     3,
			ownWarning: true,
		},
		{
			name:   "a pipeline that routes to other streams only: their counts are the records'",
			status: `{"name":"routed","successful":3,"failed":0}`,
			sent:   3,
		},
		{
			name:     "a pipeline that routes to two streams, one failing",
			status:   `{"name":"routed","successful":3,"failed":0},{"name":"routed_copy","successful":0,"failed":3,"error":"` + castErr + `"}`,
			sent:     3,
			failed:   3,
			copyWarn: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openobservetest.NewServer(t, openobservetest.Options{})
			h := newHarness(t, srv, func(cfg *Config) {
				cfg.RetryConfig.Enabled = true
				cfg.RetryConfig.InitialInterval = 5 * time.Millisecond
			})
			srv.Inject(openobservetest.Response{Status: http.StatusOK, AfterStore: true, Body: `{"code":200,"status":[` + tt.status + `]}`})
			require.NoError(t, h.exp.ConsumeLogs(context.Background(), genericLogs(3)), "something was stored")
			assert.Len(t, srv.Requests(), 1, "nothing is resent")
			assert.Equal(t, 3, srv.RowCount("default", "cloudtrail_events"), "the stand-in stored them once")
			assert.Equal(t, tt.sent, h.sent(t))
			assert.Equal(t, tt.failed, h.failed(t, reasonSchemaConflict)+h.failed(t, reasonRejected))
			own := h.logs.FilterMessage("OpenObserve did not store every log record of a request").All()
			copies := h.logs.FilterMessage("OpenObserve did not write every row to the other streams of its pipeline").All()
			assert.Equal(t, tt.ownWarning, len(own) == 1, "warning about the request's records")
			if tt.copyWarn {
				require.Len(t, copies, 1, "warning about other streams")
				assert.Contains(t, fmt.Sprint(copies[0].ContextMap()), castErr)
				assert.Equal(t, int64(3), copies[0].ContextMap()["failed"])
			} else {
				assert.Empty(t, copies, "no warning about other streams")
			}
			want := "success"
			if tt.failed > 0 {
				want = "partial"
			}
			assert.Equal(t, int64(1), h.counter(t, "exporter_openobserve_requests", "outcome", want))
		})
	}
}

func TestEventsOutsideTheWindowAreRetimedByDefault(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{}) // OpenObserve's default 5 h window
	h := newHarness(t, srv, nil)
	records := eventBridgeRecords(t, "eventbridge-cloudtrail-cloud-custodian.ndjson") // 2015–2024
	before := time.Now()
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), buildLogs(t, records, buildOptions{})))
	after := time.Now()

	rows := srv.Rows("default", "cloudtrail_events")
	require.Len(t, rows, len(records))
	for _, row := range rows {
		assert.GreaterOrEqual(t, row.TimestampMicros(), before.UnixMicro())
		assert.LessOrEqual(t, row.TimestampMicros(), after.UnixMicro())
		original, err := row["_event_timestamp"].(json.Number).Int64()
		require.NoError(t, err)
		eventTime, err := time.Parse(time.RFC3339, row["eventtime"].(string))
		require.NoError(t, err)
		assert.Equal(t, eventTime.UnixMicro(), original, "the event time is kept")
	}
	assert.Equal(t, int64(len(records)), h.counter(t, "exporter_openobserve_retimed_log_records", "", ""))
	metadatatest.AssertEqualExporterOpenobserveRetimedLogRecords(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: int64(len(records))}}, metricdatatest.IgnoreTimestamp())
}

func TestRecentEventsKeepTheirEventTime(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	h := newHarness(t, srv, nil)
	eventTime := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	ld := oneRecord(t, fmt.Sprintf(`{"eventTime":%q,"eventName":"ConsoleLogin"}`, eventTime.Format(time.RFC3339)))
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))
	rows := srv.Rows("default", "cloudtrail_events")
	require.Len(t, rows, 1)
	assert.Equal(t, eventTime.UnixMicro(), rows[0].TimestampMicros())
	assert.NotContains(t, rows[0], "_event_timestamp")
}

func TestEventsOutsideTheWindowCanBeDropped(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	h := newHarness(t, srv, func(cfg *Config) { cfg.OutOfWindow = OutOfWindowDrop })
	records := eventBridgeRecords(t, "eventbridge-cloudtrail-cloud-custodian.ndjson")
	ld := buildLogs(t, records, buildOptions{})
	fresh := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	fresh.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	fresh.Body().SetStr("fresh")

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld), "dropping is what was asked for")
	assert.Equal(t, 1, srv.RowCount("default", "cloudtrail_events"))
	assert.Equal(t, int64(len(records)), h.failed(t, reasonOutOfWindow))
	warn := h.logs.FilterMessage("dropped log records outside OpenObserve's ingestion window (out_of_window: drop)").All()
	require.Len(t, warn, 1)
	assert.Equal(t, int64(len(records)), warn[0].ContextMap()["records"])
}

func TestResourceAttributesChooseOrganizationAndStream(t *testing.T) {
	srv := wideServer(t)
	h := newHarness(t, srv, wideWindow)
	records := eventBridgeRecords(t, "eventbridge-cloudtrail-cloud-custodian.ndjson")
	ld := buildLogs(t, records[:3], buildOptions{org: "acme", stream: "AWS -- Orgs.CloudTrail"}) // a run of other characters is one "_"
	buildLogs(t, records[3:], buildOptions{}).ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, 3, srv.RowCount("acme", "aws_orgs_cloudtrail"))
	assert.Equal(t, len(records)-3, srv.RowCount("default", "cloudtrail_events"))
	assert.ElementsMatch(t, []openobservetest.Stream{
		{Org: "acme", Name: "aws_orgs_cloudtrail", Rows: 3},
		{Org: "default", Name: "cloudtrail_events", Rows: len(records) - 3},
	}, srv.Streams())
}

func TestAForbiddenOrganizationDoesNotStopTheOthers(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{Organizations: []string{"default"}})
	h := newHarness(t, srv, func(cfg *Config) { cfg.MaxRequestRecords = 1 })
	ld := genericLogs(2)
	other := plog.NewLogs()
	rl := other.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(cloudtrail.KeyOpenObserveOrganization, "other")
	genericLogs(3).ResourceLogs().At(0).ScopeLogs().MoveAndAppendTo(rl.ScopeLogs())
	other.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld), "a partial success")
	assert.Contains(t, droppedWarning(t, h), `organization "other" (403)`)
	assert.Equal(t, 2, srv.RowCount("default", "cloudtrail_events"))
	assert.Equal(t, int64(3), h.failed(t, reasonUnauthorized))
	assert.Equal(t, 1, srv.Counters().ByStatus[http.StatusForbidden], "one refusal is enough for the destination")
}

func TestLogsNeverContainSecrets(t *testing.T) {
	const user, secret = "root@example.com", "Sup3r-S3cret"
	srv := openobservetest.NewServer(t, openobservetest.Options{Credentials: map[string]string{user: secret}})
	token := openobservetest.BasicToken(user, secret)
	for _, set := range []func(*Config){
		func(c *Config) { c.Username, c.Password = user, secret },
		func(c *Config) { c.Username, c.Password, c.AccessKey = "", "", configOpaque(token) },
	} {
		h := newHarness(t, srv, func(c *Config) {
			set(c)
			c.RetryConfig.Enabled = true
			c.RetryConfig.InitialInterval = time.Millisecond
		})
		srv.Inject(openobservetest.Response{Status: 500, Times: 2})
		srv.Inject(openobservetest.Response{Status: 200, Body: `{"code":200,"status":[{"name":"x","successful":0,"failed":1,"error":"bad"}]}`})
		_ = h.exp.ConsumeLogs(context.Background(), oneGenericLog("x"))
		require.NotZero(t, h.logs.Len())
		for _, entry := range h.logs.All() {
			text := entry.Message
			for k, v := range entry.ContextMap() {
				text += fmt.Sprintf(" %s=%v", k, v)
			}
			assert.NotContains(t, text, secret)
			assert.NotContains(t, text, token)
		}
	}
}

func TestShutdownWithoutStartAndTwice(t *testing.T) {
	cfg := testConfig()
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(componenttest.NewTelemetry()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()))

	e := newTestLogsExporter(t, cfg)
	require.NoError(t, e.shutdown(context.Background()))
	require.NoError(t, e.shutdown(context.Background()))
}

func TestFactoryRejectsAForeignConfig(t *testing.T) {
	_, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(componenttest.NewTelemetry()), &struct{ component.Config }{})
	require.Error(t, err)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, retryAfter("7", now))
	assert.Equal(t, time.Duration(0), retryAfter("", now))
	assert.Equal(t, time.Duration(0), retryAfter("-3", now))
	assert.Equal(t, time.Duration(0), retryAfter("soon", now))
	assert.Equal(t, 300*time.Second, retryAfter("300", now))
	assert.Equal(t, maxRetryAfter, retryAfter("99999999999", now), "clamped, no overflow")
	assert.Equal(t, maxRetryAfter, retryAfter(now.Add(48*time.Hour).UTC().Format(http.TimeFormat), now))
	assert.Equal(t, 90*time.Second, retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	assert.Equal(t, time.Duration(0), retryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
}

func TestThrottleCapKeepsRetryAfterWithinTheRetryBudget(t *testing.T) {
	def := configretry.NewDefaultBackOffConfig()
	tests := []struct {
		name string
		set  func(*configretry.BackOffConfig)
		want time.Duration
	}{
		{"the default policy honours up to max_interval", func(*configretry.BackOffConfig) {}, 30 * time.Second},
		{"a max_interval as long as max_elapsed_time leaves room for a retry", func(c *configretry.BackOffConfig) {
			c.MaxInterval, c.MaxElapsedTime = time.Minute, time.Minute
		}, 30 * time.Second},
		{"retrying forever honours up to five minutes", func(c *configretry.BackOffConfig) { c.MaxElapsedTime = 0 }, maxRetryAfter},
		{"a long max_interval is bounded by five minutes too", func(c *configretry.BackOffConfig) {
			c.MaxInterval, c.MaxElapsedTime = time.Hour, 24*time.Hour
		}, maxRetryAfter},
		{"without retries nothing is waited for", func(c *configretry.BackOffConfig) { c.Enabled = false }, maxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := def
			tt.set(&rc)
			require.NoError(t, rc.Validate())
			got := throttleCap(rc)
			assert.Equal(t, tt.want, got)
			if rc.Enabled && rc.MaxElapsedTime > 0 {
				assert.LessOrEqual(t, got, rc.MaxInterval, "never longer than the backoff's own longest wait")
				assert.LessOrEqual(t, got, rc.MaxElapsedTime/2, "a retry fits in the budget")
			}
		})
	}
}

func TestALongRetryAfterIsCappedAndSaysSo(t *testing.T) {
	srv := openobservetest.NewServer(t, openobservetest.Options{})
	cfg := testConfig() // the default retry policy
	cfg.Endpoint = srv.URL()
	e := newTestLogsExporter(t, cfg)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	srv.Inject(openobservetest.Response{Status: http.StatusServiceUnavailable, RetryAfter: "300"})
	err := e.pushLogs(context.Background(), oneGenericLog("x"))
	require.Error(t, err)
	assert.ErrorContains(t, err, "Throttle (30s)")
	assert.ErrorContains(t, err, "asked for a wait of 5m0s, longer than retry_on_failure allows, so the retry comes after 30s")
}

func TestClassify(t *testing.T) {
	assert.Equal(t, reasonOutOfWindow, classify("Too old data, only last 5 hours data can be ingested"))
	assert.Equal(t, reasonOutOfWindow, classify("Too far data in future"))
	assert.Equal(t, reasonSchemaConflict, classify("Failed to cast readonly to type Boolean"))
	assert.Equal(t, reasonRejected, classify("stream is being deleted"))
	assert.True(t, isTransient("request timed out"))
	assert.False(t, isTransient("Failed to cast x"))
	assert.True(t, isColumnLimit("Got 1200 columns for stream x, only 1000 columns accept. ZO_COLS_PER_RECORD_LIMIT"))
	assert.False(t, isColumnLimit("Invalid json"))
}

func TestJoinDistinctReportsEachMessageOnceAndBoundsTheList(t *testing.T) {
	var errs []error
	for i := range 20 {
		errs = append(errs, fmt.Errorf("failure %d", i%8), fmt.Errorf("failure %d", i%8))
	}
	err := joinDistinct(errs)
	assert.Equal(t, "failure 0\nfailure 1\nfailure 2\nfailure 3\nfailure 4\nand 3 other errors", err.Error())
}

// TestRequestBodiesSurviveRedirects sends concurrent pushes through a proxy that answers
// 308 first: net/http closes the first body reader before it asks GetBody for another, so a
// body buffer released on the first close would be reused by another push while still read.
func TestRequestBodiesSurviveRedirects(t *testing.T) {
	for _, compression := range []string{"none", "gzip"} {
		t.Run("with compression "+compression, func(t *testing.T) {
			oo := openobservetest.NewServer(t, openobservetest.Options{})
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.RawQuery == "" {
					_, _ = io.Copy(io.Discard, r.Body)
					w.Header().Set("Location", r.URL.Path+"?redirected=1")
					w.WriteHeader(http.StatusPermanentRedirect)
					return
				}
				oo.Handler().ServeHTTP(w, r)
			}))
			t.Cleanup(front.Close)
			cfg := testConfig()
			cfg.Endpoint = front.URL
			cfg.Compression = configcompression.Type(compression)
			e := newTestLogsExporter(t, cfg)
			require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
			const pushes, perPush = 40, 50
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range pushes / 4 {
						ld := genericLogs(perPush)
						for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
							lr.Attributes().PutInt("push", int64(g*100+i))
						}
						assert.NoError(t, e.pushLogs(context.Background(), ld))
					}
				})
			}
			wg.Wait()
			rows := oo.Rows("default", "cloudtrail_events")
			seen := map[string]int{}
			for _, r := range rows {
				seen[fmt.Sprint(r["push"], "/", r["seq"])]++
			}
			assert.Len(t, rows, pushes*perPush, "every row once")
			assert.Len(t, seen, pushes*perPush, "no duplicates, nothing lost")
		})
	}
}
