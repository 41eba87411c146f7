package awsfirehosecloudtrailreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/firehose"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadata"
)

const (
	testKey       = "test-access-key"
	testSourceARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/cloudtrail"
)

// newTestHandler builds the receiver around next and returns its HTTP handler.
func newTestHandler(t *testing.T, cfg *Config, next consumer.Logs) (*firehoseReceiver, http.Handler) {
	t.Helper()
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = componenttest.NewTelemetry().NewTelemetrySettings()
	r, err := newReceiver(cfg, set, next)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return r, r.handler
}

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.AccessKey = testKey
	return cfg
}

// eventBridgeRecords returns the real EventBridge-wrapped CloudTrail events.
func eventBridgeRecords(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("../../testdata/cloudtrail/eventbridge-cloudtrail-cloud-custodian.ndjson")
	require.NoError(t, err)
	defer f.Close()
	records, err := replay.ReadNDJSON(f)
	require.NoError(t, err)
	require.NotEmpty(t, records)
	return records
}

type firehoseRequest struct {
	method    string
	path      string
	requestID string // header; the body's id is always "req-1" unless body is set
	key       string
	body      []byte
	gzip      bool
	encoding  string
}

func (fr firehoseRequest) build(t testing.TB, records [][]byte) *http.Request {
	t.Helper()
	body := fr.body
	if body == nil {
		body = replay.RequestBody("req-1", time.Now(), records)
	}
	if fr.gzip {
		body = replay.Gzip(body)
	}
	method := fr.method
	if method == "" {
		method = http.MethodPost
	}
	path := fr.path
	if path == "" {
		path = "/"
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(firehose.HeaderProtocolVersion, "1.0")
	req.Header.Set(firehose.HeaderSourceARN, testSourceARN)
	if fr.requestID != "-" {
		id := fr.requestID
		if id == "" {
			id = "req-1"
		}
		req.Header.Set(firehose.HeaderRequestID, id)
	}
	if fr.key != "-" {
		key := fr.key
		if key == "" {
			key = testKey
		}
		req.Header.Set(firehose.HeaderAccessKey, key)
	}
	switch {
	case fr.encoding != "":
		req.Header.Set("Content-Encoding", fr.encoding)
	case fr.gzip:
		req.Header.Set("Content-Encoding", "gzip")
	}
	return req
}

type firehoseResponse struct {
	RequestID    string `json:"requestId"`
	Timestamp    *int64 `json:"timestamp"`
	ErrorMessage string `json:"errorMessage"`
}

// decodeResponse checks the response is exactly what Firehose expects and decodes it.
func decodeResponse(t *testing.T, rec *httptest.ResponseRecorder) firehoseResponse {
	t.Helper()
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &fields), rec.Body.String())
	for k := range fields {
		assert.Contains(t, []string{"requestId", "timestamp", "errorMessage"}, k, "no other fields")
	}
	var resp firehoseResponse
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, dec.Decode(&resp))
	require.NotNil(t, resp.Timestamp, "timestamp is required")
	now := time.Now().UnixMilli()
	assert.InDelta(t, now, *resp.Timestamp, 60_000, "timestamp is in milliseconds")
	return resp
}

func TestProtocolStatuses(t *testing.T) {
	records := eventBridgeRecords(t)
	hugeRaw := replay.RequestBody("req-1", time.Now(), [][]byte{bytes.Repeat([]byte("x"), 2000)})
	gzipBomb := func() []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(`{"requestId":"req-1","timestamp":1,"records":[{"data":"`))
		_, _ = zw.Write(bytes.Repeat([]byte("QUFB"), 1000))
		_, _ = zw.Write([]byte(`"}]}`))
		require.NoError(t, zw.Close())
		return b.Bytes()
	}()
	tests := []struct {
		name       string
		req        firehoseRequest
		maxBody    int64
		consumeErr error
		wantStatus int
		wantError  string
		wantLogs   int
	}{
		{name: "a valid request is accepted after the pipeline took every record", req: firehoseRequest{}, wantStatus: 200, wantLogs: len(records)},
		{name: "a gzip body is decompressed", req: firehoseRequest{gzip: true}, wantStatus: 200, wantLogs: len(records)},
		{name: "a request without the access key is unauthorized", req: firehoseRequest{key: "-"}, wantStatus: 401, wantError: "Access-Key"},
		{name: "a wrong access key is unauthorized", req: firehoseRequest{key: "wrong"}, wantStatus: 401, wantError: "Access-Key"},
		{name: "GET is not allowed", req: firehoseRequest{method: http.MethodGet}, wantStatus: 405, wantError: "POST"},
		{name: "an unsupported content encoding is refused", req: firehoseRequest{encoding: "br"}, wantStatus: 415, wantError: "br"},
		{name: "a body that is not JSON is a bad request", req: firehoseRequest{body: []byte("not json")}, wantStatus: 400, wantError: "malformed"},
		{name: "a body without records is a bad request", req: firehoseRequest{body: []byte(`{"requestId":"req-1","timestamp":1}`)}, wantStatus: 400, wantError: "records"},
		{name: "a truncated body is a bad request", req: firehoseRequest{body: []byte(`{"requestId":"req-1","records":[{"data":"e30="}`)}, wantStatus: 400, wantError: "malformed"},
		{name: "a request id that differs from the header is a bad request", req: firehoseRequest{requestID: "other"}, wantStatus: 400, wantError: "does not match"},
		{name: "a body that is not gzip but says so is a bad request", req: firehoseRequest{encoding: "gzip", body: []byte(`{"records":[]}`)}, wantStatus: 400, wantError: "gzip"},
		{name: "a body over the limit is too large", req: firehoseRequest{body: hugeRaw}, maxBody: 1000, wantStatus: 413, wantError: "max_request_body_size"},
		{name: "a body over the limit once decompressed is too large", req: firehoseRequest{body: gzipBomb, encoding: "gzip"}, maxBody: 2000, wantStatus: 413, wantError: "max_request_body_size"},
		{name: "a pipeline that fails is retryable", req: firehoseRequest{}, consumeErr: errors.New("queue full"), wantStatus: 503, wantError: "queue full"},
		{name: "a pipeline that refuses permanently is retryable too", req: firehoseRequest{}, consumeErr: consumererror.NewPermanent(errors.New("bad data")), wantStatus: 500, wantError: "bad data"},
		{name: "an empty records array is accepted", req: firehoseRequest{body: []byte(`{"requestId":"req-1","timestamp":1,"records":[]}`)}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.maxBody > 0 {
				cfg.MaxRequestBodySize = tt.maxBody
			}
			sink := &consumertest.LogsSink{}
			var next consumer.Logs = sink
			if tt.consumeErr != nil {
				next = consumertest.NewErr(tt.consumeErr)
			}
			_, h := newTestHandler(t, cfg, next)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tt.req.build(t, records))
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			resp := decodeResponse(t, rec)
			if tt.req.requestID == "" && tt.req.body == nil {
				assert.Equal(t, "req-1", resp.RequestID, "request id echoed")
			}
			if tt.wantError == "" {
				assert.Empty(t, resp.ErrorMessage)
			} else {
				assert.Contains(t, resp.ErrorMessage, tt.wantError)
			}
			if tt.wantStatus == 405 {
				assert.Equal(t, http.MethodPost, rec.Header().Get("Allow"))
			}
			if tt.consumeErr == nil {
				assert.Equal(t, tt.wantLogs, sink.LogRecordCount())
			}
		})
	}
}

func TestAccessKeyRotationAcceptsEveryConfiguredKey(t *testing.T) {
	cfg := testConfig()
	cfg.AccessKeys = append(cfg.AccessKeys, "new-key")
	sink := &consumertest.LogsSink{}
	_, h := newTestHandler(t, cfg, sink)
	records := eventBridgeRecords(t)[:1]
	for i, key := range []string{testKey, "new-key"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, firehoseRequest{key: key, requestID: "r" + string(rune('a'+i)), body: replay.RequestBody("r"+string(rune('a'+i)), time.Now(), records)}.build(t, nil))
		assert.Equal(t, 200, rec.Code, "key %q", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, firehoseRequest{key: "new-key2"}.build(t, records))
	assert.Equal(t, 401, rec.Code)
}

func TestUnauthenticatedOnlyWhenAllowed(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.AllowUnauthenticated = true
	sink := &consumertest.LogsSink{}
	_, h := newTestHandler(t, cfg, sink)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, firehoseRequest{key: "-"}.build(t, eventBridgeRecords(t)))
	assert.Equal(t, 200, rec.Code)
}

func TestRetriedRequestIsAcknowledgedWithoutIngestingAgain(t *testing.T) {
	sink := &consumertest.LogsSink{}
	cfg := testConfig()
	_, h := newTestHandler(t, cfg, sink)
	records := eventBridgeRecords(t)
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, firehoseRequest{}.build(t, records))
		require.Equal(t, 200, rec.Code)
		assert.Equal(t, "req-1", decodeResponse(t, rec).RequestID)
	}
	assert.Equal(t, len(records), sink.LogRecordCount(), "ingested once")

	t.Run("a request that failed is ingested when retried", func(t *testing.T) {
		var fail atomic.Bool
		fail.Store(true)
		flaky := &flakyConsumer{fail: &fail, sink: &consumertest.LogsSink{}}
		_, h := newTestHandler(t, testConfig(), flaky)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, firehoseRequest{}.build(t, records))
		require.Equal(t, 503, rec.Code)
		fail.Store(false)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, firehoseRequest{}.build(t, records))
		require.Equal(t, 200, rec.Code)
		assert.Equal(t, len(records), flaky.sink.LogRecordCount())
	})
	t.Run("without deduplication a retry is ingested again", func(t *testing.T) {
		cfg := testConfig()
		cfg.Deduplication.Enabled = false
		sink := &consumertest.LogsSink{}
		_, h := newTestHandler(t, cfg, sink)
		for range 2 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, firehoseRequest{}.build(t, records))
			require.Equal(t, 200, rec.Code)
		}
		assert.Equal(t, 2*len(records), sink.LogRecordCount())
	})
}

type flakyConsumer struct {
	fail *atomic.Bool
	sink *consumertest.LogsSink
}

func (f *flakyConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (f *flakyConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if f.fail.Load() {
		return errors.New("temporarily down")
	}
	return f.sink.ConsumeLogs(ctx, ld)
}

func TestOneBadRecordNeverFailsItsBatch(t *testing.T) {
	records := eventBridgeRecords(t)[:3]
	body := replay.RequestBody("req-1", time.Now(), records)
	// Break the second record's base64 without breaking the JSON.
	body = bytes.Replace(body, []byte(`"},{"data":"`), []byte(`"},{"data":"!!!!`), 1)
	for _, drop := range []bool{false, true} {
		t.Run(map[bool]string{false: "by default the bad record is kept and flagged", true: "with drop_invalid_records it is dropped and counted"}[drop], func(t *testing.T) {
			cfg := testConfig()
			cfg.DropInvalidRecords = drop
			sink := &consumertest.LogsSink{}
			_, h := newTestHandler(t, cfg, sink)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, firehoseRequest{body: body}.build(t, nil))
			require.Equal(t, 200, rec.Code, rec.Body.String())
			var invalid []plog.LogRecord
			for _, l := range sink.AllLogs() {
				forEachInvalid(l, func(lr plog.LogRecord) { invalid = append(invalid, lr) })
			}
			if drop {
				assert.Equal(t, 2, sink.LogRecordCount())
				assert.Empty(t, invalid)
				return
			}
			assert.Equal(t, 3, sink.LogRecordCount())
			require.Len(t, invalid, 1)
			reason, _ := invalid[0].Attributes().Get(cloudtrail.KeyErrorType)
			assert.Equal(t, cloudtrail.ErrorTypeInvalidBase64, reason.Str())
			index, _ := invalid[0].Attributes().Get(cloudtrail.KeyRecordIndex)
			assert.Equal(t, int64(1), index.Int())
			assert.True(t, strings.HasPrefix(invalid[0].Body().Str(), "!!!!"), "the raw data is kept: %q", invalid[0].Body().Str())
		})
	}
}

func TestOpenObservePathAndCommonAttributesBecomeResourceAttributes(t *testing.T) {
	sink := &consumertest.LogsSink{}
	_, h := newTestHandler(t, testConfig(), sink)
	req := firehoseRequest{path: "/aws/myorg/cloudtrail_stream/_kinesis_firehose"}.build(t, eventBridgeRecords(t)[:1])
	req.Header.Set(firehose.HeaderCommonAttributes, `{"commonAttributes":{"env":"prod","team":"sec"}}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	res := sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, "myorg", res[cloudtrail.KeyOpenObserveOrganization])
	assert.Equal(t, "cloudtrail_stream", res[cloudtrail.KeyOpenObserveStream])
	assert.Equal(t, "prod", res["env"])
	assert.Equal(t, "sec", res["team"])
	assert.Equal(t, testSourceARN, res[cloudtrail.KeyFirehoseARN])
	assert.Equal(t, "req-1", res[cloudtrail.KeyFirehoseRequestID])

	t.Run("a malformed common attributes header is a bad request", func(t *testing.T) {
		req := firehoseRequest{}.build(t, eventBridgeRecords(t)[:1])
		req.Header.Set(firehose.HeaderCommonAttributes, `{"commonAttributes":`)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, 400, rec.Code)
	})
}

type panickingConsumer struct{ calls atomic.Int32 }

func (p *panickingConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (p *panickingConsumer) ConsumeLogs(context.Context, plog.Logs) error {
	if p.calls.Add(1) == 1 {
		panic("boom")
	}
	return nil
}

func TestAPanicFailsTheRequestWithoutCrashingOrWedgingItsRetry(t *testing.T) {
	next := &panickingConsumer{}
	_, h := newTestHandler(t, testConfig(), next)
	records := eventBridgeRecords(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, firehoseRequest{}.build(t, records))
	require.Equal(t, http.StatusInternalServerError, rec.Code, "retried by Firehose, never dropped")
	assert.Contains(t, decodeResponse(t, rec).ErrorMessage, "internal error")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, firehoseRequest{}.build(t, records))
	assert.Equal(t, http.StatusOK, rec.Code, "the retry is processed, not refused as in flight")
	assert.Equal(t, int32(2), next.calls.Load())
}
