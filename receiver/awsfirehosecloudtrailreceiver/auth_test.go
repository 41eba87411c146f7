package awsfirehosecloudtrailreceiver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/firehose"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadatatest"
)

// refusingAuth is an auth extension that refuses every request.
type refusingAuth struct{}

func (refusingAuth) Start(context.Context, component.Host) error { return nil }
func (refusingAuth) Shutdown(context.Context) error              { return nil }
func (refusingAuth) Authenticate(context.Context, map[string][]string) (context.Context, error) {
	return nil, errors.New("refused by the auth extension")
}

type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

func TestARequestTheAuthExtensionRefusesGetsAFirehoseAnswerAndIsCounted(t *testing.T) {
	authID := component.MustNewID("refusing")
	cfg := testConfig()
	cfg.AccessKey = ""
	cfg.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	require.NoError(t, cfg.Validate())

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	r, err := newReceiver(cfg, metadatatest.NewSettings(tel), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), hostWith{authID: refusingAuth{}}))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })

	req, err := http.NewRequest(http.MethodPost, "http://"+r.addr.String()+"/", strings.NewReader(`{"requestId":"req-auth","timestamp":1,"records":[]}`))
	require.NoError(t, err)
	req.Header.Set(firehose.HeaderRequestID, "req-auth")
	before := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got), string(raw))
	assert.Equal(t, "req-auth", got["requestId"])
	assert.Contains(t, got["errorMessage"], "refused by the auth extension")
	ts, ok := got["timestamp"].(float64)
	require.True(t, ok, "timestamp is a JSON number: %s", raw)
	assert.GreaterOrEqual(t, int64(ts), before.UnixMilli(), "milliseconds")

	metadatatest.AssertEqualReceiverAwsfirehosecloudtrailRequests(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("status_code", "401"))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
