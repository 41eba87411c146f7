package awsfirehosecloudtrailreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadata"
)

const defaultEndpoint = "localhost:4433"

// NewFactory returns the factory of the awsfirehosecloudtrail receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	server.MaxRequestBodySize = maxFirehoseBody
	// Firehose waits up to 3 minutes for an answer; a client that has not sent its whole
	// body in 2 minutes is stalled, and the answer must be written before Firehose gives up.
	server.ReadTimeout = 2 * time.Minute
	server.WriteTimeout = 3 * time.Minute
	return &Config{
		ServerConfig: server,
		BodyFormat:   BodyFormatMap,
		Deduplication: DeduplicationConfig{
			Enabled: true,
			Size:    10000,
			TTL:     2 * time.Hour,
		},
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(cfg.(*Config), set, next)
}
