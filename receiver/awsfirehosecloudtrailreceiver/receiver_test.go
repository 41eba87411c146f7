package awsfirehosecloudtrailreceiver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/firehose"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/testaddr"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadata"
)

func startReceiver(t *testing.T, cfg *Config, next consumer.Logs) *firehoseReceiver {
	t.Helper()
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return r
}

func TestServesFirehoseOverHTTP(t *testing.T) {
	sink := &consumertest.LogsSink{}
	r := startReceiver(t, testConfig(), sink)
	records := eventBridgeRecords(t)
	body := replay.RequestBody("req-http", time.Now(), records)
	req, err := http.NewRequest(http.MethodPost, "http://"+r.addr.String()+"/firehose", bytes.NewReader(replay.Gzip(body)))
	require.NoError(t, err)
	req.Header.Set(firehose.HeaderRequestID, "req-http")
	req.Header.Set(firehose.HeaderAccessKey, testKey)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, "req-http", got["requestId"])
	assert.Equal(t, len(records), sink.LogRecordCount())
}

func TestShutdownIsSafeWithoutStartAndIdempotent(t *testing.T) {
	r, err := newReceiver(testConfig(), receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestStartFailsWhenThePortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := testConfig()
	cfg.NetAddr.Endpoint = ln.Addr().String()
	r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	assert.Error(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestStalledClientIsDisconnected(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout = 300 * time.Millisecond
	cfg.ReadHeaderTimeout = 300 * time.Millisecond
	r := startReceiver(t, cfg, consumertest.NewNop())

	for _, stall := range []string{"headers", "body"} {
		t.Run("a client that stalls in the "+stall+" is cut off", func(t *testing.T) {
			conn, err := net.Dial("tcp", r.addr.String())
			require.NoError(t, err)
			defer conn.Close()
			partial := "POST / HTTP/1.1\r\nHost: x\r\n"
			if stall == "body" {
				partial += fmt.Sprintf("%s: %s\r\nContent-Length: 1000\r\n\r\n{\"records\":[", firehose.HeaderAccessKey, testKey)
			}
			_, err = conn.Write([]byte(partial))
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			// The server answers (or closes) once its read timeout passes; our deadline is far later.
			start := time.Now()
			_, err = io.ReadAll(bufio.NewReader(conn))
			if err != nil {
				assert.NotContains(t, err.Error(), "i/o timeout", "the server, not the client deadline, ended the connection")
			}
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

// contractGenerator sends each log record in its own Firehose request, as Firehose would,
// retrying on retryable statuses with the same request id.
type contractGenerator struct {
	t      *testing.T
	url    string
	client http.Client
	nextID atomic.Int64
}

func (g *contractGenerator) Start() {}
func (g *contractGenerator) Stop()  { g.client.CloseIdleConnections() }

func (g *contractGenerator) Generate() []receivertest.UniqueIDAttrVal {
	id := g.nextID.Add(1)
	// An EventBridge-wrapped CloudTrail event whose envelope carries the id: envelope fields
	// other than detail become aws.eventbridge.* attributes, and the contract needs "test_id".
	event := fmt.Sprintf(`{"version":"0","id":"e-%d","detail-type":"AWS API Call via CloudTrail","source":"aws.sts","account":"123456789012","time":"2024-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"GetCallerIdentity","eventSource":"sts.amazonaws.com"},"test_id":%d}`, id, id)
	requestID := fmt.Sprintf("req-%d", id)
	body := replay.RequestBody(requestID, time.Now(), [][]byte{[]byte(event)})
	for attempt := 0; ; attempt++ {
		require.Less(g.t, attempt, 1000, "request %s never succeeded", requestID)
		req, err := http.NewRequest(http.MethodPost, g.url, bytes.NewReader(body))
		require.NoError(g.t, err)
		req.Header.Set(firehose.HeaderRequestID, requestID)
		req.Header.Set(firehose.HeaderAccessKey, testKey)
		resp, err := g.client.Do(req)
		if err != nil {
			// Firehose retries network errors too (e.g. a pooled connection to the previous
			// scenario's receiver, now closed).
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return []receivertest.UniqueIDAttrVal{receivertest.UniqueIDAttrVal(fmt.Sprint(id))}
		case http.StatusInternalServerError:
			// Permanent: Firehose would retry until its retry duration and back the batch up to S3.
			return []receivertest.UniqueIDAttrVal{receivertest.UniqueIDAttrVal(fmt.Sprint(id))}
		}
	}
}

// testIDConsumer exposes the envelope's test_id under the name the contract checker reads.
type testIDConsumer struct{ next consumer.Logs }

func (c testIDConsumer) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}
func (c testIDConsumer) ConsumeLogs(ctx context.Context, ld plogLogs) error {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if v, ok := lr.Attributes().Get("aws.eventbridge.test_id"); ok {
					lr.Attributes().PutStr(receivertest.UniqueIDAttrName, fmt.Sprint(v.AsRaw()))
				}
			}
		}
	}
	return c.next.ConsumeLogs(ctx, ld)
}

func TestConsumeContract(t *testing.T) {
	cfg := testConfig()
	cfg.NetAddr.Endpoint = testaddr.Free(t)
	factory := receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithLogs(func(ctx context.Context, set receiver.Settings, c componentConfig, next consumer.Logs) (receiver.Logs, error) {
			return createLogs(ctx, set, c, testIDConsumer{next: next})
		}, metadata.LogsStability))
	receivertest.CheckConsumeContract(receivertest.CheckConsumeContractParams{
		T:             t,
		Factory:       factory,
		Signal:        pipeline.SignalLogs,
		Config:        cfg,
		Generator:     &contractGenerator{t: t, url: "http://" + cfg.NetAddr.Endpoint + "/"},
		GenerateCount: 200,
	})
}

type (
	plogLogs        = plog.Logs
	componentConfig = component.Config
)
