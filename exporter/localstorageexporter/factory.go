package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter/internal/metadata"
)

// NewFactory returns the factory of the localstorage exporter.
func NewFactory() exporter.Factory {
	return newFactory(defaultHooks())
}

// newFactory builds the factory with test doubles for the clock and the file system.
func newFactory(h hooks) exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
			return createLogs(ctx, set, cfg, h)
		}, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	retry := configretry.NewDefaultBackOffConfig()
	retry.Enabled = false // the sender (Firehose) retries; a synchronous error reaches it
	return &Config{
		Directory:     defaultDirectory,
		Format:        FormatCloudTrail,
		MaxFileSize:   defaultMaxFileSize,
		MaxFileAge:    defaultMaxFileAge,
		Fsync:         true,
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		// Disabled unless configured: ConsumeLogs must return only once the data is stored.
		QueueConfig: configoptional.Default(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig: retry,
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config, h hooks) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newLocalStorageExporter(c, set, h)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, e.consumeLogs,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
