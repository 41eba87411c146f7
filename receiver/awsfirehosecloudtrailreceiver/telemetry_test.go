package awsfirehosecloudtrailreceiver

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadatatest"
)

func TestSelfMetricsCountWhatHappened(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	r, err := newReceiver(testConfig(), metadatatest.NewSettings(tel), consumertest.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })

	records := eventBridgeRecords(t)
	send := func(fr firehoseRequest) {
		rec := httptest.NewRecorder()
		r.handler.ServeHTTP(rec, fr.build(t, records))
	}
	send(firehoseRequest{})           // 200
	send(firehoseRequest{})           // the same request again: duplicate, 200
	send(firehoseRequest{key: "bad"}) // 401

	ignore := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
	metadatatest.AssertEqualReceiverAwsfirehosecloudtrailRequests(t, tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("status_code", "200"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("status_code", "401"))},
	}, ignore...)
	metadatatest.AssertEqualReceiverAwsfirehosecloudtrailDuplicateRequests(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, ignore...)
	metadatatest.AssertEqualReceiverAwsfirehosecloudtrailRecords(t, tel, []metricdata.DataPoint[int64]{
		{Value: int64(len(records)), Attributes: attribute.NewSet(attribute.String("shape", "eventbridge"))},
	}, ignore...)

	accepted, err := tel.GetMetric("otelcol_receiver_accepted_log_records")
	require.NoError(t, err)
	sum := accepted.Data.(metricdata.Sum[int64])
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(len(records)), sum.DataPoints[0].Value, "obsreport counts the records accepted once")
}

// TestRealFirehoseBodiesThroughTheHandler replays the real request bodies of other projects'
// test suites: every one is answered 200 and nothing in it is lost.
func TestRealFirehoseBodiesThroughTheHandler(t *testing.T) {
	files, err := filepath.Glob("../../testdata/firehose-requests/*/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			body, err := os.ReadFile(file)
			require.NoError(t, err)
			sink := &consumertest.LogsSink{}
			cfg := testConfig()
			_, h := newTestHandler(t, cfg, sink)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, firehoseRequest{requestID: "-", body: body}.build(t, nil))
			require.Equal(t, 200, rec.Code, rec.Body.String())
			resp := decodeResponse(t, rec)
			assert.NotEmpty(t, resp.RequestID, "the body's request id is echoed")
			if filepath.Base(file) != "cw_logs_with_only_control_messages.json" {
				assert.Positive(t, sink.LogRecordCount(), "records reached the pipeline")
			}
		})
	}
}
